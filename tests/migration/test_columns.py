"""The column forms of CID's value rules give, value for value, what the scalar parsers give."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from hypothesis import example, given, settings
from hypothesis import strategies as st

from legacy.dates import last_sunday
from migration.parsers import (
    MONTHS,
    UK,
    clean_text,
    flag,
    normalise_postcode,
    normalise_ref,
    parse_cid_date,
    split_name,
    uk_local_to_utc,
)
from migration.transform import columns
from migration.transform.keys import key, normalised_ho_ref, person_key_text

EXAMPLES = settings(max_examples=150, deadline=None)
WHITESPACE = st.text(alphabet=st.sampled_from(columns.PY_WHITESPACE + " "), max_size=2)


def _column(expr: pl.Expr, values: list[Any], dtype: pl.DataType = pl.String()) -> list[Any]:
    return pl.DataFrame({"v": pl.Series(values, dtype=dtype)}).select(expr).to_series().to_list()


def _two(n: int) -> st.SearchStrategy[str]:
    return st.integers(0, 10**n - 1).map(lambda v: f"{v:0{n}d}")


MONTH_NAMES = st.sampled_from([*MONTHS, *(m.lower() for m in MONTHS), "Mar", "XYZ", "JUN"])
SHAPED_DATES = st.one_of(
    st.tuples(_two(4), _two(2), _two(2)).map(lambda p: f"{p[0]}-{p[1]}-{p[2]}"),
    st.tuples(_two(2), _two(2), _two(4)).map(lambda p: f"{p[0]}/{p[1]}/{p[2]}"),
    st.tuples(_two(2), MONTH_NAMES, _two(2)).map(lambda p: f"{p[0]}-{p[1]}-{p[2]}"),
    st.tuples(_two(4), _two(2), _two(2)).map("".join),
    # real days of both centuries of the pivot, partial days and months, the leap years' edges
    st.dates(dt.date(1890, 1, 1), dt.date(2060, 12, 31)).flatmap(lambda d: st.sampled_from([
        d.isoformat(), d.strftime("%d/%m/%Y"), f"{d.day:02d}-{list(MONTHS)[d.month - 1]}-{d.year % 100:02d}",
        d.strftime("%Y%m%d"), f"{d.year:04d}-{d.month:02d}-00", f"00/00/{d.year:04d}", f"{d.year:04d}-02-29",
        f"29/02/{d.year:04d}", f"31/{d.month:02d}/{d.year:04d}"])),
)
DATE_TEXTS = st.one_of(
    st.none(), st.text(max_size=12), st.from_regex(r"[0-9/\-A-Za-z ]{0,11}", fullmatch=True),
    st.tuples(WHITESPACE, SHAPED_DATES, WHITESPACE).map("".join),
)


@EXAMPLES
@given(st.lists(DATE_TEXTS, max_size=30), st.integers(1, 4))
def test_dates_read_as_the_scalar_parser_reads_them(texts: list[str | None], repeats: int) -> None:
    texts = texts * repeats  # repeated texts are read once each, and given to every row that holds them
    got = _column(columns.cid_date(pl.col("v")), texts)
    want = [vars(parse_cid_date(t)) for t in texts]
    assert got == want


def _dst_edges(year: int) -> list[dt.datetime]:
    spring, autumn = last_sunday(year, 3), last_sunday(year, 10)
    return [dt.datetime.combine(day, dt.time(hour)) for day in (spring, autumn) for hour in (0, 1, 2)]


LOCAL_TIMES = st.one_of(
    st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2100, 12, 31)),
    st.tuples(st.integers(1972, 2080), st.integers(0, 3), st.integers(0, 3599 * 10**6 + 999_999)).map(
        lambda t: _dst_edges(t[0])[t[1] % 6] + dt.timedelta(hours=t[1] // 2, microseconds=t[2] % (3600 * 10**6))),
    st.tuples(st.integers(1972, 2080), st.integers(0, 5)).map(lambda t: _dst_edges(t[0])[t[1]]),
)


@EXAMPLES
@given(st.lists(st.one_of(st.none(), LOCAL_TIMES), max_size=30))
def test_uk_local_times_convert_as_the_scalar_rule_converts_them(times: list[dt.datetime | None]) -> None:
    got = _column(columns.uk_local_to_utc(pl.col("v")), times, pl.Datetime("us"))
    want = [{"value": None, "problem": None} if t is None else
            dict(zip(("value", "problem"), uk_local_to_utc(t), strict=True)) for t in times]
    assert got == want


def test_the_dst_hours_are_named_as_the_scalar_rule_names_them() -> None:
    times = [t for year in (1996, 2016, 2024, 2037, 2050) for t in _dst_edges(year)]
    times += [t + dt.timedelta(minutes=59, seconds=59, microseconds=999_999) for t in times]
    got = _column(columns.uk_local_to_utc(pl.col("v")), times, pl.Datetime("us"))
    assert {g["problem"] for g in got} == {None, "gap", "fold"}
    assert got == [dict(zip(("value", "problem"), uk_local_to_utc(t), strict=True)) for t in times]


def _uk_change_days(first: int, last: int) -> list[dt.date]:
    """Every day from `first` to `last` (years) on which UK clocks change, as zoneinfo knows them."""
    days, day = [], dt.date(first, 1, 1)
    while day.year <= last:
        start = dt.datetime.combine(day, dt.time(0), tzinfo=UK)
        if start.utcoffset() != (start + dt.timedelta(days=1)).utcoffset():
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def test_every_uk_clock_change_from_1900_converts_as_the_scalar_rule_converts_it() -> None:
    days = _uk_change_days(1900, columns.ZONE_RULES_END_YEAR + 2)
    times = [dt.datetime.combine(day, dt.time(0)) + dt.timedelta(minutes=m) for day in days for m in range(0, 300, 10)]
    got = _column(columns.uk_local_to_utc(pl.col("v")), times, pl.Datetime("us"))
    assert len(days) > 300 and {g["problem"] for g in got} == {None, "gap", "fold"}
    assert got == [dict(zip(("value", "problem"), uk_local_to_utc(t), strict=True)) for t in times]


CODES = st.one_of(st.none(), st.text(alphabet=st.sampled_from("yYnNxß ſı\t\x1c\u3000é"), max_size=4),
                  st.text(max_size=3))


@EXAMPLES
@given(st.lists(CODES, max_size=30))
def test_flags_and_codes_read_as_the_scalar_rules_read_them(texts: list[str | None]) -> None:
    assert _column(columns.flag(pl.col("v")), texts) == [flag(t) for t in texts]
    table = {"Y": "yes", "SS": "sharp", "S": "long", None: "blank"}
    want = [table.get((t or "").strip().upper() or None) for t in texts]
    assert _column(columns.looked_up(pl.col("v"), table), texts) == want
    table = {"Y": "yes", "N": "no"}
    want = [table.get((t or "").strip().upper()) for t in texts]
    assert _column(columns.looked_up(pl.col("v"), table), texts) == want


MOJIBAKE = st.sampled_from(["café", "Zoë", "Müller", "São", "déjà", "naïve", "–", "€5", "’s"]).map(
    lambda w: w.encode("utf-8").decode("cp1252", errors="replace"))
FREE_TEXT = st.one_of(
    st.none(), st.text(max_size=20),
    st.lists(st.one_of(st.text(alphabet="abc .,", max_size=6), MOJIBAKE,
                       st.sampled_from(["\x07", "\x00", "\x1f", "\x7f", "\x85", "\x9f", "\t", "\n", "é", "ü"])),
             max_size=6).map("".join),
)


@EXAMPLES
@given(st.lists(FREE_TEXT, max_size=20))
def test_text_is_cleaned_as_clean_text_cleans_it(texts: list[str | None]) -> None:
    got = _column(columns.cleaned_text(pl.col("v")), texts)
    want: list[dict[str, Any] | None] = []
    for t in texts:
        if t is None:
            want.append(None)
            continue
        text, repairs = clean_text(t)
        want.append({"text": text, "control_chars": "control_chars" in repairs, "mojibake": "mojibake" in repairs})
    assert got == want


POSTCODES = st.one_of(
    st.none(), st.text(max_size=10),
    st.tuples(st.from_regex(r"[A-Za-z]{1,2}[0-9][A-Za-z0-9]?", fullmatch=True), WHITESPACE,
              st.from_regex(r"[0-9][A-Za-z]{2}", fullmatch=True)).map("".join),
)


@EXAMPLES
@given(st.lists(POSTCODES, max_size=30))
def test_postcodes_read_as_the_scalar_rule_reads_them(texts: list[str | None]) -> None:
    got = _column(columns.postcode(pl.col("v")), texts)
    assert got == [dict(zip(("postcode", "area"), normalise_postcode(t), strict=True)) for t in texts]


NAMES = st.one_of(st.none(), st.text(max_size=12), st.from_regex(r"[A-Za-z ]{0,8},[A-Za-z ]{0,8}", fullmatch=True))


@EXAMPLES
@given(st.lists(st.tuples(NAMES, NAMES), max_size=20))
def test_names_read_as_split_name_reads_them(pairs: list[tuple[str | None, str | None]]) -> None:
    frame = pl.DataFrame({"s": [p[0] for p in pairs], "f": [p[1] for p in pairs]},
                         schema={"s": pl.String, "f": pl.String})
    got = frame.select(columns.names(pl.col("s"), pl.col("f"))).to_series().to_list()
    assert got == [dict(zip(("surname", "forenames", "split"), split_name(*p), strict=True)) for p in pairs]


@EXAMPLES
@given(st.lists(st.tuples(st.integers(-10**12, 10**12), st.integers(1, 9)), max_size=20))
def test_keys_are_those_of_keys_py(parts: list[tuple[int, int]]) -> None:
    frame = pl.DataFrame({"a": [p[0] for p in parts], "b": [p[1] for p in parts]},
                         schema={"a": pl.Int64, "b": pl.Int64})
    got = frame.select(columns.key("case_note", pl.col("a"), pl.col("b"))).to_series().to_list()
    assert got == [str(key("case_note", a, b)) for a, b in parts]


@EXAMPLES
@given(st.lists(st.one_of(st.none(), st.text(max_size=30)), max_size=40))
@example(["12", "12\n", "12/x", "0042", "\u0661", "1234567890123", "/", ""])
def test_keys_of_any_text_are_those_of_keys_py_and_null_stays_null(values: list[str | None]) -> None:
    got = _column(columns.key("person", pl.col("v")), values)
    assert got == [None if v is None else str(key("person", v)) for v in values]
    assert all(k is None or k[14] in "58" and k[19] in "89ab" for k in got)  # version 5 or 8, the RFC variant


HO_REFS = st.one_of(st.none(), st.text(max_size=12),
                    st.text(alphabet=st.sampled_from("ab19 \t\x1c\x85\xa0\u3000ßſıé/"), max_size=8))


@EXAMPLES
@given(st.lists(st.tuples(st.integers(1, 10**9), HO_REFS), max_size=30))
def test_person_keys_and_references_are_those_of_keys_py(people: list[tuple[int, str | None]]) -> None:
    frame = pl.DataFrame({"id": [p for p, _ in people], "ho": [h for _, h in people]},
                         schema={"id": pl.Int64, "ho": pl.String})
    got = frame.with_columns(columns.ho_ref(pl.col("ho")).alias("ho")).with_columns(
        columns.person_key(pl.col("id"), pl.col("ho")).alias("key"))
    assert got["ho"].to_list() == [normalised_ho_ref(h) for _, h in people]
    assert got["key"].to_list() == [person_key_text(p, h) for p, h in people]


@EXAMPLES
@given(st.lists(HO_REFS, max_size=30))
def test_references_compact_as_normalise_ref_reads_them(refs: list[str | None]) -> None:
    assert _column(columns.compact_upper(pl.col("v")), refs) == [None if r is None else normalise_ref(r) for r in refs]
