"""row totals from the field hashes by integer arithmetic

Reconciliation sums every loaded row's 28-bit total per key range; the total was the first
28 bits of an md5 over the row's field hashes. It is now the field hashes weighted by position,
computed with integers only (a third of reconciliation's integrity check). The recorded totals
are worked out again from the recorded field hashes, so nothing is re-read.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

DIGITS, MASK28 = 8, 0xFFFFFFF


def _weighted(field_hashes: str) -> int:
    values = [int(field_hashes[i:i + DIGITS], 16) for i in range(0, len(field_hashes), DIGITS)]
    return sum(v * (2 * n + 1) for n, v in enumerate(values)) & MASK28


def _rewrite(compute) -> None:  # type: ignore[no-untyped-def]
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT entity, row_key, field_hashes, row_hash FROM cutover_row_digest")).all()
    if not rows:
        return
    conn.execute(sa.text("UPDATE cutover_row_digest SET row_h28 = :total WHERE entity = :entity AND row_key = :key"),
                 [{"total": compute(r), "entity": r.entity, "key": r.row_key} for r in rows])


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            UPDATE cutover_row_digest SET row_h28 = (
                SELECT sum(('x' || substr(field_hashes, {DIGITS} * i + 1, {DIGITS}))::bit(32)::bigint * (2 * i + 1))
                FROM generate_series(0, length(field_hashes) / {DIGITS} - 1) AS i)::bigint & {MASK28}""")
    else:
        _rewrite(lambda r: _weighted(r.field_hashes))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE cutover_row_digest SET row_h28 = ('x' || substr(row_hash, 1, 7))::bit(28)::int")
    else:
        _rewrite(lambda r: int(r.row_hash[:7], 16))
