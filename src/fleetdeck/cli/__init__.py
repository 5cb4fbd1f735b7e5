"""The ``fleetdeck`` command line: one module per command group."""
