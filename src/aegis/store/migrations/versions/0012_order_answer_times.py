"""fund_order.answered_at: when the bank answered an order (executed, rejected, moved on), so that an answer
after the order's deadline is kept and counted as late

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aegis.store.types

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANSWERS = ('executed', 'rejected', 'moved_on')


def upgrade() -> None:
    op.add_column('fund_order', sa.Column('answered_at', aegis.store.types.UtcDateTime(), nullable=True))
    # the orders answered already: the time of the answer's entry in the order's history (the audit log)
    order = sa.table('fund_order', sa.column('order_id', sa.String), sa.column('kind', sa.String),
                     sa.column('answered_at', aegis.store.types.UtcDateTime()))
    audit = sa.table('audit_log', sa.column('at', aegis.store.types.UtcDateTime()), sa.column('action', sa.String),
                     sa.column('subject_type', sa.String), sa.column('subject_id', sa.String))
    answered = (
        sa.select(sa.func.min(audit.c.at))
        .where(audit.c.subject_type == 'fund_order', audit.c.subject_id == order.c.order_id,
               audit.c.action.in_([f'order.{kind}.{state}' for kind in ('stop_payment', 'freeze')
                                   for state in ANSWERS]))
        .scalar_subquery()
    )
    op.get_bind().execute(sa.update(order).values(answered_at=answered))


def downgrade() -> None:
    with op.batch_alter_table('fund_order') as batch:
        batch.drop_column('answered_at')
