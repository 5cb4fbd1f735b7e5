"""Bounded YAML: every YAML fleetdeck reads goes through here (Compose files, settings files).

YAML lets a few lines stand for billions of nodes: an anchor aliased nine times in each of
nine levels is 9⁹ list items (the "billion laughs"). PyYAML builds such a document quickly as
a graph of shared objects, but everything that walks it afterwards (interpolation,
validation, printing) expands it, for minutes and gigabytes. So the limits are counted while
the document is *composed*, before anything is constructed or expanded, and composition
stops at the first node over a limit:

- ``max_bytes``: the size of the text (a large file costs seconds to parse; see bench/);
- ``max_depth``: nesting, counted through aliases (walks of the tree recurse);
- ``max_aliases``: alias occurrences (``*name``);
- ``max_nodes``: nodes of the document with every alias expanded;
- ``max_alias_nodes``: nodes that aliases add. Real nodes are paid for in bytes, alias
  nodes are free, so they get a budget of their own: ordinary ``<<: *defaults`` reuse stays
  far below it, a 5-level bomb of width 9 (66,000 nodes) does not.

A recursive alias (``&a [*a]``) is refused too: expanded it has no end.

Parsing uses libyaml's C parser when PyYAML has it (about three times faster; composing and
constructing stay in Python so the limits can be counted), else PyYAML's pure-Python parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor

from fleetdeck.errors import InvalidInputError

if TYPE_CHECKING:
    from pathlib import Path

_CParser: Any
try:
    import yaml.cyaml as _cyaml

    _CParser = getattr(_cyaml, "CParser")  # noqa: B009 - not re-exported in the stubs
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CParser = None

_HINTS = {
    "max_depth": "flatten the structure",
    "max_nodes": "split the file",
}
_ALIAS_HINT = "write the values out instead of nesting aliases"

__all__ = [
    "DEFAULT_LIMITS",
    "BoundedComposer",
    "YamlLimitError",
    "YamlLimits",
    "bounded_loader",
    "load",
    "load_file",
]


@dataclass(frozen=True)
class YamlLimits:
    """What one YAML document may cost (see the module docstring for why each exists)."""

    max_bytes: int = 1024 * 1024
    max_depth: int = 64
    max_aliases: int = 10_000
    max_nodes: int = 200_000
    max_alias_nodes: int = 50_000


DEFAULT_LIMITS = YamlLimits()


class YamlLimitError(InvalidInputError):
    """A YAML document is over one of the :class:`YamlLimits` (``limit`` names which).

    Attributes:
        limit: The name of the :class:`YamlLimits` field that was exceeded, or
            ``"recursive_alias"``.
    """

    def __init__(self, message: str, *, limit: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.limit = limit


class _Refused(yaml.YAMLError):
    """Raised inside composition; turned into :class:`YamlLimitError` with the file's name."""

    def __init__(self, limit: str, text: str, mark: Any) -> None:
        super().__init__(text)
        self.limit = limit
        self.text = text
        self.mark = mark


