"""Repositories: the only code that knows there is a database underneath.

Use cases take these objects; they speak in records, rows and data frames, never in engines or dialects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from aegis.store.schema import EVENT_TABLES, audit_log, ingest_run


class EventRepository:
    """Stores and reads events. Inserts are idempotent: a row whose ``event_id`` is stored is skipped."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _insert_ignoring_duplicates(self, kind: str) -> Any:
        table = EVENT_TABLES[kind]
        dialect = self.engine.dialect.name
        if dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing(index_elements=["event_id"])
        if dialect == "sqlite":
            return sqlite.insert(table).on_conflict_do_nothing(index_elements=["event_id"])
        raise NotImplementedError(f"database: {dialect} is not supported (use SQLite or PostgreSQL)")

    def add_many(self, kind: str, rows: Sequence[Mapping[str, Any]], connection: Connection) -> int:
        """Insert rows inside the caller's transaction; returns how many were new."""
        if not rows:
            return 0
        table = EVENT_TABLES[kind]
        ids = [row["event_id"] for row in rows]
        # Count what is already there first: executemany gives no reliable per-row rowcount for
        # ON CONFLICT DO NOTHING on every driver, and the count must be exact for the ingest report.
        existing = self._count_existing(table, ids, connection)
        connection.execute(self._insert_ignoring_duplicates(kind), list(rows))
        return len(set(ids)) - existing

    @staticmethod
    def _count_existing(table: Any, ids: list[str], connection: Connection) -> int:
        found = 0
        for start in range(0, len(ids), 900):  # SQLite caps bound parameters per statement
            chunk = ids[start : start + 900]
            found += connection.execute(
                select(func.count()).select_from(table).where(table.c.event_id.in_(chunk))
            ).scalar_one()
        return int(found)

    def count(self, kind: str) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(EVENT_TABLES[kind])).scalar_one())

    def counts(self) -> dict[str, int]:
        return {kind: self.count(kind) for kind in EVENT_TABLES}

    def ids(self, kind: str) -> set[str]:
        table = EVENT_TABLES[kind]
        with self.engine.connect() as connection:
            return set(connection.execute(select(table.c.event_id)).scalars())

    def frame(self, kind: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """All events of a kind as a data frame (for batch feature building), times in UTC."""
        table = EVENT_TABLES[kind]
        cols = [table.c[name] for name in columns] if columns else list(table.c)
        with self.engine.connect() as connection:
            result = connection.execute(select(*cols).order_by(table.c.event_id))
            frame = pd.DataFrame(result.fetchall(), columns=[c.name for c in cols])
        for column in cols:
            if column.type.__class__.__name__ == "UtcDateTime":
                frame[column.name] = pd.to_datetime(frame[column.name], utc=True)
        return frame


class IngestRunRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, kind: str, source: str) -> int:
        with self.engine.begin() as connection:
            return int(
                connection.execute(
                    insert(ingest_run).values(kind=kind, source=source, started_at=datetime.now(UTC))
                ).inserted_primary_key[0]  # type: ignore[index]
            )

    def add_counts(self, run_id: int, connection: Connection, *, read: int, stored: int, duplicate: int,
                   rejected: int) -> None:
        connection.execute(
            ingest_run.update()
            .where(ingest_run.c.id == run_id)
            .values(
                rows_read=ingest_run.c.rows_read + read,
                rows_stored=ingest_run.c.rows_stored + stored,
                rows_duplicate=ingest_run.c.rows_duplicate + duplicate,
                rows_rejected=ingest_run.c.rows_rejected + rejected,
            )
        )

    def finish(self, run_id: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                ingest_run.update().where(ingest_run.c.id == run_id).values(finished_at=datetime.now(UTC))
            )


class AuditLog:
    """Append-only record of decisions about persons and of access to personal data."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(self, *, actor: str, action: str, subject_type: str, subject_id: str,
               reasons: Iterable[str] = (), details: Mapping[str, Any] | None = None,
               connection: Connection | None = None) -> None:
        row = {
            "at": datetime.now(UTC),
            "actor": actor,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "reasons": list(reasons),
            "details": dict(details or {}),
        }
        if connection is not None:
            connection.execute(insert(audit_log), [row])
            return
        with self.engine.begin() as own:
            own.execute(insert(audit_log), [row])

    def entries(self, subject_type: str | None = None, subject_id: str | None = None) -> list[dict[str, Any]]:
        query = select(audit_log).order_by(audit_log.c.id)
        if subject_type:
            query = query.where(audit_log.c.subject_type == subject_type)
        if subject_id:
            query = query.where(audit_log.c.subject_id == subject_id)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]
