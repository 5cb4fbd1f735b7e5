"""A command group that imports a command's module only when that command runs.

Importing every command group (and through them the client, httpx, pydantic and Rich) made
``fleetdeck version`` take seconds on a busy machine. The root group instead knows each
top-level command by name and the module that defines it (:class:`Lazy`), and builds the
command the way ``Typer.add_typer`` would, from that module alone, when click asks for it:
to run it, or to list every command in ``fleetdeck --help`` (which therefore imports all).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer
from typer import core as typer_core
from typer.core import TyperGroup
from typer.main import get_group_from_info
from typer.models import TyperInfo

if TYPE_CHECKING:
    # Typer carries its own copy of click (typer._click): its groups take its commands.
    from typer._click import Command, Context


def _absent_flags_are_false() -> None:
    """Make an absent optional bool flag False before Typer coerces it, as it would end up.

    Typer (0.29) hands an option that was not given (``--help``, ``--install-completion``)
    to a pydantic TypeAdapter when its value is None rather than a bool; building one imports
    pydantic, half of what ``fleetdeck version`` spent starting. False is what these flags
    mean when absent (their callbacks test ``not value``), and a bool skips the coercion.
    Required flags and ``bool | None`` options are left as they are. If Typer's internals
    move, this does nothing and ``tests/unit/cli/test_lazy.py`` says pydantic is loaded again.
    """
    param_class: Any = getattr(typer_core, "_TyperParameter", None)
    original = getattr(param_class, "process_value", None)
    if original is None or getattr(original, "fleetdeck_flags", False):
        return

    def process_value(self: Any, ctx: Any, value: Any) -> Any:
        described = getattr(self, "type_descriptor", None)
        if value is None and not self.required and getattr(described, "annotation", 0) is bool:
            value = False
        return original(self, ctx, value)

    process_value.fleetdeck_flags = True  # type: ignore[attr-defined]
    param_class.process_value = process_value


_absent_flags_are_false()


@dataclass(frozen=True)
class Lazy:
    """Where a top-level command lives.

    Attributes:
        module: The module that defines it (imported on first use).
        attr: The ``typer.Typer`` in it, or a plain function (a single command).
        group: True when ``attr`` is a Typer that is the command (``fleetdeck env …``);
            False when its commands sit at the top level (``fleetdeck ps``: ``add_typer``
            without a name) or ``attr`` is a function.
    """

    module: str
    attr: str
    group: bool = False


class LazyGroup(TyperGroup):
    """The root group: eager commands as Typer built them, the rest from :attr:`lazy`."""

    lazy: dict[str, Lazy] = {}

    def list_commands(self, ctx: Context) -> list[str]:
        """Every command name, without importing anything (the order of ``--help``)."""
        eager = super().list_commands(ctx)
        return [*self.lazy, *(name for name in eager if name not in self.lazy)]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        """The command, built from its module; a name not in :attr:`lazy` loads all of them.

        Loading all on a miss keeps a command that was added to a module but not to the
        table working (slowly); ``tests/unit/cli/test_lazy.py`` fails on such a miss.
        """
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        where = self.lazy.get(cmd_name)
        for name, place in [(cmd_name, where)] if where else self.lazy.items():
            if name not in self.commands:
                for built_name, built in self.build(place, name).items():
                    self.add_command(built, built_name)
        return super().get_command(ctx, cmd_name)

    def build(self, place: Lazy, name: str) -> dict[str, Command]:
        """The click command(s) ``place`` defines, named as ``fleetdeck`` shows them.

        A group comes back as ``{name: group}``; a Typer whose commands sit at the top level,
        as all of its commands (asking for one of them builds its siblings too: cheap, the
        module is imported anyway).
        """
        target: Any = getattr(importlib.import_module(place.module), place.attr)
        if not isinstance(target, typer.Typer):
            single = typer.Typer()
            single.command(name)(target)
            target = single
        info = TyperInfo(target, name=name) if place.group else TyperInfo(target)
        group = get_group_from_info(
            info,
            pretty_exceptions_short=True,
            suggest_commands=self.suggest_commands,
            rich_markup_mode=self.rich_markup_mode,
        )
        return {name: group} if place.group else dict(group.commands)
