"""The write path: a frame's values reach the target exactly (COPY of CSV on PostgreSQL,
executemany on SQLite), new rows are written once, and the unsound corners of writing them
straight into their tables (a legacy row moved to another case, a person another lane wrote
meanwhile) end as a fresh write of the same rows does."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import polars as pl
import pytest
import sqlalchemy as sa

import migration.load.batch as load_batch
from core.db import create_engine
from legacy.schema import CASE_PERSON
from legacy.schema import PERSON as LEGACY_PERSON
from migration.batch import Batch, BatchJob
from migration.extract import Extract
from migration.load.batch import write_rows
from migration.load.rejects import part_of
from migration.load.staging import copy_frame
from migration.run import RunConfig, prepare
from migration.target_schema import (
    APPOINTMENT,
    BUSINESS_TABLES,
    CASE,
    CUTOVER_DIGEST_BUCKET,
    CUTOVER_PERSON_SOURCE,
    CUTOVER_ROW_DIGEST,
    PERSON,
)
from migration.transform import Transform, TransformResult
from migration.transform.frames import CASE_COLUMN
from reconciliation.hashing import target_digests
from tests.conftest import Databases
from tests.helpers import AS_OF, dump, generate, recorded_digests

AWKWARD = ["", "say \"hi\"", "a,b", "line\nbreak\r\nand more", "back\\slash", "\\N", "NULL", "Zoë Ł 東京 🙂", " ",
           None, "'single'", "tab\there", ","]


def test_a_frame_copied_into_a_table_keeps_every_value_exactly(databases: Databases) -> None:
    engine = create_engine(databases.new("copy"))
    table = sa.Table("awkward", sa.MetaData(), sa.Column("id", sa.Uuid, primary_key=True),
                     sa.Column("text", sa.String(200)), sa.Column("n", sa.Integer), sa.Column("flag", sa.Boolean),
                     sa.Column("day", sa.Date), sa.Column("at", sa.DateTime(timezone=True)))
    table.create(engine)
    n = len(AWKWARD)
    at = [dt.datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=dt.UTC), None,
          dt.datetime(1969, 12, 31, 23, 0, tzinfo=dt.UTC)] * n
    expected = pl.DataFrame({
        "id": [str(uuid.uuid5(uuid.NAMESPACE_URL, str(i))) for i in range(n)], "text": AWKWARD,
        "n": [i if i % 4 else None for i in range(n)], "flag": [[True, False, None][i % 3] for i in range(n)],
        "day": [dt.date(2024, 2, 29) if i % 5 else None for i in range(n)], "at": at[:n],
        CASE_COLUMN: list(range(n)),
    }, schema_overrides={"at": pl.Datetime("us", "UTC"), "n": pl.Int64})
    with engine.begin() as conn:
        copy_frame(conn, table, expected)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table).order_by(table.c.n.nullsfirst(), table.c.id)).mappings().all()
    by_id = {str(r["id"]): r for r in rows}
    assert len(rows) == n
    for want in expected.to_dicts():
        got = by_id[want["id"]]
        assert got["text"] == want["text"] and got["n"] == want["n"] and got["flag"] == want["flag"]
        assert got["day"] == want["day"]
        if want["at"] is None:
            assert got["at"] is None
        else:  # SQLite gives back a naive UTC instant
            assert got["at"].replace(tzinfo=dt.UTC) == want["at"]


def _transformed(legacy: str, target: str) -> TransformResult:
    """A generated CID's in-flight cases, transformed as one batch; the target made ready."""
    reference, _ = prepare(RunConfig(legacy, target, AS_OF))
    with create_engine(legacy).connect() as conn:
        ids = list(conn.execute(sa.text('SELECT "CASE_ID" FROM "CASE_HDR" ORDER BY 1')).scalars())
    job = BatchJob("specialisms", uuid.uuid4(), 0, ids, AS_OF)
    return Transform(Extract(create_engine(legacy, read_only=True), Batch(job, reference))).transformed


def _migrated(result: TransformResult) -> list[int]:
    return [o.legacy_case_id for o in result.outcomes if o.state == "migrated"]


