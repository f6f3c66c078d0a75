"""keys whose name leads with a legacy row id sort as that id (UUIDv8)

The transform's keys change (migration/transform/keys.py): a row keyed by a legacy row id gets a
UUIDv8 that begins with the id's digits, so a batch's rows land side by side in each index. No
table changes. A target whose cases are keyed by uuid5 would have a re-run write their rows again
under the new keys beside the old: re-keying a target (its rows, the digests recorded of them, the
ledger that names them) is not built, so such a target is refused and left as it is; migrate into
an empty target. Going down leaves the keys as they are.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""
import uuid

import sqlalchemy as sa
from alembic import op

from core.errors import DatabaseError

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    cases = sa.table("case", sa.column("case_id", sa.Uuid))
    held = op.get_bind().execute(sa.select(cases.c.case_id).limit(1)).scalar()
    if held is not None and uuid.UUID(str(held)).version == 5:
        raise DatabaseError("the target holds cases keyed by uuid5, and this release keys them by UUIDv8: "
                            "re-keying a target is not built; migrate into an empty target")


def downgrade() -> None:
    pass
