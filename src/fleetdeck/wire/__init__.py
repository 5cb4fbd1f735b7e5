"""fleetdeck's wire models: every body that crosses a process boundary, defined once.

The server's ``/api/v1`` answers and request bodies, the agent's routes and streams, and the
client's parsed replies are all these models (docs/dev/fleet-core.md). JSON keys are
contracts: add fields, never rename. One module per topic; import from the module
(``from fleetdeck.wire.containers import Container``): this package re-exports nothing, so
the agent loads only the modules it uses.
"""
