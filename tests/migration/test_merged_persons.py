"""Merged persons follow CID: when the legacy record that stands for a human changes (its case
leaves flight, it is soft-deleted, a duplicate with a lower PERSON_ID appears), the target's
person and addresses become what a fresh run gives."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.db import create_engine
from legacy.schema import CASE_HDR, CASE_PERSON, PERSON
from migration.run import RunConfig
from migration.target_schema import CUTOVER_CASE
from reconciliation import reconcile
from tests.helpers import AS_OF, dump, generate, run_all

pytestmark = pytest.mark.e2e  # migrates a generated CID whole, four times over


def _main_persons(legacy: str, target: str) -> list[tuple[int, int]]:
    """(CASE_ID, main PERSON_ID) of migrated cases whose main person has addresses and is on no
    other case, in key order."""
    with create_engine(target).connect() as conn:
        migrated = set(conn.execute(sa.select(CUTOVER_CASE.c.legacy_case_id)
                                    .where(CUTOVER_CASE.c.state == "migrated")).scalars())
    with create_engine(legacy).connect() as conn:
        shared = set(conn.execute(sa.select(CASE_PERSON.c.PERSON_ID).group_by(CASE_PERSON.c.PERSON_ID)
                                  .having(sa.func.count() > 1)).scalars())
        rows = conn.execute(sa.select(CASE_PERSON.c.CASE_ID, CASE_PERSON.c.PERSON_ID)
                            .where(CASE_PERSON.c.ROLE_CD == "MAIN").order_by(CASE_PERSON.c.CASE_ID)).all()
    return [(c, p) for c, p in rows if c in migrated and p not in shared]


def _set(legacy: str, table: sa.Table, key: str, value: int, **values: object) -> None:
    with create_engine(legacy).begin() as conn:
        conn.execute(sa.update(table).where(table.c[key] == value).values(**values))


def _matches_a_fresh_run(databases, legacy: str, target: str) -> None:  # type: ignore[no-untyped-def]
    run_all(RunConfig(legacy, target, AS_OF))
    fresh = databases.new("fresh")
    run_all(RunConfig(legacy, fresh, AS_OF))
    staged, oracle = dump(target), dump(fresh)
    assert staged["person"] == oracle["person"] and staged["address"] == oracle["address"]
    assert staged == oracle
    assert reconcile(create_engine(legacy), create_engine(target), AS_OF).balanced


def test_the_record_standing_for_a_merged_person_follows_cid(databases) -> None:  # type: ignore[no-untyped-def]
    legacy, target = databases.new("legacy"), databases.new("target")
    generate(legacy, 300, seed=81, scale=0.0)
    run_all(RunConfig(legacy, target, AS_OF))
    (case_a, pid_a), (_, pid_c), (_, pid_b) = sorted(_main_persons(legacy, target)[:3], key=lambda c: c[1])
    with create_engine(legacy).connect() as conn:
        ho_ref = conn.execute(sa.select(PERSON.c.HO_REF).filter_by(PERSON_ID=pid_a)).scalar()
    assert pid_a < pid_c < pid_b
    # B's main applicant is A's, recorded twice: one person, standing as A's (lower) record.
    _set(legacy, PERSON, "PERSON_ID", pid_b, HO_REF=ho_ref, LANGUAGE="Somali")
    _matches_a_fresh_run(databases, legacy, target)

    _set(legacy, CASE_HDR, "CASE_ID", case_a, STATUS_CD="CLSD")  # A's case leaves flight
    _matches_a_fresh_run(databases, legacy, target)

    _set(legacy, PERSON, "PERSON_ID", pid_c, HO_REF=ho_ref)  # a duplicate with a lower PERSON_ID than B's
    _matches_a_fresh_run(databases, legacy, target)

    _set(legacy, PERSON, "PERSON_ID", pid_c, DELETED_FLG="Y")  # the record standing for the human is deleted
    _matches_a_fresh_run(databases, legacy, target)
