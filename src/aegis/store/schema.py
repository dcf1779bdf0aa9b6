"""The database schema.

Event tables are derived from the event records in :mod:`aegis.events.models`, so a field added to a record
is a column here too (and a migration: ``alembic revision --autogenerate``). Other tables (the audit log,
ingest bookkeeping, and later warnings and orders) are declared by hand.
"""

from __future__ import annotations

import types
import typing
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from aegis.events.models import EVENT_TYPES, Record
from aegis.store.types import Money, UtcDateTime, widened

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: extra lookup indexes per event kind (the primary key is always event_id)
EVENT_INDEXES: dict[str, tuple[str, ...]] = {
    "person": ("person_id", "district", "station", "name"),
    "call": ("caller", "callee", "start"),
    "sms": ("sender", "receiver", "time"),
    "transfer": ("payer_account", "payee_account", "time"),
    "url_visit": ("person_id", "number", "time"),
    "app_install": ("device_id", "person_id", "time"),
    "sim_opening": ("person_id", "number"),
    "account_opening": ("person_id", "account"),
    "report": ("victim_id", "time"),
}


def _column_type(annotation: Any, field_name: str, max_length: int | None) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _column_type(inner, field_name, max_length)
    if origin is typing.Annotated:
        return _column_type(typing.get_args(annotation)[0], field_name, max_length)
    if origin is list:
        return JSON
    if annotation is datetime:
        return UtcDateTime
    if annotation is Decimal:
        return Money
    if annotation is bool:
        return Boolean
    if annotation is int:
        return Integer
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return String(32)
    if annotation is str:
        return String(max_length) if max_length and max_length <= 2048 else Text
    raise TypeError(f"no column type for {field_name}: {annotation!r}")


def _max_length(field: Any) -> int | None:
    for meta in field.metadata:
        if getattr(meta, "max_length", None):
            return int(meta.max_length)
    return None


def event_table(model: type[Record]) -> Table:
    columns = []
    for name, field in model.model_fields.items():
        optional = not field.is_required() and field.default is None
        columns.append(
            Column(
                name,
                _column_type(field.annotation, name, _max_length(field)),
                primary_key=name == "event_id",
                nullable=optional,
            )
        )
    table = Table(model.kind, metadata, *columns)
    for name in EVENT_INDEXES.get(model.kind, ()):
        Index(f"ix_{model.kind}_{name}", table.c[name])
    return table


EVENT_TABLES: dict[str, Table] = {kind: event_table(model) for kind, model in EVENT_TYPES.items()}

#: Every decision about a person (block, warning, freeze) and every look at personal data lands here.
#: Append-only: the repository has no update or delete for it, and triggers refuse them (migration 0007).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject_type", String(32), nullable=False),
    # a number, an account, a person, a domain (up to 253 characters) or a record of Aegis (migration 0010)
    Column("subject_id", widened(256, declared=80), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("details", JSON, nullable=False),
    # a caller's own id for the request behind the entry (a decision request's request_id): a retry of the
    # same request finds its entry there and adds none
    Column("request_key", String(160), nullable=True),
    Index("ix_audit_log_subject", "subject_type", "subject_id"),
    Index("ix_audit_log_at", "at"),
    Index("ux_audit_log_request_key", "request_key", unique=True),
)

#: Seals over the audit log (:mod:`aegis.store.audit_seal`): each covers the entries after the one before, up to
#: ``last_id``, and holds the SHA-256 chained over them. Append-only as the log is (migration 0014).
audit_seal = Table(
    "audit_seal",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("sealed_at", UtcDateTime, nullable=False),
    Column("sealed_by", String(160), nullable=False),
    Column("after_id", BigInteger, nullable=False),
    Column("last_id", BigInteger, nullable=False),
    Column("entries", BigInteger, nullable=False),
    Column("digest", String(64), nullable=False),
    # one seal continues each: two sealers that read the same last seal cannot both write
    Index("ux_audit_seal_after_id", "after_id", unique=True),
)

#: The answer given to each decision request that carried the caller's own id (``request_id``), pass included:
#: a retry of the same request gets the same answer, whatever has changed since (a warning closed, a profile
#: refreshed, a new policy), so what a bank or carrier acted on is what the audit log holds. Keyed as the audit
#: log's ``request_key``; the reasons are kept as messages, so a retry may read them in the other language.
decision_reply = Table(
    "decision_reply",
    metadata,
    Column("request_key", String(160), primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("action", String(16), nullable=False),
    Column("score", Float, nullable=False),
    Column("fraud_type", String(64), nullable=True),
    Column("reasons", JSON, nullable=False),
    Column("policy_version", String(64), nullable=False),
    Index("ix_decision_reply_at", "at"),
)

#: One row per ingested file and kind: what came in, what was stored, what was rejected.
ingest_run = Table(
    "ingest_run",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("source", Text, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("rows_read", BigInteger, nullable=False, default=0),
    Column("rows_stored", BigInteger, nullable=False, default=0),
    Column("rows_duplicate", BigInteger, nullable=False, default=0),
    Column("rows_rejected", BigInteger, nullable=False, default=0),
)

#: The current risk of an entity (number, account, domain, app), kept fresh by the batch jobs; the synchronous
#: decision API reads it instead of rebuilding profiles from raw events on every request.
risk_profile = Table(
    "risk_profile",
    metadata,
    Column("entity_type", String(16), primary_key=True),
    Column("entity_id", String(256), primary_key=True),
    Column("score", Float, nullable=False),
    Column("label", String(64), nullable=False),
    Column("fraud_type", String(64), nullable=True),
    Column("reasons", JSON, nullable=False),
    Column("features", JSON, nullable=False),
    Column("model", String(128), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_risk_profile_score", "entity_type", "score"),
)
