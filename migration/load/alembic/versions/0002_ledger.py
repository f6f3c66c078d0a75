"""the append-only ledger, its checkpoints and stored reports

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

GUARDED = ("cutover_ledger", "cutover_checkpoint")


def upgrade() -> None:
    op.create_table('cutover_ledger',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('leaf_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_cutover_ledger'))
    )
    op.create_table('cutover_ledger_pending',
    sa.Column('run_id', sa.Uuid(), nullable=False),
    sa.Column('batch_no', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('ord', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('run_id', 'batch_no', 'ord', name=op.f('pk_cutover_ledger_pending'))
    )
    op.create_table('cutover_checkpoint',
    sa.Column('checkpoint_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('root', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('key_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('public_key', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('checkpoint_id', name=op.f('pk_cutover_checkpoint'))
    )
    op.create_table('cutover_report',
    sa.Column('report_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('ledger_seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('report_id', name=op.f('pk_cutover_report'))
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # Rejected for everyone; a superuser can switch triggers off, so detection rests on the
        # Merkle tree and the signed checkpoints (audit verify).
        op.execute("""
            CREATE FUNCTION cutover_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'cutover: % on % is not allowed (append-only)', TG_OP, TG_TABLE_NAME; END $$
        """)
        for table in GUARDED:
            op.execute(f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION cutover_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION cutover_append_only()")
            op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM PUBLIC")
    else:
        for table in GUARDED:
            for event in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, 'cutover: {event} on {table} is not allowed (append-only)'); END")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in GUARDED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS cutover_append_only()")
    op.drop_table('cutover_report')
    op.drop_table('cutover_checkpoint')
    op.drop_table('cutover_ledger_pending')
    op.drop_table('cutover_ledger')
