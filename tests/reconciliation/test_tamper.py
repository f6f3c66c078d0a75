"""Reconciliation finds what was done to the target after loading, down to the field, and its
narrowing reads rows in proportion to the difference, not to the table."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from core.db import create_engine
from migration.target_schema import CASE, DECISION, PERSON
from reconciliation import reconcile
from reconciliation.integrity import IntegrityStats, check_integrity
from tests.helpers import AS_OF


@pytest.fixture
def migrated(migrated_copy):  # type: ignore[no-untyped-def]
    """A 600-case CID migrated whole and balanced (a copy of one built once per session)."""
    return migrated_copy(600, seed=51, batch_size=150)


def _kinds(legacy: str, target: str) -> list[tuple[str, str, str | None]]:
    result = reconcile(create_engine(legacy), create_engine(target), AS_OF)
    assert not result.balanced
    return sorted((d.kind, d.entity, d.field) for d in result.discrepancies)


def test_a_changed_field_is_named(migrated) -> None:  # type: ignore[no-untyped-def]
    legacy, target = migrated
    with create_engine(target).begin() as conn:
        victim = conn.execute(sa.select(PERSON.c.person_id).limit(1)).scalar()
        conn.execute(sa.update(PERSON).where(PERSON.c.person_id == victim).values(nationality="DEU"))
        case, priority = conn.execute(sa.select(CASE.c.case_id, CASE.c.priority)
                                      .where(CASE.c.owning_unit != "GLASGOW").limit(1)).one()
        conn.execute(sa.update(CASE).where(CASE.c.case_id == case).values(owning_unit="GLASGOW",
                                                                          priority=not priority))
    found = _kinds(legacy, target)
    # priority is read from CID anew too: found by digest and against CID, it is one discrepancy
    assert found == [("field_mismatch", "case", "owning_unit"), ("field_mismatch", "case", "priority"),
                     ("field_mismatch", "person", "nationality")]


def test_an_inserted_row_is_unexpected(migrated) -> None:  # type: ignore[no-untyped-def]
    legacy, target = migrated
    with create_engine(target).begin() as conn:
        case_id, legacy_case_id = conn.execute(sa.select(CASE.c.case_id, CASE.c.legacy_case_id).limit(1)).one()
        conn.execute(DECISION.insert().values(decision_id=uuid.uuid4(), case_id=case_id, outcome="grant",
                                              decided_on=AS_OF, appeal_lodged=False, legacy_decision_id=99999999))
    found = _kinds(legacy, target)
    # found by the balance against CID and by the integrity check: one discrepancy
    assert found.count(("unexpected_in_target", "decision", None)) == 1


def test_narrowing_reads_in_proportion_to_the_difference(migrated) -> None:  # type: ignore[no-untyped-def]
    _, target = migrated
    engine = create_engine(target)
    with engine.begin() as conn:
        total = sum(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() or 0 for t in (PERSON, CASE))
        ids = conn.execute(sa.select(PERSON.c.person_id).order_by(PERSON.c.legacy_person_id).limit(3)).scalars().all()
        conn.execute(sa.update(PERSON).where(PERSON.c.person_id.in_(ids)).values(language="Esperanto"))
    stats = IntegrityStats()
    with engine.connect() as conn:
        found = check_integrity(conn, stats)
    assert sorted({(d.entity, d.field) for d in found}) == [("person", "language")] and len(found) == 3
    assert stats.per_entity["case"] == 0  # equal totals: not one case row read
    assert 0 < stats.per_entity["person"] <= 2 * 64 * 3 < total


def test_a_person_and_an_address_gone_from_the_target_are_named(migrated) -> None:  # type: ignore[no-untyped-def]
    from migration.target_schema import ADDRESS, CASE_PARTY

    legacy, target = migrated
    with create_engine(target).begin() as conn:
        gone_address = conn.execute(sa.select(ADDRESS.c.address_id, ADDRESS.c.legacy_address_id).limit(1)).one()
        conn.execute(sa.delete(ADDRESS).where(ADDRESS.c.address_id == gone_address[0]))
        # a person with no address, so only the person and its parties go
        person_id, legacy_person_id = conn.execute(
            sa.select(PERSON.c.person_id, PERSON.c.legacy_person_id)
            .where(~PERSON.c.person_id.in_(sa.select(ADDRESS.c.person_id))).limit(1)).one()
        parties = conn.execute(sa.select(CASE_PARTY.c.legacy_case_person_id)
                               .where(CASE_PARTY.c.person_id == person_id)).scalars().all()
        conn.execute(sa.delete(CASE_PARTY).where(CASE_PARTY.c.person_id == person_id))
        conn.execute(sa.delete(PERSON).where(PERSON.c.person_id == person_id))
    result = reconcile(create_engine(legacy), create_engine(target), AS_OF)
    missing = sorted((d.entity, d.legacy_key) for d in result.discrepancies if d.kind == "child_row_missing")
    assert missing == sorted([("address", gone_address[1]), ("person", legacy_person_id),
                              *(("case_party", p) for p in parties)])
    # each gone row is one discrepancy, though the integrity check finds it gone too
    assert not [d for d in result.discrepancies if d.kind == "missing_in_target"]
    persons = next(e for e in result.entities if e["entity"] == "person")
    addresses = next(e for e in result.entities if e["entity"] == "address")
    assert not persons["balanced"] and not addresses["balanced"]
    assert persons["legacy"] - persons["target"] - persons["dropped"] - persons["merged"] == 1
    assert addresses["legacy"] - addresses["target"] - addresses["dropped"] == 1


def test_recorded_totals_follow_the_field_hashes_and_survive_the_round_trip_to_0004(migrated) -> None:  # type: ignore[no-untyped-def]
    """The database's integer totals (per person row, per bucket) are the ones worked out from the
    field hashes (what revision 0005 relies on to rewrite the totals recorded before it); down to
    0004, where every row has its digest row again with its md5 (0006 dropped it) and the
    md5-based total, and up again to the same packed buckets."""
    import hashlib
    from collections import Counter

    from alembic import command

    from migration.load.digests import DIGEST_BUCKET_WIDTH
    from migration.load.schema import alembic_config
    from migration.sqlhash import row_h28_of
    from migration.target_schema import BUSINESS_TABLES, CUTOVER_DIGEST_BUCKET
    from tests.helpers import recorded_digests

    legacy, target = migrated
    engine = create_engine(target)

    def at_head() -> tuple[set[tuple], set[tuple]]:
        with engine.connect() as conn:
            entries = {(t.name, *d) for t in BUSINESS_TABLES for d in recorded_digests(conn, t.name)}
            parts = CUTOVER_DIGEST_BUCKET
            buckets = {tuple(r) for r in conn.execute(
                sa.select(parts.c.entity, parts.c.bucket, sa.func.sum(parts.c.row_count), sa.func.sum(parts.c.total))
                .group_by(parts.c.entity, parts.c.bucket).having(sa.func.sum(parts.c.row_count) > 0))}
        return entries, buckets

    entries, buckets = at_head()
    assert len(entries) > 1000 and len(buckets) < len(entries) / 8
    counts: Counter[tuple[str, int]] = Counter()
    totals: Counter[tuple[str, int]] = Counter()
    for entity, _, range_key, fields in entries:
        if entity != PERSON.name:
            counts[(entity, range_key // DIGEST_BUCKET_WIDTH)] += 1
            totals[(entity, range_key // DIGEST_BUCKET_WIDTH)] += row_h28_of(fields)
    assert buckets == {(e, b, counts[(e, b)], totals[(e, b)]) for e, b in counts}

    def to(revision: str) -> None:
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            (command.downgrade if revision == "0004" else command.upgrade)(cfg, revision)

    to("0004")  # a digest row each, with the md5 and the md5-based totals recorded before 0005
    with engine.connect() as conn:
        old = conn.exec_driver_sql("SELECT entity, row_key, range_key, field_hashes, row_hash, row_h28 "
                                   "FROM cutover_row_digest").all()
    assert {(e, str(k if isinstance(k, uuid.UUID) else uuid.UUID(k)), r, f) for e, k, r, f, _, _ in old} == entries
    assert all(row_hash == hashlib.md5(fields.encode()).hexdigest() and total == int(row_hash[:7], 16)
               for *_, fields, row_hash, total in old)
    to("head")
    assert at_head() == (entries, buckets)  # the parts of a bucket become one
    assert reconcile(create_engine(legacy), engine, AS_OF).balanced
