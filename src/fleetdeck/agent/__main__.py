"""``python -m fleetdeck.agent``: the agent's lean entry point.

``fleetdeck agent`` replaces its own process with this one, so the running agent never holds
the CLI's libraries (Typer, Rich, and whatever other command groups import) in memory: on a
small host that is tens of megabytes. Flags and environment variables are those of
``fleetdeck agent``.
"""

from __future__ import annotations

import sys

from fleetdeck.errors import FleetdeckError


def main(argv: list[str] | None = None) -> int:
    """Run the agent; a FleetdeckError ends it with a one-line message and the kind's exit code."""
    from fleetdeck.agent.main import run
    from fleetdeck.agent.settings import parse_args

    args = sys.argv[1:] if argv is None else argv
    try:
        run(parse_args(args), restart_argv=[sys.executable, "-m", "fleetdeck.agent", *args])
    except FleetdeckError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        print(f"error: {exc.message}{hint}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
