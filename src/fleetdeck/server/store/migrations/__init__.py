"""Alembic migrations of the server's store (run by :mod:`fleetdeck.server.store.migrate`)."""
