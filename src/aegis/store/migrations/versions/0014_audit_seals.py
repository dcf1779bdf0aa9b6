"""audit_seal: a hash chain over the audit log's entries (aegis.store.audit_seal), append-only as the log is

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aegis.store.types

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "audit_seal is append-only"


def upgrade() -> None:
    op.create_table(
        'audit_seal',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('sealed_at', aegis.store.types.UtcDateTime(), nullable=False),
        sa.Column('sealed_by', sa.String(length=160), nullable=False),
        sa.Column('after_id', sa.BigInteger(), nullable=False),
        sa.Column('last_id', sa.BigInteger(), nullable=False),
        sa.Column('entries', sa.BigInteger(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_seal')),
    )
    op.create_index('ux_audit_seal_after_id', 'audit_seal', ['after_id'], unique=True)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION aegis_audit_seal_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}';
            END;
            $$ LANGUAGE plpgsql
        """)
        op.execute("""CREATE TRIGGER audit_seal_append_only BEFORE UPDATE OR DELETE ON audit_seal
                      FOR EACH ROW EXECUTE FUNCTION aegis_audit_seal_append_only()""")
        op.execute("""CREATE TRIGGER audit_seal_no_truncate BEFORE TRUNCATE ON audit_seal
                      FOR EACH STATEMENT EXECUTE FUNCTION aegis_audit_seal_append_only()""")
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(f"""CREATE TRIGGER audit_seal_no_{verb.lower()} BEFORE {verb} ON audit_seal
                       BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_seal_no_truncate ON audit_seal")
        op.execute("DROP TRIGGER audit_seal_append_only ON audit_seal")
        op.execute("DROP FUNCTION aegis_audit_seal_append_only()")
    else:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER audit_seal_no_{verb}")
    op.drop_index('ux_audit_seal_after_id', table_name='audit_seal')
    op.drop_table('audit_seal')
