"""Reading a fleet file or directory: bounded, every object remembering its file and line.

YAML goes through :mod:`fleetdeck.safeyaml`'s bounded loader (size, depth, aliases and
expanded nodes are counted while the document is composed) with the line-keeping mappings
of :mod:`fleetdeck.compose.source`, so that an unknown key, a bad value, a duplicate or a
reference to nothing is reported as ``FILE:LINE`` long after the YAML became models. A
directory is read in name order (``*.yaml`` and ``*.yml``, subdirectories included, links
that leave it refused), within a budget of files and bytes.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from fleetdeck import safeyaml
from fleetdeck.compose.diagnostics import key_path
from fleetdeck.compose.source import COMPOSE_LOADER, LocDict, locate
from fleetdeck.errors import InvalidInputError
from fleetdeck.fleetfile.model import (
    KINDS,
    AutoscaleSpec,
    FleetFile,
    HealPolicySpec,
    SecretRef,
    StackFileRef,
    Strict,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

#: At most this many YAML files in a fleet directory.
MAX_FILES = 256
#: At most this many bytes of YAML (and stack files by path) in all.
MAX_TOTAL_BYTES = 16 * 1024 * 1024
#: One stack file named by ``{path: ...}`` (the API's own cap on a stack file is the same).
MAX_STACK_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Origin:
    """Where an object of a fleet file was written: the file, its tree, its path in it."""

    file: Path
    data: LocDict
    path: tuple[Any, ...]

    def where(self, *sub: Any) -> str:
        """``FILE:LINE`` of the object (or of ``sub`` inside it, as deep as the file has it)."""
        _, line = locate(self.data, self.path + sub)
        return f"{self.file}:{line}" if line else str(self.file)


@dataclass
class Desired:
    """The fleet the files describe: objects per kind (with their origins), managed kinds."""

    root: Path
    #: Kind -> the globs of the keys it prunes (``*`` for a kind listed bare).
    managed: dict[str, list[str]] = field(default_factory=dict)
    objects: dict[str, list[tuple[BaseModel, Origin]]] = field(
        default_factory=lambda: {kind: [] for kind in KINDS}
    )
    files: list[Path] = field(default_factory=list)

    def items(self, kind: str) -> list[tuple[BaseModel, Origin]]:
        """The objects of one kind, in file order."""
        return self.objects[kind]


def identity(kind: str, spec: BaseModel) -> str:
    """The key an object is known by in its kind (what plan and apply match on)."""
    data = spec.model_dump()
    if kind == "users":
        return str(data["username"])
    if kind == "silences":
        return ",".join(sorted(data["matchers"]))
    if kind == "maintenance":
        return f"{data['environment']}/{data['reason']}"
    if kind == "heal":
        return str(data["target"])
    if kind == "autoscale":
        return str(data["service"])
    return str(data["name"])


def _files_of(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InvalidInputError(f"{path}: no such file or directory")
    root = path.resolve()
    found: list[Path] = []
    for candidate in sorted(path.rglob("*")):
        if candidate.suffix not in (".yaml", ".yml") or not candidate.is_file():
            continue
        if not candidate.resolve().is_relative_to(root):
            raise InvalidInputError(
                f"{candidate}: links outside the fleet directory {path}",
                hint="keep every fleet file inside the directory",
            )
        found.append(candidate)
        if len(found) > MAX_FILES:
            raise InvalidInputError(
                f"{path}: more than {MAX_FILES} YAML files", hint="split the fleet"
            )
    if not found:
        raise InvalidInputError(f"{path}: no *.yaml or *.yml files in the directory")
    return found


def read_tree(file: Path, budget: list[int]) -> LocDict:
    """One fleet file as a line-keeping tree (bounded); counts its bytes against ``budget``."""
    try:
        size = file.stat().st_size
    except OSError as exc:
        raise InvalidInputError(f"cannot read {file}: {exc.strerror or exc}") from None
    budget[0] -= size
    if budget[0] < 0:
        raise InvalidInputError(
            f"{file}:1: the fleet files are over {MAX_TOTAL_BYTES} bytes in all",
            hint="split the fleet, or keep large data out of it",
        )
    data = safeyaml.load_file(file, what="fleet file", loader=COMPOSE_LOADER, size=size)
    if data is None:
        return LocDict(line=1)
    if not isinstance(data, LocDict):
        raise InvalidInputError(
            f"{file}:1: the top level of a fleet file must be a mapping",
            hint="start with a kind, e.g. `stacks:`",
        )
    return data


def _known_keys() -> set[str]:
    models: list[type[BaseModel]] = [*Strict.__subclasses__(), HealPolicySpec, AutoscaleSpec]
    return {info.alias or name for model in models for name, info in model.model_fields.items()}


def _validation_error(exc: ValidationError, file: Path, data: LocDict) -> InvalidInputError:
    error = exc.errors()[0]
    loc = [step for step in error["loc"] if isinstance(step, int) or step in _keys_or(step)]
    steps, line = locate(data, tuple(loc))
    real = loc[:steps] + [s for s in loc[steps:] if isinstance(s, int) or s.isidentifier()]
    place = f"{file}:{line}" if line else str(file)
    if error["type"] == "extra_forbidden":
        key = str(real[-1]) if real else "?"
        inside = f" in {key_path(real[:-1])}" if len(real) > 1 else " at the top level"
        close = difflib.get_close_matches(key, sorted(_known_keys()), n=1, cutoff=0.75)
        hint = f"did you mean {close[0]!r}?" if close else "see docs/fleet-file.md for the keys"
        return InvalidInputError(f"{place}: unknown key {key!r}{inside}", hint=hint)
    message = error["msg"]
    value = error.get("input")
    if error["type"] != "missing" and isinstance(value, str | int | float):
        message += f" (got {value!r})"
    hint = "add the key" if error["type"] == "missing" else "see docs/fleet-file.md"
    return InvalidInputError(f"{place}: {key_path(real)}: {message}", hint=hint)


def _keys_or(step: Any) -> set[Any]:
    # Pydantic puts union members' names (`str`, `SecretRef`) into `loc`: not keys of the file.
    return set() if step in ("str", "SecretRef", "StackFileRef", "float", "int") else {step}


def parse_tree(file: Path, data: LocDict) -> FleetFile:
    """Validate one file's tree; the first problem as ``FILE:LINE: key: what``."""
    try:
        return FleetFile.model_validate(dict(data))
    except ValidationError as exc:
        raise _validation_error(exc, file, data) from None


