"""Packed digests stay exact: two lanes writing rows into one bucket at once both count, rows
forgotten leave their bucket (an emptied bucket goes), and reconciliation narrows a change in a
packed bucket to the row and the field."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from core.db import create_engine
from migration.load import ensure_units, upgrade_target
from migration.load.digests import DIGEST_BUCKET_WIDTH, forget_digests, record_digests
from migration.rules.routing import UNITS
from migration.target_schema import CASE, CUTOVER_DIGEST_BUCKET
from reconciliation.hashing import target_digests
from reconciliation.integrity import IntegrityStats, check_integrity
from tests.helpers import recorded_digests

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
    """Rows recorded per bucket, over all its parts."""
    with create_engine(url).connect() as conn:
        parts = CUTOVER_DIGEST_BUCKET
        rows = conn.execute(sa.select(parts.c.bucket, sa.func.sum(parts.c.row_count))
                            .where(parts.c.entity == CASE.name).group_by(parts.c.bucket))
        return {int(bucket): int(count) for bucket, count in rows if count}


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


def _two_lanes(databases, url: str, first_lane: Callable[[sa.Connection], None],  # type: ignore[no-untyped-def]
               second_lane: Callable[[sa.Connection], None], second_waits: bool) -> None:
    """Run the second lane in a thread of its own while the first lane's transaction is open."""
    errors: list[BaseException] = []

    def other() -> None:
        try:
            with create_engine(url).begin() as conn:
                second_lane(conn)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            errors.append(exc)

    with create_engine(url).begin() as conn:
        first_lane(conn)
        lane = threading.Thread(target=other)
        lane.start()
        if databases.kind == "postgresql":
            if second_waits:
                for _ in range(2000):
                    if _waiting_for_a_lock(url):
                        break
                    lane.join(0.01)
                assert _waiting_for_a_lock(url)
            else:
                lane.join()
                assert not lane.is_alive()
    lane.join()
    assert not errors


def test_two_lanes_adding_rows_to_one_bucket_lose_nothing_and_do_not_wait(databases) -> None:  # type: ignore[no-untyped-def]
    url = _target(databases)
    _two_lanes(databases, url, lambda conn: _write(conn, range(1, 11)), lambda conn: _write(conn, range(11, 31)),
               second_waits=False)
    assert _buckets(url) == {0: 30}
    with create_engine(url).connect() as conn:
        assert check_integrity(conn) == []


def _rewrite(conn: sa.Connection, legacy_ids: range) -> None:
    """Change rows recorded before and record them again (a re-sync)."""
    keys = [r["case_id"] for r in _cases(legacy_ids)]
    conn.execute(sa.update(CASE).where(CASE.c.case_id.in_(keys)).values(routing_rule="resynced"))
    record_digests(conn, CASE, keys)


def test_two_lanes_recording_rows_again_in_one_bucket_lose_nothing(databases) -> None:  # type: ignore[no-untyped-def]
    url = _target(databases)
    with create_engine(url).begin() as conn:
        _write(conn, range(1, 31))
    _two_lanes(databases, url, lambda conn: _rewrite(conn, range(1, 11)), lambda conn: _rewrite(conn, range(11, 21)),
               second_waits=True)
    assert _buckets(url) == {0: 30}
    with create_engine(url).connect() as conn:
        assert check_integrity(conn) == []
        assert recorded_digests(conn, CASE.name) == {
            (str(r.row_key), r.range_key, r.field_hashes) for r in conn.execute(target_digests(conn, CASE))}


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


def test_a_later_load_into_the_same_bucket_leaves_a_tampered_row_found(databases) -> None:  # type: ignore[no-untyped-def]
    url = _target(databases)
    engine = create_engine(url)
    with engine.begin() as conn:
        _write(conn, range(1, 11))
        conn.execute(sa.update(CASE).where(CASE.c.legacy_case_id == 5).values(routing_rule="tampered"))
    with engine.begin() as conn:
        _write(conn, range(11, 21))  # new rows in the bucket
        _rewrite(conn, range(6, 7))  # and a row recorded before, recorded again
    with engine.connect() as conn:
        found = check_integrity(conn)
    assert [(d.kind, d.legacy_key, d.field) for d in found] == [("field_mismatch", 5, "routing_rule")]
