"""re-issued orders: an attempt number per chase, account, kind and sequence number, so an order a bank rejected
can be issued again (with the paper it lacked) beside the rejected one, which stays as it was answered

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch mode: SQLite cannot alter constraints in place, so Alembic copies the table there
    with op.batch_alter_table('fund_order') as batch:
        batch.add_column(sa.Column('attempt', sa.Integer(), server_default='0', nullable=False))
        batch.drop_constraint('uq_fund_order_chase_account_kind_seq', type_='unique')
        batch.create_unique_constraint('uq_fund_order_chase_account_kind_seq_attempt',
                                       ['chase_id', 'account', 'kind', 'seq', 'attempt'])


def downgrade() -> None:
    with op.batch_alter_table('fund_order') as batch:
        batch.drop_constraint('uq_fund_order_chase_account_kind_seq_attempt', type_='unique')
        batch.create_unique_constraint('uq_fund_order_chase_account_kind_seq', ['chase_id', 'account', 'kind', 'seq'])
        batch.drop_column('attempt')
