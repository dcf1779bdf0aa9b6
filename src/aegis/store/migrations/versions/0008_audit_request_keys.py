"""audit_log.request_key: a caller's id for the request behind an entry, unique, so a retried decision request
adds no second entry

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ALTER TABLE in place on both engines: no copy of the table, which on SQLite would drop its append-only
    # triggers, and no update of existing rows, which they would refuse
    op.add_column('audit_log', sa.Column('request_key', sa.String(length=160), nullable=True))
    op.create_index('ux_audit_log_request_key', 'audit_log', ['request_key'], unique=True)


def downgrade() -> None:
    op.drop_index('ux_audit_log_request_key', table_name='audit_log')
    op.execute('ALTER TABLE audit_log DROP COLUMN request_key')  # SQLite 3.35+ drops in place too
