"""indexes on the legacy keys of persons and addresses

Reconciliation asks, a chunk of keys at a time, which persons and addresses stand in the target;
without these indexes each chunk scans the whole table (quadratic at a million cases).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index('ix_person_legacy_person_id', ['legacy_person_id'], unique=False)
    with op.batch_alter_table('address', schema=None) as batch_op:
        batch_op.create_index('ix_address_legacy_address_id', ['legacy_address_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('address', schema=None) as batch_op:
        batch_op.drop_index('ix_address_legacy_address_id')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index('ix_person_legacy_person_id')
