"""Tables of the warning and dissuasion workflow (防).

One row per warning. The history of each warning (who took, contacted, closed or escalated it, and when) is
the audit log (subject_type ``warning``), so there is one record of every step, not two that could disagree.

"One open warning per person and fraud type" is enforced by the database, not only by the code: ``open_key``
holds ``person|fraud_type`` while the warning is open and NULL once it is closed, and is unique (NULLs never
collide on SQLite or PostgreSQL), so a retried or concurrent "raise warning" cannot open a second one.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, Index, Integer, String, Table, UniqueConstraint

from aegis.store.schema import metadata
from aegis.store.types import UtcDateTime, widened

warning = Table(
    "warning",
    metadata,
    Column("warning_id", String(40), primary_key=True),
    Column("person_id", String(64), nullable=False),
    Column("fraud_type", String(32), nullable=False),
    Column("open_key", String(100), nullable=True),
    Column("level", String(8), nullable=False),
    Column("probability", Float, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    #: the person's home jurisdiction, copied at raise time so routing never depends on a later change
    Column("city", String(64), nullable=True),
    Column("district", String(64), nullable=False),
    Column("station", String(64), nullable=False),
    #: which tier's queue the warning sits in: station, district or city (三级联动)
    Column("queue", String(8), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("deadline", UtcDateTime, nullable=False),
    Column("escalations", Integer, nullable=False, default=0),
    Column("assigned_to", String(128), nullable=True),
    Column("contact_channel", String(16), nullable=True),
    Column("outcome", String(24), nullable=True),
    Column("lead_count", Integer, nullable=False, default=1),
    Column("last_lead_id", widened(128, declared=80), nullable=True),
    Column("first_lead_at", UtcDateTime, nullable=False),
    Column("last_lead_at", UtcDateTime, nullable=False),
    Column("policy_version", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
    UniqueConstraint("open_key", name="uq_warning_open_key"),
    Index("ix_warning_station_status", "station", "status"),
    Index("ix_warning_district_status", "district", "status"),
    Index("ix_warning_person", "person_id"),
    Index("ix_warning_deadline", "status", "deadline"),
)

#: every lead that opened or updated a warning, with the fusion features the model saw at that moment: once the
#: warning is closed its outcome labels these rows, and ``aegis warnings retrain`` learns from them (the loop
#: from outcomes back into the model). Written in the same transaction as the warning change it caused.
warning_lead = Table(
    "warning_lead",
    metadata,
    Column("warning_id", String(40), primary_key=True),
    # an event's id (up to 80 characters), a colon and the lead's kind (migration 0010)
    Column("lead_id", widened(128, declared=80), primary_key=True),
    Column("time", UtcDateTime, nullable=False),
    Column("probability", Float, nullable=False),
    Column("level", String(8), nullable=False),
    Column("features", JSON, nullable=True),
)
