"""decision_reply: the answer given to each decision request with the caller's own id, so a retry gets the same

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aegis.store.types

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'decision_reply',
        sa.Column('request_key', sa.String(length=160), nullable=False),
        sa.Column('at', aegis.store.types.UtcDateTime(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('fraud_type', sa.String(length=64), nullable=True),
        sa.Column('reasons', sa.JSON(), nullable=False),
        sa.Column('policy_version', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('request_key', name=op.f('pk_decision_reply')),
    )
    op.create_index('ix_decision_reply_at', 'decision_reply', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_decision_reply_at', table_name='decision_reply')
    op.drop_table('decision_reply')
