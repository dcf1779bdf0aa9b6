"""Storage behind repositories: SQLite embedded by default, PostgreSQL for deployments."""

from aegis.store.engine import begin_write, database_url, make_engine, open_engine, upgrade
from aegis.store.repositories import AuditLog, EventRepository, IngestRunRepository, RiskProfileRepository

__all__ = [
    "AuditLog",
    "EventRepository",
    "IngestRunRepository",
    "RiskProfileRepository",
    "begin_write",
    "database_url",
    "make_engine",
    "open_engine",
    "upgrade",
]
