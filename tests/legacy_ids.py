"""The id Aegis derived for a record before ids read amounts to the fen, for tests of stores made then (a module
of its own: ``from conftest import`` finds whichever conftest was imported first when folders run together)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from aegis.events.models import Record


def as_written_id(record: Record) -> str:
    """The id Aegis derived for a record before ids read amounts to the fen (its code, reproduced): an amount
    hashed as ``str`` of the Decimal read from the file, which keeps the places written ("10.5", "10.50")."""
    parts = [record.kind]
    for name in record.identity:
        value = getattr(record, name)
        parts.append("" if value is None else value.isoformat() if isinstance(value, datetime) else str(value))
    return f"{record.kind[:3]}-{hashlib.blake2b(chr(0x1F).join(parts).encode(), digest_size=12).hexdigest()}"

