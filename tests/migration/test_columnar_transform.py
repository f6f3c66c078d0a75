"""The transform's frames: every table in the contract's shape, findings and rows of a case
following its quarantine, a target fingerprint that sees values and not row order, a batch's
frames cut and joined by case, and the child tables' contract (`child_frames`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from core.db import create_engine
from legacy.schema import CASE_HDR
from migration.extract import read_reference
from migration.extract.batch import LegacyBatch, extract_batch
from migration.load.rejects import part_of, refuse_cases
from migration.rules import current_rules
from migration.transform import TransformResult, transform_batch
from migration.transform.batch import row_texts, target_fingerprints
from migration.transform.child_rows import child_frames
from migration.transform.findings import FINDINGS_SCHEMA
from migration.transform.frames import CASE_COLUMN, TABLE_NAMES, frame_of, frame_schema
from migration.transform.keys import key
from tests.conftest import Databases
from tests.helpers import generate
from tests.migration.test_golden import AS_OF, REFERENCE, legacy_cases, load_batch

GOLDEN = Path(__file__).parent / "golden"


def _batch(*names: str) -> LegacyBatch:
    """The cases of these golden files as one batch."""
    return load_batch([c for n in names for c in legacy_cases(json.loads((GOLDEN / f"{n}.json").read_text()))])


def test_every_table_is_a_frame_of_the_contract_shape_even_when_empty() -> None:
    result = transform_batch(_batch("asylum_dst_rebooked", "two_mains_quarantined"), REFERENCE, AS_OF)
    assert set(result.rows) == set(TABLE_NAMES)
    for table, frame in result.rows.items():
        assert frame.schema == frame_schema(table), table
    assert result.person_records.schema == frame_schema("person")
    states = {o.legacy_case_id: o.state for o in result.outcomes}
    assert sorted(states.values()) == ["migrated", "quarantined"]
    quarantined = next(cid for cid, state in states.items() if state == "quarantined")
    migrated = next(cid for cid, state in states.items() if state == "migrated")
    assert all(quarantined not in frame[CASE_COLUMN].to_list() for frame in result.rows.values())
    assert result.rows["case"][CASE_COLUMN].to_list() == [migrated]
    assert quarantined in result.person_records[CASE_COLUMN].to_list()  # every case's reading is kept


def test_only_and_refuse_work_on_frames() -> None:
    result = transform_batch(_batch("asylum_dst_rebooked", "control_chars"), REFERENCE, AS_OF)
    first, second = (o.legacy_case_id for o in result.outcomes)
    alone = result.only({first})
    assert all(set(frame[CASE_COLUMN].to_list()) <= {first} for frame in alone.rows.values())
    assert [o.legacy_case_id for o in alone.outcomes] == [first]
    result.refuse({second: ("case_note", "author")})
    assert all(second not in frame[CASE_COLUMN].to_list() for frame in result.rows.values())
    assert result.quarantined == 1 and result.findings[-1].rule == "load.rejected"


def test_the_target_fingerprint_sees_every_value_and_no_row_order() -> None:
    result = transform_batch(_batch("asylum_dst_rebooked"), REFERENCE, AS_OF)
    (outcome,) = result.outcomes
    prints = target_fingerprints(result.rows)
    assert prints == {outcome.legacy_case_id: outcome.target_fingerprint}
    reversed_rows = {t: frame.reverse() for t, frame in result.rows.items()}
    assert target_fingerprints(reversed_rows) == prints
    changed = dict(result.rows, appointment=result.rows["appointment"].with_columns(
        pl.col("venue").str.to_lowercase()))
    assert target_fingerprints(changed) != prints


def test_the_target_fingerprint_is_sha256_of_the_sorted_row_texts_in_utf8() -> None:
    result = transform_batch(_batch("asylum_dst_rebooked", "control_chars"), REFERENCE, AS_OF)
    rows = dict(result.rows, appointment=result.rows["appointment"].with_columns(pl.lit("Zoë 東京 🙂").alias("venue")))
    texts: dict[int, list[str]] = {}
    for table, frame in rows.items():
        for case_id, text in row_texts(table, frame).iter_rows():
            texts.setdefault(case_id, []).append(text)
    assert len(texts) == 2 and any(not t.isascii() for case in texts.values() for t in case)
    expected = {case_id: hashlib.sha256("\n".join(sorted(case)).encode()).hexdigest()
                for case_id, case in texts.items()}
    assert target_fingerprints(rows) == expected


def test_a_null_and_a_text_that_looks_like_one_read_differently() -> None:
    rows = [{"task_id": key("task", n), "case_id": key("case", n), "unit_code": unit, "kind": "review_case",
             "priority_band": "standard", "priority_rank": 1, CASE_COLUMN: n} for n, unit in ((1, None), (2, "-"))]
    first, second = row_texts("task", frame_of("task", rows))["text"].to_list()
    assert first.split("|")[3] == "-" and second.split("|")[3] == "1:-"
    # Keys and numbers, which hold no `|`, stand as they are; free text carries its length in bytes.
    assert first.split("|")[1:3] == [str(key("task", 1)), str(key("case", 1))]
    assert first.split("|")[-1] == "1"


def test_a_bar_inside_free_text_cannot_stand_for_a_field_boundary() -> None:
    rows = [{"task_id": key("task", 1), "case_id": key("case", 1), "unit_code": unit, "kind": kind,
             "priority_band": "standard", "priority_rank": 1, CASE_COLUMN: 1}
            for unit, kind in (("U1|review_case", "review_case"), ("U1", "review_case|review_case"))]
    first, second = row_texts("task", frame_of("task", rows))["text"].to_list()
    assert first != second and "|14:U1|review_case|" in first and "|2:U1|" in second


def test_a_batch_cut_and_joined_by_case_keeps_each_cases_rows_and_persons() -> None:
    both = _batch("asylum_dst_rebooked", "control_chars")
    first, second = both.case_ids
    alone = both.only([first])
    assert alone.case_ids == [first]
    named = set(alone["CASE_PERSON"]["PERSON_ID"].to_list())
    assert set(alone["PERSON"]["PERSON_ID"].to_list()) == named
    assert set(alone["ADDRESS"]["PERSON_ID"].to_list()) <= named
    joined = LegacyBatch.joined([both.only([second]), alone])
    for table, frame in both.tables.items():
        assert joined[table].equals(frame), table


def test_child_frames_give_the_five_tables_for_every_case_of_the_parties() -> None:
    batch = _batch("asylum_dst_rebooked", "notes_loop_and_deleted")
    with_party, without = batch.case_ids
    parties = pl.DataFrame({"CASE_ID": [with_party, without], "case_id": [str(key("case", c)) for c in batch.case_ids],
                            "PERSON_ID": [808, None], "person_id": [str(key("person", "id", 808)), None]},
                           schema={"CASE_ID": pl.Int64, "case_id": pl.String, "PERSON_ID": pl.Int64,
                                   "person_id": pl.String})
    frames, findings = child_frames(batch.tables, parties, AS_OF, current_rules())
    assert set(frames) == {"appointment", "case_note", "decision", "vulnerability", "resettlement_referral"}
    for table, frame in frames.items():
        assert frame.schema == frame_schema(table)
    appointments = frames["appointment"].filter(pl.col(CASE_COLUMN) == with_party)
    assert appointments.height == 2 and appointments["person_id"].to_list() == [str(key("person", "id", 808))] * 2
    assert frames["case_note"].filter(pl.col(CASE_COLUMN) == without).height > 0
    assert findings.schema == FINDINGS_SCHEMA and findings.height > 0
    assert set(findings["legacy_case_id"].to_list()) <= set(batch.case_ids)


def test_as_of_decides_the_received_date_findings() -> None:
    batch = _batch("asylum_dst_rebooked")
    before = transform_batch(batch, REFERENCE, dt.date(2024, 3, 1))
    assert [f.rule for f in before.findings if f.entity == "case"] == ["case.received_impossible"]
    assert before.quarantined == 1


def test_a_batch_with_no_case_gives_every_table_empty() -> None:
    for empty in (LegacyBatch(), _batch("asylum_dst_rebooked").only([])):
        result = transform_batch(empty, REFERENCE, AS_OF)
        assert result.outcomes == [] and result.findings == [] and result.person_records.is_empty()
        assert all(frame.is_empty() and frame.schema == frame_schema(t) for t, frame in result.rows.items())


def test_a_cases_rows_and_findings_do_not_depend_on_its_batch(databases: Databases) -> None:
    """Transformed in one batch or each alone, every case gives the same rows and findings (the
    person table aside: it keeps one reading per human across the batch)."""
    url = databases.new("cid")
    generate(url, 24, seed=23, scale=3.0)
    engine = create_engine(url)
    with engine.connect() as conn:
        reference = read_reference(conn)
        batch = extract_batch(conn, sorted(conn.execute(sa.select(CASE_HDR.c.CASE_ID)).scalars()))
    engine.dispose()
    together = transform_batch(batch, reference, AS_OF)
    alone = [transform_batch(batch.only([cid]), reference, AS_OF) for cid in batch.case_ids]
    assert [o for r in alone for o in r.outcomes] == together.outcomes
    assert Counter(f for r in alone for f in r.findings) == Counter(together.findings)
    assert 0 < together.migrated < len(batch.case_ids)
    for table in TABLE_NAMES:
        if table != "person":
            assert pl.concat([r.rows[table] for r in alone]).sort(pl.all()).equals(
                together.rows[table].sort(pl.all())), table
    assert pl.concat([r.person_records for r in alone]).sort(pl.all()).equals(
        together.person_records.sort(pl.all()))


def _one_human_on_two_cases(tmp_path: Path) -> tuple[TransformResult, list[TransformResult], int]:
    """A generated CID where one PERSON row with an address is named by two migrated cases:
    those two cases transformed as one batch, each alone, and the PERSON_ID."""
    from legacy.schema import ADDRESS, CASE_PERSON

    url = f"sqlite:///{tmp_path / 'cid.db'}"
    generate(url, 60, seed=41, scale=0.0)
    engine = create_engine(url)
    with engine.connect() as conn:
        reference = read_reference(conn)
        ids = sorted(conn.execute(sa.select(CASE_HDR.c.CASE_ID)).scalars())
        everyone = transform_batch(extract_batch(conn, ids), reference, AS_OF)
        migrated = sorted(o.legacy_case_id for o in everyone.outcomes if o.state == "migrated")
        with_address = set(conn.execute(sa.select(ADDRESS.c.PERSON_ID)).scalars())
        party = conn.execute(sa.select(CASE_PERSON).where(CASE_PERSON.c.CASE_ID.in_(migrated),
                                                          CASE_PERSON.c.PERSON_ID.in_(with_address))
                             .order_by(CASE_PERSON.c.CASE_PERSON_ID)).mappings().first()
        assert party is not None, "the generated CID has a party with an address"
        first = party["CASE_ID"]
        second = next(cid for cid in reversed(migrated) if cid != first)
        top = conn.execute(sa.select(sa.func.max(CASE_PERSON.c.CASE_PERSON_ID))).scalar_one()
    with engine.begin() as conn:
        conn.execute(CASE_PERSON.insert().values({**party, "CASE_PERSON_ID": top + 1, "CASE_ID": second,
                                                  "ROLE_CD": "DEP", "RELATIONSHIP": "OTHER"}))
    with engine.connect() as conn:
        together = transform_batch(extract_batch(conn, [first, second]), reference, AS_OF)
        alone = [transform_batch(extract_batch(conn, [cid]), reference, AS_OF) for cid in (first, second)]
    return together, alone, party["PERSON_ID"]


def _addresses_of(result: TransformResult, person_id: int) -> pl.DataFrame:
    return result.rows["address"].filter(pl.col("legacy_person_id") == person_id).drop(CASE_COLUMN).sort("address_id")


def test_a_legacy_person_on_two_cases_of_a_batch_gives_one_person_and_one_row_per_address(tmp_path: Path) -> None:
    """One PERSON row named by two cases of a batch: both cases migrate, the human and its
    addresses are written once, each address as either case alone gives it."""
    together, alone, person_id = _one_human_on_two_cases(tmp_path)
    assert [o.state for o in together.outcomes] == ["migrated", "migrated"]
    for table, key_column in (("person", "person_id"), ("address", "address_id")):
        frame = together.rows[table]
        assert frame[key_column].is_unique().all(), table
    addresses = _addresses_of(together, person_id)
    assert addresses.height >= 1
    for one in alone:
        assert _addresses_of(one, person_id).equals(addresses)


def test_a_case_the_target_refuses_leaves_the_human_it_shares_whole(tmp_path: Path) -> None:
    """The first case stood for the shared human's rows; when the target refuses it, the other
    case still writes the human and every address, as it alone gives them."""
    together, alone, person_id = _one_human_on_two_cases(tmp_path)
    first, second = (o.legacy_case_id for o in together.outcomes)
    kept = together.rows["address"].filter(pl.col("legacy_person_id") == person_id)
    assert set(kept[CASE_COLUMN]) == {first}
    probe = part_of(together, {second})
    refuse_cases(together, {first: ("case_note", None)})
    assert [o.state for o in together.outcomes] == ["quarantined", "migrated"]
    for result in (together, probe):
        assert _addresses_of(result, person_id).equals(_addresses_of(alone[1], person_id))
        assert result.rows["person"].filter(pl.col("legacy_person_id") == person_id).height == 1
