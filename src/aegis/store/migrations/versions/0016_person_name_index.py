"""an index on person.name: an auditor's view of the audit log looks up the stretches of Chinese characters its
entries write among the residents' names (aegis.usecases.audit.person_names), which without it read the whole
person table for every 900 of them

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_person_name', 'person', ['name'])


def downgrade() -> None:
    op.drop_index('ix_person_name', table_name='person')
