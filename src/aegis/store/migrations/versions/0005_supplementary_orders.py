"""supplementary orders: a sequence number per chase, account and kind

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch mode: SQLite cannot alter constraints in place, so Alembic copies the table there
    with op.batch_alter_table('fund_order') as batch:
        batch.add_column(sa.Column('seq', sa.Integer(), server_default='0', nullable=False))
        batch.drop_constraint('uq_fund_order_chase_account_kind', type_='unique')
        batch.create_unique_constraint('uq_fund_order_chase_account_kind_seq', ['chase_id', 'account', 'kind', 'seq'])


def downgrade() -> None:
    with op.batch_alter_table('fund_order') as batch:
        batch.drop_constraint('uq_fund_order_chase_account_kind_seq', type_='unique')
        batch.create_unique_constraint('uq_fund_order_chase_account_kind', ['chase_id', 'account', 'kind'])
        batch.drop_column('seq')
