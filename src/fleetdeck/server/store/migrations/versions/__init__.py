"""Alembic revisions, oldest first (file names start with their order)."""