def _fell_back(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Records, for each write, whether its new rows had to be merged instead."""
    written = load_batch.write_new
    fell_back: list[bool] = []

    def recorded(conn, new):  # type: ignore[no-untyped-def]
        ok = written(conn, new)
        fell_back.append(not ok)
        return ok

    monkeypatch.setattr(load_batch, "write_new", recorded)
    return fell_back


def _write(url: str, result: TransformResult) -> None:
    with create_engine(url).begin() as conn:
        write_rows(conn, result)


def _fresh(databases: Databases, legacy: str, result: TransformResult) -> dict[str, list[tuple[object, ...]]]:
    """What writing these rows into an empty target gives."""
    fresh = databases.new("fresh")
    prepare(RunConfig(legacy, fresh, AS_OF))
    _write(fresh, result)
    return dump(fresh, (*BUSINESS_TABLES, CUTOVER_PERSON_SOURCE))


def _made(databases: Databases) -> tuple[str, str, TransformResult]:
    """A small generated CID (two cases naming one human), its empty target made ready, and its
    in-flight cases transformed as one batch."""
    legacy, target = databases.new("legacy"), databases.new("target")
    generate(legacy, 60, seed=7, scale=0.0)
    first, *_, last = sorted(_migrated(_transformed(legacy, target)))
    with create_engine(legacy).begin() as conn:  # the first and last cases' main applicants: one human
        mains = conn.execute(sa.select(CASE_PERSON.c.PERSON_ID).where(
            CASE_PERSON.c.CASE_ID.in_([first, last]), CASE_PERSON.c.ROLE_CD == "MAIN")).scalars().all()
        conn.execute(sa.update(LEGACY_PERSON).where(LEGACY_PERSON.c.PERSON_ID.in_(mains))
                     .values(HO_REF="H7000001"))
    return legacy, target, _transformed(legacy, target)


def _assert_each_row_digested_once(url: str) -> set[str]:
    """Every business row has exactly one recorded digest, and it is what reconciliation reads now;
    returns the tables that hold rows."""
    holding = set()
    with create_engine(url).connect() as conn:
        for table in BUSINESS_TABLES:
            now = {(str(k), int(r), f) for r, k, f, _ in conn.execute(target_digests(conn, table))}
            held = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            counted = conn.execute(sa.select(sa.func.count()).where(
                CUTOVER_ROW_DIGEST.c.entity == table.name)).scalar_one() + conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(CUTOVER_DIGEST_BUCKET.c.row_count), 0)).where(
                    CUTOVER_DIGEST_BUCKET.c.entity == table.name)).scalar_one()
            assert len(now) == held == counted, table.name
            assert recorded_digests(conn, table.name) == now, table.name
            holding |= {table.name} if held else set()
    return holding


@pytest.fixture
def transformed(databases: Databases) -> Callable[[], tuple[str, str, TransformResult]]:
    return lambda: _made(databases)


def test_a_legacy_row_moved_to_a_new_case_is_merged_not_duplicated(  # type: ignore[no-untyped-def]
        databases: Databases, transformed, monkeypatch) -> None:
    legacy, target, result = transformed()
    fell_back = _fell_back(monkeypatch)
    moved = result.rows[APPOINTMENT.name].filter(pl.col("rebooked_from_id").is_null()).row(0, named=True)
    old_case = moved[CASE_COLUMN]
    new_case = next(c for c in _migrated(result) if c != old_case)
    _write(target, result.only(set(_migrated(result)) - {new_case}))  # the target holds the old case only
    new_key = result.rows[CASE.name].filter(pl.col(CASE_COLUMN) == new_case)["case_id"].item()
    # In CID the appointment now belongs to a case the target has never held.
    is_moved = pl.col("appointment_id") == moved["appointment_id"]
    result.rows[APPOINTMENT.name] = result.rows[APPOINTMENT.name].with_columns(
        pl.when(is_moved).then(pl.lit(new_key)).otherwise(pl.col("case_id")).alias("case_id"),
        pl.when(is_moved).then(pl.lit(new_case, dtype=pl.Int64)).otherwise(pl.col(CASE_COLUMN)).alias(CASE_COLUMN))
    again = result.only({old_case, new_case})

    _write(target, again)

    with create_engine(target).connect() as conn:
        owner = conn.execute(sa.select(APPOINTMENT.c.case_id)
                             .where(APPOINTMENT.c.appointment_id == uuid.UUID(moved["appointment_id"]))).scalar_one()
    assert owner == uuid.UUID(new_key)
    assert fell_back == [False, True]
    staged = dump(target, (*BUSINESS_TABLES, CUTOVER_PERSON_SOURCE))
    assert staged == _fresh(databases, legacy, result.only(set(_migrated(result))))
    _assert_each_row_digested_once(target)


def test_a_person_another_lane_wrote_meanwhile_is_merged(databases: Databases, transformed, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    legacy, target, result = transformed()
    migrated = set(_migrated(result))
    cases_of: dict[str, set[int]] = {}
    for r in result.person_records.iter_rows(named=True):
        if r[CASE_COLUMN] in migrated:
            cases_of.setdefault(str(r["person_id"]), set()).add(r[CASE_COLUMN])
    shared = next(sorted(cases) for cases in cases_of.values() if len(cases) > 1)
    first, second = part_of(result, {shared[0]}), part_of(result, set(shared[1:]))
    looked_up = load_batch.held_keys
    lanes = {"other": 0}

    def other_lane_commits_first(conn, table, keys):  # type: ignore[no-untyped-def]
        held = looked_up(conn, table, keys)
        if table is PERSON and not lanes["other"]:
            # Between this lane's look-up and its write, another lane commits the shared person.
            lanes["other"] += 1
            _write(target, first)
        return held

    monkeypatch.setattr(load_batch, "held_keys", other_lane_commits_first)
    fell_back = _fell_back(monkeypatch)
    _write(target, second)

    assert lanes["other"] == 1 and fell_back == [False, True]
    assert dump(target, (*BUSINESS_TABLES, CUTOVER_PERSON_SOURCE)) == _fresh(databases, legacy,
                                                                              part_of(result, set(shared)))
    _assert_each_row_digested_once(target)


def test_new_cases_are_written_once_and_held_ones_merged(databases: Databases, transformed, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    legacy, target, result = transformed()
    migrated = sorted(_migrated(result))
    fell_back = _fell_back(monkeypatch)
    _write(target, result.only(set(migrated[::2])))
    _write(target, result)
    assert fell_back == [False, False]
    assert dump(target, (*BUSINESS_TABLES, CUTOVER_PERSON_SOURCE)) == _fresh(databases, legacy, result)
    assert _assert_each_row_digested_once(target) == {t.name for t in BUSINESS_TABLES}
