"""Alembic environment: migrations run on a connection the server hands over.

:func:`fleetdeck.server.store.migrate.migrate` puts an open (sync-facing) connection in
``config.attributes["connection"]``; there is no ``alembic.ini``. For development
(``revision --autogenerate``) the same function is used through
:func:`fleetdeck.server.store.migrate.autogenerate`.
"""

from __future__ import annotations

from alembic import context

import fleetdeck.server.store.models_heal  # noqa: F401 - registers the auto-heal tables
import fleetdeck.server.store.models_stacks  # noqa: F401 - registers the stack tables
from fleetdeck.server.store import (
    models_alerts,  # noqa: F401 - registers the alerting tables
    models_autoscale,  # noqa: F401 - registers the autoscaling tables
    models_backups,  # noqa: F401 - registers the backup tables
    models_drift,  # noqa: F401 - registers the drift table
    models_gitops,  # noqa: F401 - registers the GitOps tables
    models_updates,  # noqa: F401 - registers the image-update tables
    models_volume_backups,  # noqa: F401 - registers the volume backup tables
)
from fleetdeck.server.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("fleetdeck migrations run through fleetdeck.server.store.migrate")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
