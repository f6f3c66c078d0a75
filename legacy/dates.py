"""How CID wrote dates: one of four string formats, chosen per row, as 20 years of screens did."""

from __future__ import annotations

import datetime as dt
from random import Random

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def format_cid_date(day: dt.date, rng: Random) -> str:
    """Render a date in one of CID's formats (DD-MON-YY only where the year pivot is unambiguous)."""
    choice = rng.random()
    if choice < 0.45:
        return day.isoformat()
    if choice < 0.75:
        return day.strftime("%d/%m/%Y")
    if choice < 0.9 and 1950 <= day.year <= 2049:
        return f"{day.day:02d}-{MONTHS[day.month - 1]}-{day.year % 100:02d}"
    return day.strftime("%Y%m%d")


def format_partial_dob(day: dt.date, rng: Random) -> str:
    """A birth date whose day, or day and month, CID recorded as unknown (00)."""
    if rng.random() < 0.5:
        return f"{day.year:04d}-{day.month:02d}-00"
    return f"00/00/{day.year:04d}"


def last_sunday(year: int, month: int) -> dt.date:
    """The last Sunday of a month: the day UK clocks change in March and October."""
    day = dt.date(year, month, 31)
    return day - dt.timedelta(days=(day.weekday() + 1) % 7)