class BoundedComposer(Composer):
    """PyYAML's composer, counting what the document would expand to as it goes.

    Mixed into a loader class (see :func:`bounded_loader`); ``limits`` is a class attribute
    so that PyYAML's ``Loader(stream)`` construction needs nothing more.
    """

    limits: ClassVar[YamlLimits] = DEFAULT_LIMITS

    def __init__(self) -> None:
        # Not super(): in a loader's MRO the next class is a whole loader wanting a stream.
        Composer.__init__(self)
        self._depth = 0  # depth of the node being composed (the root is 1)
        self._peak = 0  # deepest depth reached in the current subtree, aliases expanded
        self._nodes = 0  # nodes so far, aliases expanded
        self._alias_nodes = 0  # of which added by aliases
        self._aliases = 0
        # Per anchor: (expanded size, height below it); absent while still being composed.
        self._anchored: dict[str, tuple[int, int]] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Compose one node, refusing it as soon as it would exceed a limit."""
        event = self.peek_event()  # type: ignore[attr-defined] # the parser's, mixed in
        limits = self.limits
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self.anchors:  # an unknown anchor: PyYAML's own error
                self._alias(event, limits)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > limits.max_depth:
            self._refuse("max_depth", f"nesting deeper than {limits.max_depth} levels", event)
        self._count(1, event)
        outer_peak, self._peak = self._peak, self._depth
        before = self._nodes
        node = super().compose_node(parent, index)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._anchored[anchor] = (self._nodes - before, self._peak - self._depth)
        self._peak = max(outer_peak, self._peak)
        self._depth -= 1
        return node

    def _alias(self, event: yaml.AliasEvent, limits: YamlLimits) -> None:
        anchored = self._anchored.get(event.anchor or "")
        if anchored is None:
            self._refuse("recursive_alias", f"alias *{event.anchor} refers to itself", event)
        size, height = anchored
        self._aliases += 1
        if self._aliases > limits.max_aliases:
            self._refuse("max_aliases", f"more than {limits.max_aliases} aliases", event)
        depth = self._depth + 1 + height
        if depth > limits.max_depth:
            self._refuse(
                "max_depth",
                f"alias *{event.anchor} nests deeper than {limits.max_depth} levels",
                event,
            )
        self._peak = max(self._peak, depth)
        self._alias_nodes += size
        if self._alias_nodes > limits.max_alias_nodes:
            self._refuse(
                "max_alias_nodes",
                f"aliases expand to more than {limits.max_alias_nodes} nodes "
                f"(at *{event.anchor}, {size} nodes): an alias bomb?",
                event,
            )
        self._count(size, event)

    def _count(self, added: int, event: Any) -> None:
        self._nodes += added
        if self._nodes > self.limits.max_nodes:
            self._refuse(
                "max_nodes",
                f"more than {self.limits.max_nodes} nodes with aliases expanded",
                event,
            )

    @staticmethod
    def _refuse(limit: str, text: str, event: Any) -> NoReturn:
        raise _Refused(limit, text, event.start_mark)


def bounded_loader(base: type[Any], limits: YamlLimits = DEFAULT_LIMITS) -> type[Any]:
    """A loader class: ``base``'s constructor and resolver, the bounded composer, C parser.

    ``base`` is a :class:`yaml.SafeLoader` subclass (or SafeLoader itself); its constructors
    and implicit resolvers are kept. With libyaml, events come from its C parser, and the
    composing (counted) and constructing stay in Python.
    """
    namespace: dict[str, Any] = {"limits": limits}
    if _CParser is None:  # pragma: no cover - PyYAML built without libyaml

        def init_python(self: Any, stream: Any) -> None:
            base.__init__(self, stream)
            BoundedComposer.__init__(self)

        namespace["__init__"] = init_python
        return type(f"Bounded{base.__name__}", (BoundedComposer, base), namespace)

    def init_c(self: Any, stream: Any) -> None:
        _CParser.__init__(self, stream)
        BoundedComposer.__init__(self)
        SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)

    # The C parser has its own (uncounted) composer: take the Python one's entry points.
    namespace |= {
        "__init__": init_c,
        "check_node": Composer.check_node,
        "get_node": Composer.get_node,
        "get_single_node": Composer.get_single_node,
    }
    return type(f"Bounded{base.__name__}", (_CParser, BoundedComposer, base), namespace)


_SAFE_LOADER = bounded_loader(yaml.SafeLoader)


def load(text: str, *, name: str, loader: type[Any] | None = None) -> Any:
    """Parse one YAML document within the limits of ``loader`` (default: safe, default limits).

    Args:
        text: The YAML text.
        name: What to call it in errors (a file name).
        loader: A class made by :func:`bounded_loader`.

    Raises:
        YamlLimitError: Over a limit (the message names the limit, the file and line).
        InvalidInputError: Not valid YAML (the message names the file and line).
    """
    chosen: Any = loader or _SAFE_LOADER
    limits: YamlLimits = chosen.limits
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_bytes:
        raise YamlLimitError(
            f"{name}:1: {size} bytes of YAML, over the limit of {limits.max_bytes} bytes",
            limit="max_bytes",
            hint="split it, or keep large data out of YAML files",
        )
    try:
        return yaml.load(text, Loader=chosen)  # noqa: S506 - a SafeLoader-based, bounded loader
    except _Refused as exc:
        line = f":{exc.mark.line + 1}" if exc.mark is not None else ""
        raise YamlLimitError(
            f"{name}{line}: YAML refused: {exc.text} (limit {exc.limit})",
            limit=exc.limit,
            hint=_HINTS.get(exc.limit, _ALIAS_HINT),
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name}:{mark.line + 1}" if mark else name
        raise InvalidInputError(
            f"{where}: invalid YAML: {exc.problem or exc.context}",
            hint="check indentation and quoting around that line",
        ) from None
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"{name}: invalid YAML: {exc}") from None
    except RecursionError:
        # Only reachable with limits set deeper than Python's stack allows.
        raise YamlLimitError(f"{name}: YAML nested too deeply", limit="max_depth") from None


def load_file(
    path: Path, *, what: str = "YAML file", loader: type[Any] | None = None, size: int | None = None
) -> Any:
    """Read and parse a UTF-8 YAML file within the limits (see :func:`load`).

    The size (``size``, if the caller has it, else from ``stat``) is checked before the file
    is read, so a huge file is refused without reading it into memory.

    Raises:
        YamlLimitError: Over a limit.
        InvalidInputError: Unreadable, not UTF-8, or not valid YAML.
    """
    chosen: Any = loader or _SAFE_LOADER
    limits: YamlLimits = chosen.limits
    try:
        size = path.stat().st_size if size is None else size
        if size > limits.max_bytes:
            over = f"over the limit of {limits.max_bytes} bytes"
            raise YamlLimitError(
                f"{path}:1: the {what} is {size} bytes, {over}",
                limit="max_bytes",
                hint="split it, or keep large data out of YAML files",
            )
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(
            f"{what} {path} is not UTF-8 text", hint="save it as UTF-8"
        ) from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    return load(text, name=str(path), loader=chosen)
