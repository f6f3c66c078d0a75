"""row digests without their md5; runs record the lanes their batches were laid out for

A row digest kept an md5 of its field hashes, which said nothing the field hashes do not: the
integrity check now compares the field hashes themselves, and a load no longer computes and
stores one md5 per row (a sixth of the digests' cost). On the way down the md5 is worked out
again from the recorded field hashes, so nothing is re-read.

A run now records `lanes`, the number of batches that run at once, which with its batch size
sets how its wave is cut into batches; a run recorded before (no lanes) is not resumed but
started again, its committed cases skipped as unchanged.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""
import hashlib

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


# Plain ALTER TABLE, also on SQLite (3.35+): rebuilding cutover_run, as Alembic's batch mode
# would, is refused there while cutover_batch refers to it.
def upgrade() -> None:
    op.drop_column('cutover_row_digest', 'row_hash')
    op.add_column('cutover_run', sa.Column('lanes', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('cutover_run', 'lanes')
    with op.batch_alter_table('cutover_row_digest', schema=None) as batch_op:
        batch_op.add_column(sa.Column('row_hash', sa.String(length=32), nullable=True))
    conn = op.get_bind()
    if conn.dialect.name == 'postgresql':
        op.execute("UPDATE cutover_row_digest SET row_hash = md5(field_hashes)")
    else:
        rows = conn.execute(sa.text("SELECT entity, row_key, field_hashes FROM cutover_row_digest")).all()
        if rows:
            conn.execute(sa.text("UPDATE cutover_row_digest SET row_hash = :h WHERE entity = :e AND row_key = :k"),
                         [{"h": hashlib.md5(r.field_hashes.encode()).hexdigest(), "e": r.entity, "k": r.row_key}
                          for r in rows])
    with op.batch_alter_table('cutover_row_digest', schema=None) as batch_op:
        batch_op.alter_column('row_hash', existing_type=sa.String(length=32), nullable=False)
