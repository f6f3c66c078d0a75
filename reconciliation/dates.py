"""Reconciliation's own reading of CID's date strings, written apart from the migration's parser
so that a mistake in one shows as a difference against the other."""

from __future__ import annotations

import datetime as dt

# A two-digit year below this is in the 2000s, any other in the 1900s (the rule CID's screens used).
CENTURY_PIVOT = 50
EARLIEST_YEAR = 1900
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DIGITS = frozenset("0123456789")


def _numbers(*parts: str) -> list[int] | None:
    if not all(part and set(part) <= _DIGITS for part in parts):
        return None
    return [int(part) for part in parts]


def _year_month_day(text: str) -> list[int] | None:
    """The year, month and day a date string spells, by its shape (day and month may be 0)."""
    size = len(text)
    if size == 10 and text[4] == "-" and text[7] == "-":
        return _numbers(text[:4], text[5:7], text[8:])
    if size == 10 and text[2] == "/" and text[5] == "/":
        day_month_year = _numbers(text[:2], text[3:5], text[6:])
        return None if day_month_year is None else day_month_year[::-1]
    if size == 9 and text[2] == "-" and text[6] == "-":
        name = text[3:6]
        day_year = _numbers(text[:2], text[7:])
        if day_year is None or not name.isascii() or name.upper() not in MONTH_NAMES:
            return None
        year = day_year[1] + (2000 if day_year[1] < CENTURY_PIVOT else 1900)
        return [year, MONTH_NAMES.index(name.upper()) + 1, day_year[0]]
    if size == 8:
        return _numbers(text[:4], text[4:6], text[6:])
    return None


def read_date(text: str | None) -> dt.date | None:
    """A CID date string as a date, or None when it is not one. An unknown day (`00`) reads as
    the month's first day, an unknown day and month as the year's first day."""
    found = _year_month_day((text or "").strip())
    if found is None:
        return None
    year, month, day = found
    if month == 0:
        if day != 0:
            return None
        month = day = 1
    elif day == 0:
        day = 1
    if year < EARLIEST_YEAR:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None
