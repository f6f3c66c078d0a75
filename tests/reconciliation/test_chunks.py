"""Child totals add up to the same figures whatever the page of target keys matched in CID at a
time, a person named by several migrated cases counts once, under the lowest, and an address CID
now files under a person of another page is not missing."""

from __future__ import annotations

import sqlalchemy as sa

from core.db import create_engine
from legacy.schema import ADDRESS, CASE_PERSON, PERSON
from migration.target_schema import CASE
from reconciliation.cases import balance
from reconciliation.compare import Reconciliation
from tests.helpers import AS_OF


def _balance(legacy: str, target: str, page_size: int) -> Reconciliation:
    source, dest = create_engine(legacy), create_engine(target)
    with source.connect() as l_stream, dest.connect() as t_stream, source.connect() as l_read, \
            dest.connect() as t_read:
        return balance(l_stream, t_stream, (l_read, t_read), AS_OF, 14, page_size=page_size)


def _migrated(migrated_copy) -> tuple[str, str, list[int]]:  # type: ignore[no-untyped-def]
    """A small CID migrated whole (this test's copy): its URL, the target's and the migrated
    CASE_IDs, ascending."""
    legacy, target = migrated_copy(300, seed=61, batch_size=100)
    with create_engine(target).connect() as conn:
        migrated = conn.execute(sa.select(CASE.c.legacy_case_id).order_by(CASE.c.legacy_case_id)).scalars().all()
    return legacy, target, list(migrated)


def test_small_pages_count_a_shared_person_once(migrated_copy) -> None:  # type: ignore[no-untyped-def]
    legacy, target, migrated = _migrated(migrated_copy)
    first, last = migrated[0], migrated[-1]
    with create_engine(legacy).begin() as conn:
        # The last migrated case now also names a person of the first: it still counts once.
        shared = conn.execute(sa.select(CASE_PERSON.c.PERSON_ID).where(CASE_PERSON.c.CASE_ID.in_([first]))
                              .order_by(CASE_PERSON.c.PERSON_ID)).scalars().first()
        top = conn.execute(sa.select(sa.func.max(CASE_PERSON.c.CASE_PERSON_ID))).scalar_one()
        conn.execute(CASE_PERSON.insert().values(CASE_PERSON_ID=top + 1, CASE_ID=last, PERSON_ID=shared,
                                                 ROLE_CD="DEP", RELATIONSHIP="OTHER", DELETED_FLG="N"))
        named = conn.execute(sa.select(sa.func.count(sa.distinct(CASE_PERSON.c.PERSON_ID)))
                             .join(PERSON, PERSON.c.PERSON_ID == CASE_PERSON.c.PERSON_ID)
                             .where(CASE_PERSON.c.CASE_ID.in_(migrated))).scalar()
    small, whole = _balance(legacy, target, 7), _balance(legacy, target, 20_000)
    persons = next(e for e in small.entities if e["entity"] == "person")
    assert persons["legacy"] == named  # every person named by a migrated case, once
    assert small.entities == whole.entities and small.waves == whole.waves
    assert small.discrepancies == whole.discrepancies


def test_an_address_moved_to_a_person_of_another_page_is_not_missing(migrated_copy) -> None:  # type: ignore[no-untyped-def]
    legacy, target, migrated = _migrated(migrated_copy)
    with create_engine(legacy).begin() as conn:
        # An address of the lowest person a migrated case names now belongs to the highest one.
        named = sa.select(CASE_PERSON.c.PERSON_ID).where(CASE_PERSON.c.CASE_ID.in_(migrated))
        lowest = conn.execute(sa.select(sa.func.min(ADDRESS.c.PERSON_ID)).where(ADDRESS.c.PERSON_ID.in_(named)))
        highest = conn.execute(sa.select(sa.func.max(PERSON.c.PERSON_ID)).where(PERSON.c.PERSON_ID.in_(named)))
        moved = conn.execute(sa.select(sa.func.min(ADDRESS.c.ADDRESS_ID))
                             .where(ADDRESS.c.PERSON_ID.in_([lowest.scalar()]))).scalar()
        conn.execute(sa.update(ADDRESS).where(ADDRESS.c.ADDRESS_ID.in_([moved])).values(PERSON_ID=highest.scalar()))
    small, whole = _balance(legacy, target, 7), _balance(legacy, target, 20_000)
    addresses = next(e for e in small.entities if e["entity"] == "address")
    assert addresses["balanced"] and addresses["legacy"] == addresses["target"] + addresses["dropped"]
    assert not [d for d in small.discrepancies if d.entity == "address"]
    assert small.entities == whole.entities and small.discrepancies == whole.discrepancies
