"""the log's identity (origin), created with the target and kept in it, append-only like the ledger

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cutover_log',
    sa.Column('origin', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('origin', name=op.f('pk_cutover_log'))
    )
    if op.get_bind().dialect.name == "postgresql":
        # cutover_append_only() is the function revision 0002 made for the ledger's own triggers.
        op.execute("CREATE TRIGGER cutover_log_no_change BEFORE UPDATE OR DELETE ON cutover_log "
                   "FOR EACH ROW EXECUTE FUNCTION cutover_append_only()")
        op.execute("CREATE TRIGGER cutover_log_no_truncate BEFORE TRUNCATE ON cutover_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION cutover_append_only()")
        op.execute("REVOKE UPDATE, DELETE, TRUNCATE ON cutover_log FROM PUBLIC")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER cutover_log_no_{event.lower()} BEFORE {event} ON cutover_log "
                       f"BEGIN SELECT RAISE(ABORT, 'cutover: {event} on cutover_log is not allowed (append-only)'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS cutover_log_no_change ON cutover_log")
        op.execute("DROP TRIGGER IF EXISTS cutover_log_no_truncate ON cutover_log")
    op.drop_table('cutover_log')
