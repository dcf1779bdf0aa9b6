"""Repositories: the only code that knows there is a database underneath.

Use cases take these objects; they speak in records, rows and data frames, never in engines or dialects.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Table, and_, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from aegis.events.models import EVENT_TYPES
from aegis.names import SUBJECT_NAMES
from aegis.reasons import Reason, stored
from aegis.store.engine import begin_write
from aegis.store.schema import EVENT_TABLES, audit_log, decision_reply, ingest_run, risk_profile

if TYPE_CHECKING:  # pandas is imported by the batch reads that make frames, not by every use of the store
    import pandas as pd


def conflict_insert(bind: Engine | Connection, table: Table) -> Any:
    """An INSERT in the store's own dialect, which offers ON CONFLICT (do nothing, do update): SQLite's or
    PostgreSQL's, the two :func:`aegis.store.engine.make_engine` opens. Every idempotent write goes through it."""
    return (postgresql if bind.dialect.name == "postgresql" else sqlite).insert(table)


class EventRepository:
    """Stores and reads events. Inserts are idempotent: a row whose ``event_id`` is stored is skipped, and so is
    a row whose derived id an older Aegis spelled otherwise, when the store holds it under that spelling."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_many(self, kind: str, rows: Sequence[Mapping[str, Any]], connection: Connection) -> set[str]:
        """Insert rows (as :meth:`Record.model_dump` gives them) inside the caller's transaction, each under the
        id it is stored under already, if any (:meth:`as_stored`); returns the ids of those that were new."""
        return self.add_as_stored(kind, self.as_stored(kind, rows, connection), connection)

    def as_stored(
        self, kind: str, rows: Sequence[Mapping[str, Any]], connection: Connection,
        written: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> list[Mapping[str, Any]]:
        """``rows`` under the ids this store holds them by: a row with a derived id whose event a store written
        before ids read amounts to the fen holds under a former id (its amount hashed as its file wrote it,
        :meth:`Record.former_ids`), or its phone numbers as ``written`` (each row as it came, where known),
        comes back under that stored id, so that it is the stored event again, not a second one; every other row
        comes back as it is.

        One query for the former ids of a batch of rows (up to five a row), none for the kinds without them."""
        model = EVENT_TYPES[kind]
        formers = [model.former_ids(row, raw) for row, raw in zip(rows, written or [None] * len(rows), strict=True)]
        wanted = list({former for ids in formers for former in ids})
        if not wanted:
            return list(rows)
        column = EVENT_TABLES[kind].c.event_id
        stored: set[str] = set()
        for start in range(0, len(wanted), _ID_CHUNK):
            chunk = wanted[start : start + _ID_CHUNK]
            stored.update(connection.execute(select(column).where(column.in_(chunk))).scalars())
        if not stored:
            return list(rows)
        found = [next((former for former in ids if former in stored), None) for ids in formers]
        return [row if former is None else {**row, "event_id": former} for row, former in zip(rows, found, strict=True)]

    def add_as_stored(self, kind: str, rows: Sequence[Mapping[str, Any]], connection: Connection) -> set[str]:
        """Insert rows that went through :meth:`as_stored` already, under the ids they carry, inside the caller's
        transaction; returns the ids of those that were new. (Ingest looks the ids up first, as it needs them:
        a row that is not new is compared with the event stored under its id.)"""
        if not rows:
            return set()
        table = EVENT_TABLES[kind]
        statement = conflict_insert(connection, table).on_conflict_do_nothing(index_elements=["event_id"])
        statement = statement.returning(table.c.event_id)
        # RETURNING yields only the rows really inserted, so the count is exact on both engines
        return set(connection.execute(statement, list(rows)).scalars())

    def differs(self, kind: str, rows: Sequence[Mapping[str, Any]], connection: Connection) -> list[bool]:
        """For each of ``rows``, whose ids are stored, whether the stored event says something else.

        Both sides go through the record model, so the store's own spellings (UTC times, money as fen, JSON
        lists) compare equal to what validation makes of the incoming row."""
        if not rows:
            return []
        table, model = EVENT_TABLES[kind], EVENT_TYPES[kind]
        ids = list({row["event_id"] for row in rows})
        kept = {row["event_id"]: model.model_validate(dict(row)).model_dump()
                for row in connection.execute(select(table).where(table.c.event_id.in_(ids))).mappings()}
        return [kept.get(row["event_id"]) != row for row in rows]

    def count(self, kind: str) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(EVENT_TABLES[kind])).scalar_one())

    def counts(self) -> dict[str, int]:
        return {kind: self.count(kind) for kind in EVENT_TABLES}

    def ids(self, kind: str) -> set[str]:
        table = EVENT_TABLES[kind]
        with self.engine.connect() as connection:
            return set(connection.execute(select(table.c.event_id)).scalars())

    def frame(self, kind: str, columns: Sequence[str] | None = None, *, since: datetime | None = None,
              before: datetime | None = None) -> pd.DataFrame:
        """The events of a kind as a data frame (for batch feature building), times in UTC: all of them, or
        those at or after ``since`` and before ``before`` (``start`` for calls)."""
        if since is None and before is None:
            return self._frame(kind, columns, [None])
        table = EVENT_TABLES[kind]
        column = table.c["start" if "start" in table.c else "time"]
        bounds = [column >= since] if since is not None else []
        bounds += [column < before] if before is not None else []
        return self._frame(kind, columns, [and_(*bounds)])

    def frame_touching(self, kind: str, fields: Sequence[str], values: Iterable[str]) -> pd.DataFrame:
        """The events of a kind whose ``fields`` (any of them) hold one of ``values``, as :meth:`frame` does.

        Reads only what a few thousand reported numbers or accounts touched, not a year of traffic; the values
        go in chunks, under every engine's limit on bound parameters.
        """
        wanted = sorted(set(values))
        table = EVENT_TABLES[kind]
        chunks = [wanted[i:i + _IN_CHUNK] for i in range(0, len(wanted), _IN_CHUNK)]
        conditions = [or_(*(table.c[f].in_(chunk) for f in fields)) for chunk in chunks]
        return self._frame(kind, None, conditions).drop_duplicates("event_id", ignore_index=True)

    def first_time(self, kind: str) -> datetime | None:
        """The earliest time of any event of a kind (``start`` for calls), None when there is none."""
        return self._time_bound(kind, func.min)

    def last_time(self, kind: str) -> datetime | None:
        """The latest time of any event of a kind (``start`` for calls), None when there is none."""
        return self._time_bound(kind, func.max)

    def _time_bound(self, kind: str, bound: Any) -> datetime | None:
        table = EVENT_TABLES[kind]
        column = table.c["start" if "start" in table.c else "time"]
        with self.engine.connect() as connection:
            found: datetime | None = connection.execute(select(bound(column))).scalar_one()
        return found

    def _frame(self, kind: str, columns: Sequence[str] | None, conditions: Sequence[Any]) -> pd.DataFrame:
        import pandas as pd

        table = EVENT_TABLES[kind]
        cols = [table.c[name] for name in columns] if columns else list(table.c)
        parts = []
        with self.engine.connect() as connection:
            for condition in conditions:
                query = select(*cols).order_by(table.c.event_id)
                result = connection.execute(query if condition is None else query.where(condition))
                parts.append(pd.DataFrame(result.fetchall(), columns=[c.name for c in cols]))
        frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[c.name for c in cols])
        for column in cols:
            if column.type.__class__.__name__ == "UtcDateTime":
                frame[column.name] = pd.to_datetime(frame[column.name], utc=True)
        return frame


#: values per IN list (SQLite allows 32,766 bound parameters, PostgreSQL 65,535)
_IN_CHUNK = 5000
#: ids per IN list of :meth:`EventRepository.as_stored`: one query for an ingest batch of 5,000 rows
_ID_CHUNK = 30_000


class IngestRunRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, kind: str, source: str) -> int:
        with begin_write(self.engine) as connection:
            return int(
                connection.execute(
                    insert(ingest_run).values(kind=kind, source=source, started_at=datetime.now(UTC))
                ).inserted_primary_key[0]  # type: ignore[index]
            )

    def add_counts(
        self, run_id: int, connection: Connection, *, read: int, stored: int, duplicate: int, rejected: int
    ) -> None:
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
        with begin_write(self.engine) as connection:
            connection.execute(
                ingest_run.update().where(ingest_run.c.id == run_id).values(finished_at=datetime.now(UTC))
            )


class DecisionReplies:
    """The answers given to decision requests that carried the caller's own id (:data:`~aegis.store.schema.
    decision_reply`), inside the caller's transaction: the answer to a request is the first one stored for it."""

    @staticmethod
    def keep(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> set[str]:
        """Store the answers whose ``request_key`` is not stored yet; the keys of those stored by this call. A key
        stored already, by an earlier try of the request or a concurrent one, keeps its first answer."""
        if not rows:
            return set()
        new = (conflict_insert(connection, decision_reply).on_conflict_do_nothing(index_elements=["request_key"])
               .returning(decision_reply.c.request_key))
        return set(connection.execute(new, list(rows)).scalars())

    @staticmethod
    def given(connection: Connection, keys: Collection[str]) -> dict[str, Any]:
        """The stored answers to the requests of ``keys``, by key."""
        if not keys:
            return {}
        rows = connection.execute(select(decision_reply).where(decision_reply.c.request_key.in_(set(keys))))
        return {row.request_key: row for row in rows}


_FORMERLY = {"fund_chase": ("chase",)}
"""kinds of subject as earlier versions wrote them (a chase's reads), found under today's name: the log keeps
what it was given"""


class AuditLog:
    """Append-only record of decisions about persons and of access to personal data."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(
        self,
        *,
        actor: str,
        action: str,
        subject_type: str,
        subject_id: str,
        reasons: Iterable[Reason | str] = (),
        details: Mapping[str, Any] | None = None,
        connection: Connection | None = None,
    ) -> None:
        """``reasons`` are kept as messages (:func:`aegis.reasons.stored`), so the record reads in either
        language; plain strings are kept as written."""
        self.append_many([{"actor": actor, "action": action, "subject_type": subject_type,
                           "subject_id": subject_id, "reasons": reasons, "details": details}], connection=connection)

    def append_many(self, entries: Iterable[Mapping[str, Any]], *, connection: Connection | None = None) -> None:
        """Several entries (each with the keyword arguments of :meth:`append`, and optionally a ``request_key``)
        in one transaction: all or none. An entry whose ``request_key`` is stored already is a retry of the
        same request and is skipped."""
        at = datetime.now(UTC)
        entries = list(entries)
        unknown = sorted({str(e["subject_type"]) for e in entries} - SUBJECT_NAMES.keys())
        if unknown:  # a programming error, not a user's: every kind the log holds has a name and may be filtered on
            raise ValueError(f"audit entries about {unknown}: not kinds of subject the log knows (aegis.names)")
        rows = [
            {
                "at": at,
                "actor": e["actor"],
                "action": e["action"],
                "subject_type": e["subject_type"],
                "subject_id": e["subject_id"],
                "reasons": stored(e.get("reasons") or ()),
                "details": dict(e.get("details") or {}),
                "request_key": e.get("request_key"),
            }
            for e in entries
        ]
        if not rows:
            return
        if connection is not None:
            self._insert(connection, rows)
            return
        with begin_write(self.engine) as own:
            self._insert(own, rows)

    @staticmethod
    def _insert(connection: Connection, rows: list[dict[str, Any]]) -> None:
        if not any(r["request_key"] for r in rows):
            connection.execute(insert(audit_log), rows)
            return
        retried = conflict_insert(connection, audit_log).on_conflict_do_nothing(index_elements=["request_key"])
        connection.execute(retried, rows)

    def recent(self, *, subject_type: str | None = None, subject_id: str | Collection[str] | None = None,
               action_prefix: str | None = None, limit: int = 200,
               other_than: Collection[str] = ()) -> list[dict[str, Any]]:
        """The newest ``limit`` entries, newest first, of one subject (or of any of several ids, the ways one
        subject may be written) and/or of actions starting with a prefix, leaving out the kinds of subject
        ``other_than``."""
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if other_than:
            query = query.where(audit_log.c.subject_type.not_in(list(other_than)))
        if subject_type:
            query = query.where(audit_log.c.subject_type.in_((subject_type, *_FORMERLY.get(subject_type, ()))))
        if subject_id:
            query = query.where(audit_log.c.subject_id.in_([subject_id] if isinstance(subject_id, str) else subject_id))
        if action_prefix:
            # case-insensitive on both backends: SQLite's LIKE already ignores ASCII case, PostgreSQL's does not
            query = query.where(func.lower(audit_log.c.action).startswith(action_prefix.lower(), autoescape=True))
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def entries(self, subject_type: str | None = None, subject_id: str | None = None) -> list[dict[str, Any]]:
        query = select(audit_log).order_by(audit_log.c.id)
        if subject_type:
            query = query.where(audit_log.c.subject_type == subject_type)
        if subject_id:
            query = query.where(audit_log.c.subject_id == subject_id)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]


class RiskProfileRepository:
    """Current risk of numbers, accounts, domains and apps (see ``risk_profile`` in the schema)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get_many(self, entity_type: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = sorted(set(ids))
        found: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), 900):
                rows = connection.execute(
                    select(risk_profile).where(
                        risk_profile.c.entity_type == entity_type,
                        risk_profile.c.entity_id.in_(wanted[start : start + 900]),
                    )
                )
                found.update({row.entity_id: dict(row._mapping) for row in rows})
        return found

    def upsert_many(self, entity_type: str, rows: Sequence[Mapping[str, Any]], *, model: str) -> int:
        """Replace the profiles of these entities in one transaction (a re-run writes the same rows)."""
        if not rows:
            return 0
        now = datetime.now(UTC)
        values = [
            {
                "entity_type": entity_type,
                "model": model,
                "updated_at": now,
                "fraud_type": None,
                "reasons": [],
                "features": {},
                **row,
            }
            for row in rows
        ]
        statement = conflict_insert(self.engine, risk_profile)
        statement = statement.on_conflict_do_update(
            index_elements=["entity_type", "entity_id"],
            set_={
                name: statement.excluded[name]
                for name in ("score", "label", "fraud_type", "reasons", "features", "model", "updated_at")
            },
        )
        with begin_write(self.engine) as connection:
            for start in range(0, len(values), 2000):
                connection.execute(statement, values[start : start + 2000])
        return len(values)

    def top(self, entity_type: str, limit: int = 100, min_score: float = 0.0) -> list[dict[str, Any]]:
        query = (
            select(risk_profile)
            .where(risk_profile.c.entity_type == entity_type, risk_profile.c.score >= min_score)
            .order_by(risk_profile.c.score.desc())
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]
