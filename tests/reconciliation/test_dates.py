"""Reconciliation reads every CID date string as the migration does, by its own code."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migration.parsers import parse_cid_date
from reconciliation.dates import MONTH_NAMES, read_date

MONTHS = st.sampled_from(MONTH_NAMES).flatmap(
    lambda name: st.tuples(*(st.sampled_from((c, c.lower())) for c in name)).map("".join))
PADDING = st.sampled_from(("", " ", "  ", "\t", "\n"))


@st.composite
def date_strings(draw: st.DrawFn) -> str:
    """A date in one of CID's four formats, day and month possibly `00` (unknown), any year."""
    day = draw(st.dates(min_value=dt.date(1800, 1, 1), max_value=dt.date(2199, 12, 31)))
    dd, mm = draw(st.sampled_from((f"{day.day:02d}", "00"))), draw(st.sampled_from((f"{day.month:02d}", "00")))
    shape = draw(st.sampled_from(("iso", "uk", "oracle", "compact")))
    if shape == "oracle":
        month = MONTH_NAMES[day.month - 1] if mm != "00" else draw(MONTHS)
        text = f"{dd}-{draw(st.sampled_from((month, month.lower(), month.title())))}-{day.year % 100:02d}"
    else:
        text = {"iso": f"{day.year:04d}-{mm}-{dd}", "uk": f"{dd}/{mm}/{day.year:04d}",
                "compact": f"{day.year:04d}{mm}{dd}"}[shape]
    return draw(PADDING) + text + draw(PADDING)


# The formats' shapes with any digits in them: months above 12, days above 31, 31 February.
SHAPED = st.one_of(
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"), st.from_regex(r"\A[0-9]{2}/[0-9]{2}/[0-9]{4}\Z"),
    st.from_regex(r"\A[0-9]{8}\Z"), st.builds(lambda d, m, y: f"{d:02d}-{m}-{y:02d}", st.integers(0, 99), MONTHS,
                                              st.integers(0, 99)))
# Near misses: the formats' characters mixed with other scripts' digits and letters that upper-case to ASCII.
RUBBISH = st.one_of(st.text(max_size=12),
                    st.text(alphabet="0123456789-/ JANMRjanmr\u0661\uff12\u017f\u0131", max_size=11))


@given(st.one_of(date_strings(), SHAPED, RUBBISH))
def test_reconciliation_reads_every_date_string_as_the_migration_does(text: str) -> None:
    assert read_date(text) == parse_cid_date(text).value


@given(st.integers(min_value=0, max_value=99), MONTHS, st.integers(min_value=1, max_value=28))
def test_both_pivot_two_digit_years_at_50(yy: int, month: str, day: int) -> None:
    text = f"{day:02d}-{month}-{yy:02d}"
    expected = (2000 if yy < 50 else 1900) + yy
    assert read_date(text) == parse_cid_date(text).value
    assert read_date(text) is not None and read_date(text).year == expected  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "value"), [
    ("07-MAR-49", dt.date(2049, 3, 7)), ("07-mar-50", dt.date(1950, 3, 7)), ("1987-03-00", dt.date(1987, 3, 1)),
    ("00/00/1987", dt.date(1987, 1, 1)), ("07/00/1987", None), ("31/02/2019", None), ("1899-12-31", None),
    ("2016-3-07", None), (" 7/03/2016", None), ("07-\u017fep-16", None), ("\u0661987-03-07", None), ("N/K", None),
])
def test_named_readings(text: str, value: dt.date | None) -> None:
    assert read_date(text) == value == parse_cid_date(text).value
