"""Alembic environment: runs on the engine handed over by :func:`aegis.store.engine.upgrade`."""

from alembic import context

from aegis.store.engine import make_engine
from aegis.store.schema import metadata

config = context.config
engine = config.attributes.get("engine") or make_engine(config.get_main_option("sqlalchemy.url"))

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
