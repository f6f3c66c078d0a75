"""row digests packed per bucket of range keys; only persons keep a digest row each

The digests of every business table but `person` move from one row per business row into
`cutover_digest_bucket`: per table and bucket of 256 consecutive range keys, parts (one per load
that wrote rows into the bucket), each holding its row count, the sum of its row totals and each
row's `range_key,row_key,field_hashes` joined by `;`. The digests already recorded become one part
per bucket, so nothing is re-read; on the way down every part is unpacked into rows again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""
import uuid

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

WIDTH = 256
MASK28 = 0xFFFFFFF


def upgrade() -> None:
    op.create_table('cutover_digest_bucket',
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('bucket', sa.BigInteger(), nullable=False),
    sa.Column('part', sa.Uuid(), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('pack', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('entity', 'bucket', 'part', name=op.f('pk_cutover_digest_bucket'))
    )
    bind = op.get_bind()
    # One part per bucket, all under one key: the key of the part that holds what was recorded before.
    part = uuid.uuid5(uuid.NAMESPACE_URL, 'cutover/digest-part/0009')
    part_text = f"'{part}'" if bind.dialect.name == 'postgresql' else f"'{part.hex}'"
    joined = ("string_agg(entry, ';' ORDER BY range_key, row_key)" if bind.dialect.name == 'postgresql'
              else "group_concat(entry, ';')")
    op.execute(
        "INSERT INTO cutover_digest_bucket (entity, bucket, part, row_count, total, pack) "
        f"SELECT entity, range_key / {WIDTH}, {part_text}, count(*), sum(row_h28), {joined} FROM ("
        "  SELECT entity, range_key, row_key, row_h28,"
        "         CAST(range_key AS TEXT) || ',' || CAST(row_key AS TEXT) || ',' || field_hashes AS entry"
        "  FROM cutover_row_digest WHERE entity <> 'person' ORDER BY entity, range_key, row_key) AS rows "
        f"GROUP BY entity, range_key / {WIDTH}")
    op.execute("DELETE FROM cutover_row_digest WHERE entity <> 'person'")


def downgrade() -> None:
    conn = op.get_bind()
    digests = sa.table('cutover_row_digest', sa.column('entity', sa.String), sa.column('row_key', sa.Uuid),
                       sa.column('range_key', sa.Integer), sa.column('field_hashes', sa.Text),
                       sa.column('row_h28', sa.BigInteger))
    for entity, pack in conn.execute(sa.text("SELECT entity, pack FROM cutover_digest_bucket WHERE row_count > 0")).all():
        rows = []
        for entry in pack.split(';') if pack else []:
            range_key, row_key, fields = entry.split(',', 2)
            values = [int(fields[i:i + 8], 16) for i in range(0, len(fields), 8)]
            rows.append({"entity": entity, "row_key": uuid.UUID(row_key), "range_key": int(range_key),
                         "field_hashes": fields,
                         "row_h28": sum(v * (2 * n + 1) for n, v in enumerate(values)) & MASK28})
        if rows:
            conn.execute(digests.insert(), rows)
    op.drop_table('cutover_digest_bucket')

