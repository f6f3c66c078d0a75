"""each migrated case's reading of the legacy persons on it

A merged human's person row is the reading with the lowest PERSON_ID among the migrated cases
that name one of its legacy records. Keeping every case's reading lets the person row be worked
out again when that record's case leaves flight, or the record is deleted or merged anew.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cutover_person_source',
    sa.Column('legacy_case_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('legacy_person_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('surname', sa.String(length=100), nullable=True),
    sa.Column('forenames', sa.String(length=100), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('birth_date_precision', sa.String(length=32), nullable=False),
    sa.Column('nationality', sa.String(length=3), nullable=False),
    sa.Column('gender', sa.String(length=32), nullable=False),
    sa.Column('home_office_ref', sa.String(length=20), nullable=True),
    sa.Column('port_ref', sa.String(length=20), nullable=True),
    sa.Column('language', sa.String(length=40), nullable=True),
    sa.Column('interpreter_needed', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('legacy_case_id', 'legacy_person_id', name=op.f('pk_cutover_person_source'))
    )
    with op.batch_alter_table('cutover_person_source', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cutover_person_source_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cutover_person_source', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cutover_person_source_person_id'))
    op.drop_table('cutover_person_source')