def load(path: Path) -> Desired:
    """Read a fleet file or directory into a :class:`Desired` (nothing is contacted).

    Raises:
        InvalidInputError: Naming ``FILE:LINE`` — bad YAML, over a limit, an unknown key, a
            bad value, an object given twice, a stack file outside the directory.
    """
    root = (path if path.is_dir() else path.parent).resolve()
    desired = Desired(root=root)
    budget = [MAX_TOTAL_BYTES]
    seen: dict[tuple[str, str], Origin] = {}
    for file in _files_of(path):
        data = read_tree(file, budget)
        parsed = parse_tree(file, data)
        desired.files.append(file)
        for entry in parsed.managed:
            scope: tuple[str, str] = (
                (entry, "*") if isinstance(entry, str) else (entry.kind, entry.match)
            )
            desired.managed.setdefault(scope[0], []).append(scope[1])
        for kind in KINDS:
            for index, spec in enumerate(getattr(parsed, kind)):
                origin = Origin(file, data, (kind, index))
                key = (kind, identity(kind, spec))
                if key in seen:
                    raise InvalidInputError(
                        f"{origin.where()}: {kind} {key[1]!r} is given twice "
                        f"(first at {seen[key].where()})",
                        hint="keep one definition of each object",
                    )
                seen[key] = origin
                desired.objects[kind].append((spec, origin))
        for kind, index, name, ref in _stack_file_refs(parsed):
            _check_inside(desired.root, ref, Origin(file, data, (kind, index, "files", name)))
        budget[0] -= sum(_read_refs_size(desired.root, parsed))
    return desired


def _stack_file_refs(parsed: FleetFile) -> Iterator[tuple[str, int, str, StackFileRef]]:
    for index, stack in enumerate(parsed.stacks):
        for name, value in (stack.files or {}).items():
            if isinstance(value, StackFileRef):
                yield "stacks", index, name, value


def _read_refs_size(root: Path, parsed: FleetFile) -> Iterator[int]:
    for _, _, _, ref in _stack_file_refs(parsed):
        yield (root / ref.path).stat().st_size


def inside(root: Path, relative: str) -> Path | None:
    """``relative`` under ``root``, or None when it leaves it (``..``, absolute, a link)."""
    candidate = (root / relative).resolve()
    return candidate if candidate.is_relative_to(root) else None


def _check_inside(root: Path, ref: StackFileRef, origin: Origin) -> None:
    target = inside(root, ref.path)
    if target is None:
        raise InvalidInputError(
            f"{origin.where('path')}: {ref.path!r} is outside the fleet directory {root}",
            hint="keep stack files inside the fleet directory",
        )
    if not target.is_file():
        raise InvalidInputError(f"{origin.where('path')}: no file {ref.path!r}")
    if target.stat().st_size > MAX_STACK_FILE_BYTES:
        raise InvalidInputError(
            f"{origin.where('path')}: {ref.path!r} is over {MAX_STACK_FILE_BYTES} bytes"
        )


def stack_file_bytes(root: Path, value: str | StackFileRef) -> bytes:
    """A stack file's content: inline text, or the file it names (checked by :func:`load`)."""
    if isinstance(value, str):
        return value.encode()
    target = inside(root, value.path)
    if target is None:  # pragma: no cover - refused by load()
        raise InvalidInputError(f"{value.path!r} is outside the fleet directory")
    return target.read_bytes()


def resolve_secret(root: Path, value: str | SecretRef, where: str) -> str:
    """A secret's value: literal text, an environment variable, or a file inside ``root``.

    Raises:
        InvalidInputError: The variable is unset, the file missing or outside ``root``.
    """
    import os

    if isinstance(value, str):
        return value
    if (value.env is None) == (value.file is None):
        raise InvalidInputError(f"{where}: a secret reference needs exactly one of env, file")
    if value.env is not None:
        found = os.environ.get(value.env)
        if found is None:
            raise InvalidInputError(
                f"{where}: the environment variable {value.env} is not set",
                hint="export it before plan/apply",
            )
        return found
    assert value.file is not None  # noqa: S101 - checked above
    target = inside(root, value.file)
    if target is None or not target.is_file():
        raise InvalidInputError(f"{where}: no secret file {value.file!r} in {root}")
    if target.stat().st_size > 64 * 1024:
        raise InvalidInputError(f"{where}: the secret file {value.file!r} is over 64 KiB")
    return target.read_text(encoding="utf-8").strip()
