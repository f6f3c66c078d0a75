"""the append-only triggers fire in every session, replica mode included; appointment's
references to person and to the appointment it was rebooked from are indexed

A loading session may set session_replication_role = replica to skip the per-row foreign-key
triggers of the business tables while it writes new rows; that setting silences every trigger
left at the default (ENABLE), so the record's guards are set to fire always. Removing a person
or an appointment checks that no appointment refers to it: without these indexes each removed
row scanned the whole appointment table.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

GUARDED = ("cutover_ledger", "cutover_checkpoint", "cutover_log")


def upgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.create_index('ix_appointment_person_id', ['person_id'], unique=False)
        batch_op.create_index('ix_appointment_rebooked_from_id', ['rebooked_from_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for table in GUARDED:
            for trigger in (f"{table}_no_change", f"{table}_no_truncate"):
                op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {trigger}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in GUARDED:
            for trigger in (f"{table}_no_change", f"{table}_no_truncate"):
                op.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_rebooked_from_id')
        batch_op.drop_index('ix_appointment_person_id')
