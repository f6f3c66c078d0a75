"""Planning reads only CID's code tables; a run's plan uses the reference it already read."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from core.db import create_engine
from legacy.schema import CASE_HDR
from legacy.schema import PERSON as LEGACY_PERSON
from migration.extract.reference import read_reference
from migration.parsers import normalise_ref
from migration.plan import classify_cases, split_batches
from migration.plan.record import MIN_SPLIT
from migration.run import RunConfig, prepare
from migration.target_schema import CUTOVER_PLAN
from migration.transform.keys import normalised_ho_ref
from tests.conftest import Databases
from tests.helpers import AS_OF, generate


def test_the_plan_needs_only_the_code_tables_and_a_run_records_the_same_plan(tmp_path: Path) -> None:
    legacy = f"sqlite:///{tmp_path / 'l.db'}"
    generate(legacy, 400, seed=5)
    with create_engine(legacy).connect() as conn:
        full, codes = read_reference(conn), read_reference(conn, cross_case=False)
        assert full.duplicate_ho_refs  # the generator shares Home Office refs between persons
        assert (codes.duplicate_ho_refs, codes.colliding_refs) == (frozenset(), frozenset())
        assert (codes.statuses, codes.nationalities, codes.unit_regions) == (
            full.statuses, full.nationalities, full.unit_regions)
        alone = {(c.case_id, getattr(c, "wave", None), getattr(c, "reason", None))
                 for c in classify_cases(conn, AS_OF)}
    for name, cross_case in (("t.db", False), ("t2.db", True)):
        target = f"sqlite:///{tmp_path / name}"
        reference, _ = prepare(RunConfig(legacy, target, AS_OF), cross_case=cross_case)
        assert reference == (full if cross_case else codes)  # the run's own batches read their own
        with create_engine(target).connect() as conn:
            recorded = set(conn.execute(sa.select(CUTOVER_PLAN.c.legacy_case_id, CUTOVER_PLAN.c.wave)).all())
        assert recorded == {(case_id, wave) for case_id, wave, _ in alone if wave is not None}
        assert len(recorded) < len(alone)  # some cases are excluded, and those are not planned


@given(total=st.integers(0, 5000), batch_size=st.integers(1, 3000), lanes=st.integers(1, 8))
def test_batches_are_even_key_ranges_that_fill_the_lanes(total: int, batch_size: int, lanes: int) -> None:
    ids = list(range(10, 10 + 3 * total, 3))
    batches = split_batches(ids, batch_size, lanes)
    assert [i for b in batches for i in b] == ids  # every case once, in key order
    sizes = [len(b) for b in batches]
    assert all(0 < s <= batch_size for s in sizes) and (max(sizes) - min(sizes) <= 1 if sizes else total == 0)
    fewest = -(-total // batch_size)
    if total // (-(-fewest // lanes) * lanes or 1) >= MIN_SPLIT:
        assert len(batches) % lanes == 0 and len(batches) < fewest + lanes  # lanes filled, no more than needed
    else:
        assert len(batches) == fewest  # too few cases to share out: no batch smaller than it must be


def test_a_wave_of_one_full_batch_is_cut_in_two_for_two_lanes() -> None:
    ids = list(range(3482))
    assert [len(b) for b in split_batches(ids, 4000)] == [3482]
    assert [len(b) for b in split_batches(ids, 4000, lanes=2)] == [1741, 1741]
    assert [len(b) for b in split_batches(list(range(5907)), 4000, lanes=2)] == [2953, 2954]
    assert [len(b) for b in split_batches(list(range(300)), 4000, lanes=2)] == [300]  # not below MIN_SPLIT


def test_references_held_twice_are_found_as_the_batches_read_them(databases: Databases) -> None:
    legacy = databases.new("legacy")
    generate(legacy, 30, seed=5, scale=0.0)
    with create_engine(legacy).begin() as conn:
        people = conn.execute(sa.select(LEGACY_PERSON.c.PERSON_ID).order_by(LEGACY_PERSON.c.PERSON_ID)).scalars().all()
        cases = conn.execute(sa.select(CASE_HDR.c.CASE_ID).order_by(CASE_HDR.c.CASE_ID)).scalars().all()
        refs = {people[0]: "zz 900\t001", people[1]: "ZZ900\u00a0001", people[2]: "zz9 00 002", people[3]: "ZZ900003"}
        for pid, ref in refs.items():
            conn.execute(sa.update(LEGACY_PERSON).where(pid == LEGACY_PERSON.c.PERSON_ID).values(HO_REF=ref))
        for cid, ref in ((cases[0], "CID/2025/\t7001"), (cases[1], "cid/2025/7001 ")):
            conn.execute(sa.update(CASE_HDR).where(cid == CASE_HDR.c.CASE_ID).values(CASE_REF=ref))
        reference = read_reference(conn)
    assert {normalised_ho_ref(r) for r in refs.values()} == {"ZZ900001", "ZZ900002", "ZZ900003"}
    assert "ZZ900001" in reference.duplicate_ho_refs
    assert not {"ZZ900002", "ZZ900003"} & reference.duplicate_ho_refs
    assert normalise_ref("CID/2025/\t7001") in reference.colliding_refs
