"""A run's staged ledger bodies are appended a page at a time, in batch order, and then forgotten."""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa

from audit.entries import make_body
from audit.ledger import iter_entries
from core.db import create_engine
from migration.ledgering import flush, stage
from migration.load import upgrade_target
from migration.target_schema import CUTOVER_LEDGER_PENDING


def test_flush_appends_page_by_page_in_batch_order(databases) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(databases.new("target"))
    upgrade_target(engine)
    run, other = uuid.uuid4(), uuid.uuid4()
    with engine.begin() as conn:
        for batch_no in (2, 0, 1):  # staged out of order, as parallel batches commit
            stage(conn, run, batch_no, [make_body("exclude", batch_no=batch_no, legacy_case_id=n) for n in range(3)])
        stage(conn, other, 0, [make_body("exclude", batch_no=9, legacy_case_id=0)])
    with engine.begin() as conn:
        assert flush(conn, run, page_size=2) == 9
    with engine.connect() as conn:
        appended = [json.loads(e.body) for e in iter_entries(conn)]
        left = conn.execute(sa.select(CUTOVER_LEDGER_PENDING.c.run_id)).scalars().all()
    assert [(b["batch_no"], b["legacy_case_id"]) for b in appended] == [(b, n) for b in range(3) for n in range(3)]
    assert [b["seq"] for b in appended] == list(range(1, 10))
    assert left == [other]  # another run's bodies wait for their own flush


def test_a_flush_up_to_a_batch_appends_that_batch_and_those_before_it_and_leaves_the_rest(databases) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(databases.new("target"))
    upgrade_target(engine)
    run = uuid.uuid4()
    with engine.begin() as conn:
        for batch_no in (3, 0, 1):  # batch 2 has not ended; 3 ended before it
            stage(conn, run, batch_no, [make_body("exclude", batch_no=batch_no, legacy_case_id=n) for n in range(2)])
    with engine.begin() as conn:
        assert flush(conn, run, upto=1) == 4
    with engine.begin() as conn:
        stage(conn, run, 2, [make_body("exclude", batch_no=2, legacy_case_id=0)])
        assert flush(conn, run, upto=2) == 1
        assert flush(conn, run) == 2
    with engine.connect() as conn:
        appended = [(b["batch_no"], b["legacy_case_id"]) for b in (json.loads(e.body) for e in iter_entries(conn))]
        assert conn.execute(sa.select(sa.func.count()).select_from(CUTOVER_LEDGER_PENDING)).scalar() == 0
    assert appended == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (3, 0), (3, 1)]  # batch order, whenever appended
