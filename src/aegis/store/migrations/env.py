"""Alembic environment: runs on the engine handed over by :func:`aegis.store.engine.upgrade`."""

import importlib
import pkgutil

from alembic import context

import aegis.store
from aegis.store.engine import begin_write, make_engine
from aegis.store.schema import metadata

# Tables of later workflows live in their own modules (aegis.store.schema_*), all on the same metadata.
for module in pkgutil.iter_modules(aegis.store.__path__):
    if module.name.startswith("schema_"):
        importlib.import_module(f"aegis.store.{module.name}")

config = context.config
engine = config.attributes.get("engine") or make_engine(config.get_main_option("sqlalchemy.url"))

MIGRATION_LOCK = 0x41E6151
"""the PostgreSQL advisory lock every migration run takes: commands started together on a new database (a
deployment starting ``serve`` and an ingest) would otherwise each create the version table, and all but one
fail; held to the end of the transaction, so the next run finds the schema migrated. SQLite's BEGIN IMMEDIATE
(:func:`begin_write`) serialises the runs there."""

with begin_write(engine) as connection:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    # the revision found under the lock: what this run migrated from (another run started with it may have
    # migrated the store first)
    config.attributes["found"] = context.get_context().get_current_revision()
    context.run_migrations()
