"""Parsers for CID's values: dates in four formats, UK local times, postcodes, names, text."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import ftfy
from ftfy.badness import is_bad

UK = ZoneInfo("Europe/London")
UTC = dt.UTC
MONTHS = {m: i for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
# Two-digit years: 00-49 are 20xx, 50-99 are 19xx (Oracle's RR rule, as CID's screens used).
YEAR_PIVOT = 50

DateProblem = Literal["unparseable", "impossible"]
Precision = Literal["day", "month", "year", "unknown"]

# ASCII digits and letters only: `\d` and upper() would also take other scripts' digits and letters.
_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_UK = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
_ORACLE = re.compile(r"([0-9]{2})-([A-Za-z]{3})-([0-9]{2})")
_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")


@dataclass(frozen=True)
class ParsedDate:
    """A CID date string read: the date (first day of an unknown month or day), its precision,
    and the problem when it could not be read."""

    value: dt.date | None
    precision: Precision
    problem: DateProblem | None = None


UNKNOWN_DATE = ParsedDate(None, "unknown")


def _parts(text: str) -> tuple[int, int, int] | None:
    if m := _ISO.fullmatch(text):
        return int(m[1]), int(m[2]), int(m[3])
    if m := _UK.fullmatch(text):
        return int(m[3]), int(m[2]), int(m[1])
    if m := _ORACLE.fullmatch(text):
        month = MONTHS.get(m[2].upper())
        if month is None:
            return None
        yy = int(m[3])
        return (2000 + yy if yy < YEAR_PIVOT else 1900 + yy), month, int(m[1])
    if m := _COMPACT.fullmatch(text):
        return int(m[1]), int(m[2]), int(m[3])
    return None


@lru_cache(maxsize=65536)
def parse_cid_date(text: str | None) -> ParsedDate:
    """Read a CID date string; `00` for the day or the month means unknown, not wrong.

    A month above 12 or a day above 31 is not a date at all (unparseable); a date of the right
    shape that the calendar lacks (31 February) is impossible."""
    if text is None or not text.strip():
        return UNKNOWN_DATE
    parts = _parts(text.strip())
    if parts is None:
        return ParsedDate(None, "unknown", "unparseable")
    year, month, day = parts
    if month > 12 or day > 31:
        return ParsedDate(None, "unknown", "unparseable")
    precision: Precision = "day"
    if month == 0:
        if day != 0:
            return ParsedDate(None, "unknown", "impossible")
        month, day, precision = 1, 1, "year"
    elif day == 0:
        day, precision = 1, "month"
    if year < 1900:
        return ParsedDate(None, "unknown", "impossible")
    try:
        return ParsedDate(dt.date(year, month, day), precision)
    except ValueError:
        return ParsedDate(None, "unknown", "impossible")


TimeProblem = Literal["gap", "fold"]


def uk_local_to_utc(local: dt.datetime) -> tuple[dt.datetime, TimeProblem | None]:
    """Convert a naive UK local time to UTC.

    The stated rule: a time in the hour the clocks skip (spring) is read with the offset in force
    before the change (GMT), so it lands one hour later on the new clock; a time in the hour the
    clocks repeat (autumn) is read as its first occurrence (BST)."""
    first = local.replace(tzinfo=UK, fold=0)
    second = local.replace(tzinfo=UK, fold=1)
    utc = first.astimezone(UTC)
    if utc.astimezone(UK).replace(tzinfo=None) != local:
        return utc, "gap"
    if first.utcoffset() != second.utcoffset():
        return utc, "fold"
    return utc, None


_POSTCODE = re.compile(r"^([A-Z]{1,2})([0-9][A-Z0-9]?)([0-9][A-Z]{2})$")


def normalise_postcode(text: str | None) -> tuple[str | None, str | None]:
    """A UK postcode in its canonical form (`SW1A 1AA`) and its area, or (None, None)."""
    if text is None:
        return None, None
    compact = re.sub(r"\s+", "", text).upper()
    m = _POSTCODE.match(compact)
    if not m:
        return None, None
    return f"{m[1]}{m[2]} {m[3]}", m[1]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
# How far around a non-ASCII run ftfy's public detector (`ftfy.badness.is_bad`) needs to look:
# tests/migration/test_parsers.py checks, against the installed ftfy, that windows this wide find
# every mojibake the whole text shows and that ftfy changes nothing where no window matches.
MOJIBAKE_REACH = 8


def may_hold_mojibake(text: str) -> bool:
    """Whether ftfy's mojibake detector matches the text, looking only around its non-ASCII runs
    (a long note with one accented name costs a few characters, not the whole note). It may say
    yes where the whole text would not (a window's start reads as the text's start): ftfy decides."""
    start = end = -1
    for run in _NON_ASCII_RUN.finditer(text):
        if end >= 0 and run.start() - MOJIBAKE_REACH > end:
            if is_bad(text[start:end]):
                return True
            start = -1
        if start < 0:
            start = max(0, run.start() - MOJIBAKE_REACH)
        end = run.end() + MOJIBAKE_REACH
    return start >= 0 and is_bad(text[start:end])


def clean_text(text: str) -> tuple[str, tuple[str, ...]]:
    """Remove control characters and repair mojibake; return the text and which repairs applied."""
    repairs: list[str] = []
    stripped = _CONTROL.sub("", text)
    if stripped != text:
        repairs.append("control_chars")
    # ftfy changes nothing in a text its detector does not match (and ASCII text never matches).
    fixed = ftfy.fix_encoding(stripped) if not stripped.isascii() and may_hold_mojibake(stripped) else stripped
    if fixed != stripped:
        repairs.append("mojibake")
    return fixed, tuple(repairs)


def split_name(surname: str | None, forenames: str | None) -> tuple[str | None, str | None, bool]:
    """Split `SURNAME, Forenames` held in FORENAMES when SURNAME is empty; title-case both."""
    split = False
    if not (surname and surname.strip()) and forenames and "," in forenames:
        surname, forenames = (part.strip() for part in forenames.split(",", 1))
        split = True
    return _title(surname), _title(forenames), split


def _title(name: str | None) -> str | None:
    if name is None or not name.strip():
        return None
    cleaned = " ".join(name.split())
    return cleaned.title() if cleaned.isupper() or cleaned.islower() else cleaned


def normalise_ref(ref: str) -> str:
    """A case reference as the target keeps it: no spaces, upper case."""
    return "".join(ref.split()).upper()


def flag(value: str | None) -> bool:
    """CID's Y/N/NULL flags: only 'Y' is true."""
    return (value or "").strip().upper() == "Y"
