"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UtcDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (SQLite has no time zones), always returned timezone-aware in UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a naive datetime reached the store; events are normalised to UTC first")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)


class Money(TypeDecorator[Decimal]):
    """Money as whole fen (1/100 yuan) in a BIGINT: exact on both engines, fast to sum."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | float | int | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int((Decimal(str(value)) * 100).to_integral_value())

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(int(value)) / 100


def widened(length: int, declared: int) -> TypeEngine[str]:
    """A ``VARCHAR(length)`` column first declared ``VARCHAR(declared)``, widened by a migration on PostgreSQL
    only: SQLite does not enforce a VARCHAR's length (the longer values fit as they are), and changing the type
    there would copy the whole table, the audit log's append-only triggers with it. So the declared length stays
    on SQLite, and the schema says so, as its migrations built it."""
    return String(length).with_variant(String(declared), "sqlite")
