"""The declarative fleet file: schema, bounded parsing, plan (diff) and apply (docs/fleet-file.md).

``model`` holds the pydantic models (and the JSON Schema), ``loader`` reads files and
directories with every object's file and line, ``diff`` makes and renders the plan,
``live`` reads the server, applies a plan and ``export`` writes the fleet back as files.
The package talks to the server only through :mod:`fleetdeck.client`.
"""
