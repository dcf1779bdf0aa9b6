"""fund_chase_seed: each loss transfer is followed by one chase, so overlapping chases cannot order the same
money twice

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    seeds = op.create_table(
        'fund_chase_seed',
        sa.Column('event_id', sa.String(length=80), primary_key=True),
        sa.Column('chase_id', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(['chase_id'], ['fund_chase.chase_id'], name='fk_fund_chase_seed_chase'),
    )
    op.create_index('ix_fund_chase_seed_chase', 'fund_chase_seed', ['chase_id'])
    # the chases already stored: each transfer goes to the first chase that followed it
    chase = sa.table('fund_chase', sa.column('chase_id', sa.String), sa.column('seeds', sa.JSON),
                     sa.column('created_at', sa.String))
    rows = op.get_bind().execute(sa.select(chase.c.chase_id, chase.c.seeds)
                                 .order_by(chase.c.created_at, chase.c.chase_id))
    first: dict[str, str] = {}
    for chase_id, chase_seeds in rows:
        for seed in chase_seeds or ():
            first.setdefault(seed['event_id'], chase_id)
    if first:
        op.bulk_insert(seeds, [{'event_id': e, 'chase_id': c} for e, c in first.items()])


def downgrade() -> None:
    op.drop_index('ix_fund_chase_seed_chase', table_name='fund_chase_seed')
    op.drop_table('fund_chase_seed')
