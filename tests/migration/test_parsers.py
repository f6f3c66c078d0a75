"""Parsers of CID values: property tests (hypothesis) and the awkward cases by name."""

from __future__ import annotations

import datetime as dt
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from legacy.dates import format_cid_date, last_sunday
from migration.parsers import (
    MOJIBAKE_REACH,
    UK,
    clean_text,
    may_hold_mojibake,
    normalise_postcode,
    normalise_ref,
    parse_cid_date,
    split_name,
    uk_local_to_utc,
)

dates = st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2049, 12, 31))


@given(dates, st.integers(min_value=0, max_value=2**32))
def test_every_cid_format_reads_back_to_the_same_date(day: dt.date, seed: int) -> None:
    text = format_cid_date(day, Random(seed))
    parsed = parse_cid_date(text)
    assert parsed.value == day and parsed.precision == "day" and parsed.problem is None


@given(st.text(max_size=25))
def test_no_text_makes_the_date_parser_raise(text: str) -> None:
    parsed = parse_cid_date(text)
    assert (parsed.value is None) == (parsed.precision == "unknown")


@pytest.mark.parametrize(("text", "value", "precision", "problem"), [
    ("2016-03-07", dt.date(2016, 3, 7), "day", None),
    ("07/03/2016", dt.date(2016, 3, 7), "day", None),
    ("07-MAR-16", dt.date(2016, 3, 7), "day", None),
    ("07-mar-87", dt.date(1987, 3, 7), "day", None),
    ("20160307", dt.date(2016, 3, 7), "day", None),
    ("1987-00-00", dt.date(1987, 1, 1), "year", None),
    ("00/00/1987", dt.date(1987, 1, 1), "year", None),
    ("1987-03-00", dt.date(1987, 3, 1), "month", None),
    ("2019-02-31", None, "unknown", "impossible"),
    ("31/02/2019", None, "unknown", "impossible"),
    ("32/13/2019", None, "unknown", "unparseable"),
    ("N/K", None, "unknown", "unparseable"),
    ("1O/O3/2O18", None, "unknown", "unparseable"),
    (None, None, "unknown", None),
    ("  ", None, "unknown", None),
])
def test_named_dates(text: str | None, value: dt.date | None, precision: str, problem: str | None) -> None:
    parsed = parse_cid_date(text)
    assert (parsed.value, parsed.precision, parsed.problem) == (value, precision, problem)


@given(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 12, 31)))
def test_local_times_convert_to_utc_by_the_stated_rule(local: dt.datetime) -> None:
    utc, problem = uk_local_to_utc(local)
    assert utc.tzinfo is dt.UTC
    back = utc.astimezone(UK).replace(tzinfo=None)
    if problem is None:
        assert back == local
    elif problem == "fold":
        assert back == local and utc.astimezone(UK).fold == 0  # the first (BST) occurrence
    else:
        assert back == local + dt.timedelta(hours=1)  # skipped hour read as GMT


@pytest.mark.parametrize("year", [2016, 2021, 2024])
def test_dst_hours_are_flagged(year: int) -> None:
    spring, autumn = last_sunday(year, 3), last_sunday(year, 10)
    assert uk_local_to_utc(dt.datetime(spring.year, 3, spring.day, 1, 30))[1] == "gap"
    assert uk_local_to_utc(dt.datetime(autumn.year, 10, autumn.day, 1, 30))[1] == "fold"
    assert uk_local_to_utc(dt.datetime(year, 7, 1, 1, 30))[1] is None


@given(st.from_regex(r"[A-Z]{1,2}[0-9]{1,2} [0-9][A-Z]{2}", fullmatch=True), st.sampled_from(["", " ", "  "]),
       st.booleans())
def test_postcodes_normalise_whatever_the_spacing_and_case(code: str, gap: str, lower: bool) -> None:
    outward, inward = code.split(" ")
    messy = f"{outward}{gap}{inward}"
    normal, area = normalise_postcode(messy.lower() if lower else messy)
    assert normal == code and area == "".join(c for c in outward if c.isalpha())


@pytest.mark.parametrize("bad", ["SW1A", "12345", "N1 ??", "LS", "B99 9Z9Z", "M1-1AE"])
def test_malformed_postcodes_are_refused(bad: str) -> None:
    assert normalise_postcode(bad) == (None, None)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=50))
def test_clean_text_leaves_clean_text_alone(text: str) -> None:
    cleaned, repairs = clean_text(text)
    if "control_chars" not in repairs and "mojibake" not in repairs:
        assert cleaned == text


@pytest.mark.parametrize("word", ["café", "Zoë", "Müller", "São", "déjà"])
def test_mojibake_and_control_characters_are_repaired(word: str) -> None:
    garbled = word.encode("utf-8").decode("cp1252") + "\x07"
    cleaned, repairs = clean_text(garbled)
    assert cleaned == word and set(repairs) == {"control_chars", "mojibake"}


# Characters of UTF-8 mojibake and the ASCII around which ftfy's patterns look.
MOJIBAKE_PRONE = ["a", "z", " ", ".", "Ã", "Â", "©", "¢", "€", "é", "Ø", "×", "²", "\xa0", "\x81"]


@pytest.mark.parametrize("garbled", ["voilÃ le travail", "sÃ³", "caf\u00c3\u00a9", "naÃ¯ve", "x ×²", "Ø\xa0Ø\xa0",
                                     "ГўВЂВ.x"])
@pytest.mark.parametrize("padding", [0, 1, 7, 8, 9, 500])
def test_looking_around_non_ascii_runs_finds_ftfys_mojibake(garbled: str, padding: int) -> None:
    from ftfy.badness import is_bad

    for text in (garbled, "a" * padding + garbled, garbled + " " * padding + "é", "ü" + "b" * padding + garbled):
        assert is_bad(text) and may_hold_mojibake(text)


@given(st.lists(st.sampled_from(MOJIBAKE_PRONE), max_size=12).map("".join),
       st.text(alphabet="abcdefghij klmnop.,", max_size=40), st.integers(0, 3 * MOJIBAKE_REACH))
def test_the_windows_see_whatever_ftfys_detector_sees_in_the_whole_text(tail: str, ascii_text: str,
                                                                        gap: int) -> None:
    from ftfy.badness import is_bad

    for text in (tail, ascii_text + tail, tail + "x" * gap + tail, tail + ascii_text + "é" + "y" * gap + tail):
        if is_bad(text):
            assert may_hold_mojibake(text)


@given(st.lists(st.sampled_from(MOJIBAKE_PRONE), max_size=12).map("".join),
       st.text(alphabet="abcdefghij klmnop.,", max_size=300))
def test_where_no_window_looks_like_mojibake_ftfy_changes_nothing(tail: str, ascii_text: str) -> None:
    from ftfy import fix_encoding
    from ftfy.badness import is_bad

    for text in (tail, ascii_text + tail, tail + ascii_text + tail):
        if not may_hold_mojibake(text):  # then ftfy is skipped: it would have changed nothing
            assert not is_bad(text) and fix_encoding(text) == text


def test_names_held_as_surname_comma_forename_are_split() -> None:
    assert split_name(None, "AHMADI, Reza") == ("Ahmadi", "Reza", True)
    assert split_name("KHAN", "Imran") == ("Khan", "Imran", False)
    assert split_name("  ", None) == (None, None, False)


@given(st.text(alphabet="CIDcid/0123456789 ", max_size=20))
def test_reference_normalisation_is_idempotent(ref: str) -> None:
    assert normalise_ref(normalise_ref(ref)) == normalise_ref(ref)
    assert " " not in normalise_ref(ref)
