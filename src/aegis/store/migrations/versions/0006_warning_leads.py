"""warning leads: the leads behind each warning, with the features the model saw

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aegis.store.types


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('warning_lead',
    sa.Column('warning_id', sa.String(length=40), nullable=False),
    sa.Column('lead_id', sa.String(length=80), nullable=False),
    sa.Column('time', aegis.store.types.UtcDateTime(), nullable=False),
    sa.Column('probability', sa.Float(), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('features', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('warning_id', 'lead_id')
    )


def downgrade() -> None:
    op.drop_table('warning_lead')
