"""Packed digests stay exact: two lanes writing rows into one bucket at once both count, rows
forgotten leave their bucket (an emptied bucket goes), and reconciliation narrows a change in a
packed bucket to the row and the field."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from typing import Any

import sqlalchemy as sa

from core.db import create_engine
from migration.load import ensure_units, upgrade_target
from migration.load.digests import DIGEST_BUCKET_WIDTH, forget_digests, record_digests
from migration.rules.routing import UNITS
from migration.target_schema import CASE, CUTOVER_DIGEST_BUCKET
from reconciliation.integrity import IntegrityStats, check_integrity

UNIT_CODE = next(iter(UNITS))


def _cases(legacy_ids: range) -> list[dict[str, Any]]:
    return [{"case_id": uuid.uuid5(uuid.NAMESPACE_URL, f"case/{i}"), "case_ref": f"CID/2020/{i:07d}",
             "legacy_ref": f"CID/2020/{i:07d}", "legacy_case_id": i, "legacy_status_code": "AWDC",
             "case_type": "asylum", "lifecycle_state": "awaiting_decision", "received_on": dt.date(2020, 1, 1),
             "owning_unit": UNIT_CODE, "routing_rule": "nationality_leeds", "priority": i % 2 == 0,
             "detained": False, "supported": False, "high_harm": False} for i in legacy_ids]


def _write(conn: sa.Connection, legacy_ids: range) -> None:
    rows = _cases(legacy_ids)
    conn.execute(CASE.insert(), rows)
    record_digests(conn, CASE, [r["case_id"] for r in rows])


def _buckets(url: str) -> dict[int, int]:
    with create_engine(url).connect() as conn:
        rows = conn.execute(sa.select(CUTOVER_DIGEST_BUCKET.c.bucket, CUTOVER_DIGEST_BUCKET.c.row_count)
                            .where(CUTOVER_DIGEST_BUCKET.c.entity == CASE.name))
        return {int(bucket): int(count) for bucket, count in rows}


def _target(databases) -> str:  # type: ignore[no-untyped-def]
    url = databases.new("target")
    engine = create_engine(url)
    upgrade_target(engine)
    with engine.begin() as conn:
        ensure_units(conn, UNITS)
    return url


def _waiting_for_a_lock(url: str) -> bool:
    with create_engine(url).connect() as conn:
        return bool(conn.exec_driver_sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                         "AND datname = current_database()").scalar())


def test_two_lanes_writing_into_one_bucket_lose_nothing(databases) -> None:  # type: ignore[no-untyped-def]
    url = _target(databases)
    first, second = create_engine(url), create_engine(url)
    errors: list[BaseException] = []

    def other_lane() -> None:
        try:
            with second.begin() as conn:
                _write(conn, range(11, 31))
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            errors.append(exc)

    with first.begin() as conn:
        _write(conn, range(1, 11))
        lane = threading.Thread(target=other_lane)
        lane.start()
        if databases.kind == "postgresql":  # it waits for this lane's bucket to commit
            for _ in range(2000):
                if _waiting_for_a_lock(url):
                    break
                lane.join(0.01)
            assert _waiting_for_a_lock(url)
    lane.join()
    assert not errors
    assert _buckets(url) == {0: 30}
    with first.connect() as conn:
        assert check_integrity(conn) == []


def test_forgotten_rows_leave_their_bucket_and_an_emptied_bucket_goes(databases) -> None:  # type: ignore[no-untyped-def]
    url = _target(databases)
    engine = create_engine(url)
    width = DIGEST_BUCKET_WIDTH
    with engine.begin() as conn:
        _write(conn, range(1, 2 * width + 10))
    assert _buckets(url) == {0: width - 1, 1: width, 2: 10}
    gone = [r["case_id"] for r in _cases(range(2 * width, 2 * width + 10))]
    some = [r["case_id"] for r in _cases(range(1, 4))]
    with engine.begin() as conn:
        for keys in (gone, some):
            forget_digests(conn, CASE, keys)
            conn.execute(sa.delete(CASE).where(CASE.c.case_id.in_(keys)))
    assert _buckets(url) == {0: width - 4, 1: width}
    with engine.connect() as conn:
        assert check_integrity(conn) == []


def test_a_change_in_a_packed_bucket_is_named_down_to_the_row_and_field(databases) -> None:  # type: ignore[no-untyped-def]
    url = _target(databases)
    engine = create_engine(url)
    with engine.begin() as conn:
        _write(conn, range(1, 1001))
        conn.execute(sa.update(CASE).where(CASE.c.legacy_case_id == 700).values(routing_rule="tampered"))
        conn.execute(sa.delete(CASE).where(CASE.c.legacy_case_id == 701))
        conn.execute(CASE.insert(), _cases(range(5000, 5001)))
    stats = IntegrityStats()
    with engine.connect() as conn:
        found = check_integrity(conn, stats)
    assert sorted((d.kind, d.legacy_key, d.field) for d in found) == [
        ("field_mismatch", 700, "routing_rule"), ("missing_in_target", 701, None),
        ("unexpected_in_target", 5000, None)]
    assert stats.per_entity["case"] <= 4 * DIGEST_BUCKET_WIDTH  # two buckets read, each live and recorded
