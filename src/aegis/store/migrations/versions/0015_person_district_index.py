"""an index on person.district: a district bureau's user is checked against the districts where residents are
registered (aegis.usecases.places) on every request, which without it read the whole person table

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 11:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_person_district', 'person', ['district'])


def downgrade() -> None:
    op.drop_index('ix_person_district', table_name='person')
