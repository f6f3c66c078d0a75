"""The facts a case is planned and routed on."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migration.facts import first_matches, older_cutoff
from migration.rules.matching import Rule, first_match


@pytest.mark.parametrize(("as_of", "months", "cutoff"), [
    (dt.date(2024, 2, 29), 48, dt.date(2020, 2, 29)),  # a leap day back to a leap day stays the 29th
    (dt.date(2028, 2, 29), 36, dt.date(2025, 2, 28)),  # to a common year: the last day of February
    (dt.date(2027, 5, 29), 39, dt.date(2024, 2, 29)),  # the 29th into a leap February is kept
    (dt.date(2026, 3, 31), 1, dt.date(2026, 2, 28)),
    (dt.date(2026, 11, 1), 36, dt.date(2023, 11, 1)),
])
def test_older_cutoff_is_calendar_months_back(as_of: dt.date, months: int, cutoff: dt.date) -> None:
    assert older_cutoff(as_of, months) == cutoff


BOOL_FACTS = ("detained", "nsa", "uasc")
TEXT_FACTS = ("case_type", "nationality", "accommodation")
TEXTS = ("asylum", "resettlement", "SYR", "hotel", "")
# A fact no frame below holds, and values of the wrong type for a fact: such conditions never hold.
ABSENT_FACT = "gender"
conditions = st.one_of(
    st.tuples(st.sampled_from(BOOL_FACTS), st.booleans()),
    st.tuples(st.sampled_from(TEXT_FACTS), st.sampled_from(TEXTS)),
    st.tuples(st.sampled_from(TEXT_FACTS), st.frozensets(st.sampled_from(TEXTS), max_size=3)),
    st.tuples(st.sampled_from(TEXT_FACTS + BOOL_FACTS + (ABSENT_FACT,)), st.sampled_from([True, "asylum"])),
)
rule_tables = st.tuples(st.lists(st.lists(conditions, max_size=3).map(dict), max_size=6), st.booleans()).map(
    lambda drawn: [Rule(name=f"r{n}", outcome=f"out{n % 3}", when=when) for n, when in enumerate(drawn[0])]
    + ([Rule(name="rest", outcome="rest")] if drawn[1] else []))  # a table may lack its catch-all
fact_rows = st.lists(st.fixed_dictionaries({
    **{f: st.one_of(st.none(), st.booleans()) for f in BOOL_FACTS},
    **{f: st.one_of(st.none(), st.sampled_from(TEXTS)) for f in TEXT_FACTS},
}), max_size=12)


@settings(max_examples=300, deadline=None)
@given(rows=fact_rows, table=rule_tables)
def test_first_matches_picks_for_every_case_the_rule_first_match_picks(rows: list[dict], table: list[Rule]) -> None:
    schema = {"CASE_ID": pl.Int64, **{f: pl.Boolean for f in BOOL_FACTS}, **{f: pl.String for f in TEXT_FACTS}}
    facts = pl.DataFrame([{"CASE_ID": n, **row} for n, row in enumerate(rows)], schema=schema)
    try:
        expected = [first_match(table, row) for row in rows]
    except LookupError:
        with pytest.raises(LookupError):
            first_matches(facts, table)
        return
    chosen = first_matches(facts, table)
    assert chosen["CASE_ID"].to_list() == list(range(len(rows)))
    assert chosen["rule"].to_list() == [rule.name for rule in expected]
    assert chosen["outcome"].to_list() == [rule.outcome for rule in expected]
