"""Reading Compose YAML so that every key and item remembers the line it came from.

Errors in a stack file must name the file and line, long after the YAML has become plain
dicts and lists, so the loader builds :class:`LocDict` and :class:`LocList` that carry line
numbers next to their contents. Two departures from PyYAML's YAML 1.1 defaults follow Docker
Compose (which reads YAML 1.2): ``22:22`` is a string, not the sexagesimal integer 1342, and
``!reset`` / ``!override`` tags are understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from fleetdeck import safeyaml
from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.compose.files import ProjectFiles


class LocDict(dict[Any, Any]):
    """A mapping read from YAML that knows the (1-based) line of each of its keys."""

    def __init__(self, *args: Any, line: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = line
        self.key_lines: dict[Any, int] = {}
        self.override = False


class LocList(list[Any]):
    """A sequence read from YAML that knows the (1-based) line of each of its items."""

    def __init__(self, *args: Any, line: int = 0) -> None:
        super().__init__(*args)
        self.line = line
        self.item_lines: list[int] = []
        self.override = False


class Reset:
    """The value of a ``!reset`` tag: remove what earlier files set here."""

    def __repr__(self) -> str:
        return "!reset"


RESET = Reset()

_INT = re.compile(
    r"""^(?:[-+]?0b[0-1_]+
    |[-+]?0o?[0-7_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+)$""",
    re.X,
)
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"


class ComposeYamlLoader(yaml.SafeLoader):
    """A safe loader whose mappings and sequences record line numbers."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT_TAG, _FLOAT_TAG)]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Build a :class:`LocDict`, refusing duplicate keys as Compose does."""
        own_nodes = {id(key_node) for key_node, _ in node.value}
        self.flatten_mapping(node)
        result = LocDict(line=node.start_mark.line + 1)
        own_keys: set[Any] = set()
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool):
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a scalar", key_node.start_mark
                )
            if id(key_node) in own_nodes:
                # Keys merged in with `<<` may be overridden; the file's own may not repeat.
                if key in own_keys:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                own_keys.add(key)
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result

    def construct_loc_sequence(self, node: yaml.SequenceNode) -> LocList:
        """Build a :class:`LocList` of the node's items."""
        result = LocList(line=node.start_mark.line + 1)
        for item in node.value:
            result.append(self.construct_object(item, deep=True))
            result.item_lines.append(item.start_mark.line + 1)
        return result

    def construct_reset(self, node: yaml.Node) -> Reset:
        """``!reset`` on any node."""
        return RESET

    def construct_override(self, node: yaml.Node) -> Any:
        """``!override`` on a mapping or sequence: replace instead of merging."""
        value: Any
        if isinstance(node, yaml.MappingNode):
            value = self.construct_mapping(node)
        elif isinstance(node, yaml.SequenceNode):
            value = self.construct_loc_sequence(node)
        else:
            return self.construct_scalar(node)  # type: ignore[arg-type]
        value.override = True
        return value


for _first in "-+0123456789":
    ComposeYamlLoader.add_implicit_resolver(_INT_TAG, _INT, [_first])
for _first in "-+0123456789.":
    ComposeYamlLoader.add_implicit_resolver(_FLOAT_TAG, _FLOAT, [_first])
ComposeYamlLoader.add_constructor(
    "tag:yaml.org,2002:map",
    ComposeYamlLoader.construct_mapping,
)
ComposeYamlLoader.add_constructor(
    "tag:yaml.org,2002:seq",
    ComposeYamlLoader.construct_loc_sequence,
)
ComposeYamlLoader.add_constructor("!reset", ComposeYamlLoader.construct_reset)
ComposeYamlLoader.add_constructor("!override", ComposeYamlLoader.construct_override)


@dataclass
class SourceFile:
    """One Compose file as read: its path, its raw tree, and where things are in it."""

    path: Path
    data: LocDict
    resets: set[tuple[Any, ...]] = field(default_factory=set)
    overrides: set[tuple[Any, ...]] = field(default_factory=set)

    @property
    def base_dir(self) -> Path:
        """The directory relative paths in this file are resolved against."""
        return self.path.absolute().parent

    def line_of(self, path: tuple[Any, ...]) -> int | None:
        """The line of the deepest node of ``path`` present in this file."""
        return locate(self.data, path)[1]

    def where(self, path: tuple[Any, ...]) -> str:
        """``FILE:LINE`` of ``path`` (as deep as the file has it)."""
        line = self.line_of(path)
        return f"{self.path}:{line}" if line else str(self.path)


def locate(data: Any, path: tuple[Any, ...]) -> tuple[int, int | None]:
    """Walk ``path`` into ``data``: how many steps matched, and the line of the last one."""
    line: int | None = getattr(data, "line", None) or None
    steps = 0
    node = data
    for step in path:
        if isinstance(node, LocDict) and step in node:
            line = node.key_lines.get(step, line)
            node = node[step]
        elif isinstance(node, LocList) and isinstance(step, int) and 0 <= step < len(node):
            line = node.item_lines[step]
            node = node[step]
        elif isinstance(node, LocList) and step in node:
            # A name in a list form (`depends_on: [db]`) that the model holds as a mapping key.
            index = node.index(step)
            line = node.item_lines[index]
            node = node[index]
        else:
            break
        steps += 1
    return steps, line


#: The loader of Compose files: line numbers and Compose's YAML rules, within the limits of
#: :mod:`fleetdeck.safeyaml` (size, depth, aliases, expanded nodes) so that an alias bomb is
#: refused while it is parsed, before anything expands it.
COMPOSE_LOADER = safeyaml.bounded_loader(ComposeYamlLoader)


def read_yaml(path: Path, files: ProjectFiles) -> LocDict:
    """Parse one Compose file, read from ``files``.

    Raises:
        InvalidInputError: The file cannot be read, is not valid YAML, is not a mapping, or
            is over a limit of :mod:`fleetdeck.safeyaml` (then a ``YamlLimitError``).
    """
    try:
        raw = files.read(path, "compose file")
        max_bytes = COMPOSE_LOADER.limits.max_bytes
        if len(raw) > max_bytes:
            raise safeyaml.YamlLimitError(
                f"{path}:1: the compose file is {len(raw)} bytes, over the limit of "
                f"{max_bytes} bytes",
                limit="max_bytes",
                hint="split it, or keep large data out of YAML files",
            )
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(
            f"compose file {path} is not UTF-8 text", hint="save it as UTF-8"
        ) from None
    data = safeyaml.load(text, name=str(path), loader=COMPOSE_LOADER)
    if data is None:
        return LocDict(line=1)
    if not isinstance(data, LocDict):
        raise InvalidInputError(
            f"{path}:1: the top level of a compose file must be a mapping",
            hint="start with `services:`",
        )
    return data
