"""Merging Compose files in order, with Compose's override semantics.

Each file is validated on its own first (so its errors name it), then merged into the result
of the files before it:

* mappings (including models) merge key by key, recursively (``logging`` options only while
  the driver stays the same);
* ``command``, ``entrypoint`` and ``healthcheck.test`` are replaced;
* ``volumes`` merge by target, ``secrets``/``configs`` by target (or source), ``devices`` by
  container path; other sequences (``ports``, ``expose``, ``dns``…) append unique values;
* a value tagged ``!override`` replaces instead of merging, ``!reset`` removes what earlier
  files set.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from fleetdeck.compose.model_parts import DeviceMapping, FileRef, Logging, ServiceVolume

if TYPE_CHECKING:
    from collections.abc import Callable

    from fleetdeck.compose.model import Project

M = TypeVar("M", bound=BaseModel)
Path_ = tuple[Any, ...]

_REPLACED = {"command", "entrypoint", "test"}


def _identity(item: Any) -> Any:
    """The identity an item of a merged sequence is matched by."""
    if isinstance(item, ServiceVolume):
        return ("volume", item.target)
    if isinstance(item, FileRef):
        return ("file", item.target or item.source)
    if isinstance(item, DeviceMapping):
        return ("device", item.target or item.source)
    return ("value", repr(item))


def merge_projects(base: Project, other: Project, overrides: set[Path_]) -> Project:
    """``other`` merged over ``base`` (``overrides``: paths tagged ``!override`` in ``other``)."""
    return _merge_models(base, other, (), overrides)


def apply_resets(project: Project, resets: set[Path_]) -> None:
    """Remove, in place, what each ``!reset`` path names."""
    for path in sorted(resets, key=len):
        parent: Any = project
        for step in path[:-1]:
            parent = _child(parent, step)
            if parent is None:
                break
        else:
            _remove(parent, path[-1])


def _child(node: Any, step: Any) -> Any:
    if isinstance(node, BaseModel):
        return getattr(node, step, None) if isinstance(step, str) else None
    if isinstance(node, dict):
        return node.get(step)
    return None


def _remove(node: Any, key: Any) -> None:
    if isinstance(node, BaseModel) and key in type(node).model_fields:
        field = type(node).model_fields[key]
        # A copy: the default object belongs to the class, and resolving mutates the project.
        setattr(node, key, copy.deepcopy(field.get_default(call_default_factory=True)))
        node.model_fields_set.discard(key)
    elif isinstance(node, dict):
        node.pop(key, None)


def _merge_models(base: M, other: M, path: Path_, overrides: set[Path_]) -> M:
    values = dict(base.__dict__)
    fields_set = set(base.model_fields_set)
    for name in other.model_fields_set:
        new = getattr(other, name)
        here = (*path, name)
        if name in fields_set and here not in overrides:
            values[name] = _merge_values(name, values[name], new, here, overrides)
        else:
            values[name] = new
        fields_set.add(name)
    merged = type(base).model_construct(_fields_set=fields_set, **values)
    if base.__pydantic_private__ is not None:
        merged.__pydantic_private__ = dict(base.__pydantic_private__)
    return merged


def _merge_values(name: str, old: Any, new: Any, path: Path_, overrides: set[Path_]) -> Any:
    if isinstance(old, Logging) and isinstance(new, Logging) and new.driver != old.driver:
        return new if new.driver else _merge_models(old, new, path, overrides)
    if isinstance(old, BaseModel) and type(old) is type(new):
        return _merge_models(old, new, path, overrides)
    if isinstance(old, dict) and isinstance(new, dict):
        result = dict(old)
        for key, value in new.items():
            here = (*path, key)
            # A list under a key (extra_hosts' addresses) is that key's value: replaced.
            if key in result and here not in overrides and not isinstance(value, list):
                result[key] = _merge_values(str(key), result[key], value, here, overrides)
            else:
                result[key] = value
        return result
    if isinstance(old, list) and isinstance(new, list) and name not in _REPLACED:
        return _merge_sequences(old, new, _identity)
    return new


def _merge_sequences(old: list[Any], new: list[Any], key: Callable[[Any], Any]) -> list[Any]:
    merged: dict[Any, Any] = {key(item): item for item in old}
    for item in new:
        merged[key(item)] = item
    return list(merged.values())
