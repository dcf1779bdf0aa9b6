"""audit_log.subject_id holds a domain (up to 253 characters), warning leads the id of an event (up to 80) with
its kind: wider on PostgreSQL, where VARCHAR(80) refused them and failed the whole batch they came in

SQLite does not enforce a VARCHAR's length, so there the columns keep their declared type
(:func:`aegis.store.types.widened`); changing it would copy the audit log and drop its append-only triggers.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WIDENED = (('audit_log', 'subject_id', 256), ('warning_lead', 'lead_id', 128), ('warning', 'last_lead_id', 128))


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table, column, length in WIDENED:  # a wider VARCHAR: PostgreSQL changes the catalogue, not the rows
        op.alter_column(table, column, type_=sa.String(length=length), existing_type=sa.String(length=80))


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table, column, length in WIDENED:
        op.alter_column(table, column, type_=sa.String(length=80), existing_type=sa.String(length=length))
