"""``python -m fleetdeck``: the same CLI as the ``fleetdeck`` console script."""

from fleetdeck.cli.main import run

run()
