"""The facts a case is planned and routed on."""

from __future__ import annotations

import datetime as dt

import pytest

from migration.facts import older_cutoff


@pytest.mark.parametrize(("as_of", "months", "cutoff"), [
    (dt.date(2024, 2, 29), 48, dt.date(2020, 2, 29)),  # a leap day back to a leap day stays the 29th
    (dt.date(2028, 2, 29), 36, dt.date(2025, 2, 28)),  # to a common year: the last day of February
    (dt.date(2027, 5, 29), 39, dt.date(2024, 2, 29)),  # the 29th into a leap February is kept
    (dt.date(2026, 3, 31), 1, dt.date(2026, 2, 28)),
    (dt.date(2026, 11, 1), 36, dt.date(2023, 11, 1)),
])
def test_older_cutoff_is_calendar_months_back(as_of: dt.date, months: int, cutoff: dt.date) -> None:
    assert older_cutoff(as_of, months) == cutoff
