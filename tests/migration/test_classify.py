"""The plan's classification over frames: the in-flight rule gives, header for header, what the
scalar rule gives, and cutting CID into key ranges changes no verdict."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from core.db import create_engine
from migration.extract.reference import LegacyReference, read_reference
from migration.plan import is_in_flight
from migration.plan.classify import HEADER_SCHEMA, classified_frames, in_flight_columns, key_ranges
from migration.rules import current_rules
from tests.conftest import Databases
from tests.helpers import AS_OF, generate
from tests.migration.test_columns import DATE_TEXTS

REFERENCE = LegacyReference(
    statuses={"OPEN": (False, False), "CLOSED": (True, False), "WDRN": (True, True), "DEC": (True, False)},
    nationalities={}, unit_regions={}, duplicate_ho_refs=frozenset(), colliding_refs=frozenset())
STATUSES = st.one_of(st.none(), st.sampled_from(["OPEN", "closed", " WDRN ", "Dec", "DEC\t", "UNKNOWN", ""]))
FLAGS = st.sampled_from([None, "Y", "N", "y", " Y", "", "X"])
NEAR_AS_OF = st.integers(-400, 30).map(lambda days: (AS_OF + dt.timedelta(days=days)))


def decision_dates(window: int) -> st.SearchStrategy[str | None]:
    """Any text, a day near the as-of date, or a day at the edges of the appeal window."""
    edges = st.integers(-1, 1).map(lambda k: AS_OF - dt.timedelta(days=window + k))
    return st.one_of(edges.map(dt.date.isoformat), edges.map(lambda d: d.strftime("%d/%m/%Y")),
                     NEAR_AS_OF.map(dt.date.isoformat), DATE_TEXTS)


@st.composite
def headers(draw: st.DrawFn, window: int) -> dict[str, Any]:
    """A case header with its latest live decision's fields (D_*), or none."""
    outcomes = sorted(current_rules().appealable_outcomes)
    decided = draw(st.booleans())
    return {
        "DELETED_FLG": draw(FLAGS), "STATUS_CD": draw(STATUSES),
        "DATE_RCVD": draw(st.one_of(DATE_TEXTS, NEAR_AS_OF.map(dt.date.isoformat))),
        "D_DECISION_ID": "7" if decided else None,
        "D_OUTCOME_CD": draw(st.sampled_from([None, "XX", *outcomes, *outcomes])) if decided else None,
        "D_DECISION_DT": draw(decision_dates(window)) if decided else None,
        "D_APPEAL_LODGED_FLG": draw(FLAGS) if decided else None,
    }


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 400).flatmap(lambda w: st.tuples(st.lists(headers(w), min_size=1, max_size=25), st.just(w))))
def test_the_in_flight_rule_over_frames_decides_as_the_scalar_rule(drawn: tuple[list[dict[str, Any]], int]) -> None:
    rows, window = drawn
    rules = current_rules()
    frame = pl.DataFrame([{name: row.get(name) for name in HEADER_SCHEMA if name != "CASE_ID"} for row in rows],
                         schema={n: t for n, t in HEADER_SCHEMA.items() if n != "CASE_ID"})
    got = in_flight_columns(frame, REFERENCE, AS_OF, window, rules).select("in_flight", "reason").rows()
    want = []
    for row in rows:
        decision = ({f: row[f"D_{f}"] for f in ("OUTCOME_CD", "DECISION_DT", "APPEAL_LODGED_FLG")}
                    if row["D_DECISION_ID"] is not None else None)
        want.append(is_in_flight(row, decision, REFERENCE, AS_OF, window, rules))
    assert got == want


def test_key_ranges_change_no_verdict_and_hold_every_case_once(databases: Databases) -> None:
    legacy = databases.new("legacy")
    generate(legacy, 300, seed=9)
    rules = current_rules()
    with create_engine(legacy).connect() as conn:
        reference = read_reference(conn, cross_case=False)
        ranges = key_ranges(conn, 37)
        keys = list(conn.execute(sa.text('SELECT "CASE_ID" FROM "CASE_HDR" ORDER BY 1')).scalars())

        def verdicts(size: int) -> list[tuple[Any, ...]]:
            frames = classified_frames(conn, AS_OF, reference, rules, rules.appeal_window_days, size=size)
            return [row for frame in frames for row in frame.rows()]

        whole, cut = verdicts(10_000), verdicts(37)
    assert [low for low, _ in ranges] == keys[::37] and ranges[-1][1] == keys[-1] and len(ranges) == 9
    assert cut == whole and [row[0] for row in whole] == keys
    waves = {row[2] for row in whole if row[2] is not None}
    reasons = {row[4] for row in whole if row[4] is not None}
    assert len(waves) >= 4 and len(reasons) >= 2  # the generated CID reaches several waves and reasons
    assert all((row[2] is None) == (row[4] is not None) for row in whole)  # a wave or a reason, never both
