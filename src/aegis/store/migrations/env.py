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

with begin_write(engine) as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
