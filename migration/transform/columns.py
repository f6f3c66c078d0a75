"""CID's value rules over whole columns: the Polars forms of migration/parsers.py's dates, UK local
times, flags, codes, free text, postcodes and names, and of keys.py's keys. Each gives, value
for value, what its scalar version gives (tests/migration/test_columns.py holds them equal)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import polars as pl

from migration import parsers
from migration.parsers import MONTHS, YEAR_PIVOT, clean_text, split_name
from migration.transform.keys import ORDERED_DIGITS, ROW_ID, VARIANT_DIGITS, name_digests

UK_ZONE = "Europe/London"
# Polars' bundled zone rules stop at 2099 (no summer time from 2100); zoneinfo's go on, so later
# times take the scalar rule.
ZONE_RULES_END_YEAR = 2100
# The characters Python's str.strip() and str.split() treat as whitespace (all lie below U+3001):
# Polars' own whitespace set differs (it leaves U+001C..U+001F alone).
PY_WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
_WHITESPACE_CLASS = "[" + "".join(f"\\x{{{ord(c):X}}}" for c in PY_WHITESPACE) + "]"
_CONTROL = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]"
_NOT_PLAIN = r"[^\t\n\r\x20-\x7E]"

DATE_FIELDS = {"value": pl.Date(), "precision": pl.String(), "problem": pl.String()}
TIME_FIELDS = {"value": pl.Datetime("us", "UTC"), "problem": pl.String()}
TEXT_FIELDS = {"text": pl.String(), "control_chars": pl.Boolean(), "mojibake": pl.Boolean()}
POSTCODE_FIELDS = {"postcode": pl.String(), "area": pl.String()}
NAME_FIELDS = {"surname": pl.String(), "forenames": pl.String(), "split": pl.Boolean()}


def collected(frame: pl.LazyFrame) -> pl.DataFrame:
    """A batch-sized query's result, from the in-memory engine: the streaming engine's start-up
    costs more than such a query itself."""
    return frame.collect(engine="in-memory")


def stripped(text: pl.Expr) -> pl.Expr:
    """Text with leading and trailing whitespace removed, as Python's str.strip() does."""
    return text.str.strip_chars(PY_WHITESPACE)


def code(text: pl.Expr) -> pl.Expr:
    """A code as lookups read it: stripped and upper-cased (null stays null)."""
    return stripped(text).str.to_uppercase()


def flag(text: pl.Expr) -> pl.Expr:
    """CID's Y/N/NULL flags as booleans: only 'Y' is true (parsers.flag)."""
    return (code(text) == "Y").fill_null(False)


def looked_up(text: pl.Expr, table: Mapping[Any, str]) -> pl.Expr:
    """A code's entry in a lookup table, null when absent (a null code reads as blank); a `None`
    entry answers the blank code, as the tables whose empty code means "none yet" hold it."""
    entries = {("" if k is None else k): v for k, v in table.items()}
    return code(text).fill_null("").replace_strict(list(entries), list(entries.values()), default=None,
                                                   return_dtype=pl.String)


def _parts(text: pl.Expr, pattern: str) -> list[pl.Expr]:
    groups = text.str.extract_groups(pattern)
    return [groups.struct.field(str(n)) for n in (1, 2, 3)]


def _days_in_month(year: pl.Expr, month: pl.Expr) -> pl.Expr:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    return (pl.when(month == 2).then(pl.when(leap).then(29).otherwise(28))
            .when(month.is_in([4, 6, 9, 11])).then(30).otherwise(31))


@cache
def _date_stages() -> tuple[tuple[pl.Expr, ...], ...]:
    """The stages of reading CID dates, built once: each reads the columns the stages before named
    (one expression reusing its parts would repeat them as a tree)."""
    s = pl.col("s")
    iso_y, iso_m, iso_d = _parts(s, r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
    uk_d, uk_m, uk_y = _parts(s, r"^([0-9]{2})/([0-9]{2})/([0-9]{4})$")
    ora_d, ora_mon, ora_yy = _parts(s, r"^([0-9]{2})-([A-Za-z]{3})-([0-9]{2})$")
    cmp_y, cmp_m, cmp_d = _parts(s, r"^([0-9]{4})([0-9]{2})([0-9]{2})$")
    yy = ora_yy.cast(pl.Int32)
    ora_y = pl.when(yy < YEAR_PIVOT).then(2000 + yy).otherwise(1900 + yy)
    ora_m = ora_mon.str.to_uppercase().replace_strict(list(MONTHS), list(MONTHS.values()), default=None,
                                                      return_dtype=pl.Int32)
    y, m, d = pl.col("y"), pl.col("m"), pl.col("d")
    real_m, real_d, ok = pl.col("real_m"), pl.col("real_d"), pl.col("ok")
    return (
        (stripped(s),),
        ((s.is_null() | (s == "")).alias("blank"),
         pl.coalesce(iso_y.cast(pl.Int32), uk_y.cast(pl.Int32), ora_y, cmp_y.cast(pl.Int32)).alias("y"),
         pl.coalesce(iso_m.cast(pl.Int32), uk_m.cast(pl.Int32), ora_m, cmp_m.cast(pl.Int32)).alias("m"),
         pl.coalesce(iso_d.cast(pl.Int32), uk_d.cast(pl.Int32), ora_d.cast(pl.Int32), cmp_d.cast(pl.Int32)).alias("d")),
        ((y.is_null() | m.is_null() | d.is_null() | (m > 12) | (d > 31)).fill_null(True).alias("unreadable"),
         (m == 0).alias("whole_year"),
         pl.when(m == 0).then(1).otherwise(m).alias("real_m"),
         pl.when((m == 0) | (d == 0)).then(1).otherwise(d).alias("real_d")),
        (((pl.col("whole_year") & (d != 0)) | (y < 1900) | (real_d > _days_in_month(y, real_m)))
         .fill_null(False).alias("impossible"),),
        ((~pl.col("blank") & ~pl.col("unreadable") & ~pl.col("impossible")).alias("ok"),),
        (pl.struct(
            value=pl.when(ok).then(pl.date(pl.when(ok).then(y).otherwise(2000),
                                           pl.when(ok).then(real_m).otherwise(1),
                                           pl.when(ok).then(real_d).otherwise(1))),
            precision=pl.when(~ok).then(pl.lit("unknown")).when(pl.col("whole_year")).then(pl.lit("year"))
            .when(d == 0).then(pl.lit("month")).otherwise(pl.lit("day")),
            problem=pl.when(pl.col("blank")).then(pl.lit(None, pl.String)).when(pl.col("unreadable"))
            .then(pl.lit("unparseable")).when(pl.col("impossible")).then(pl.lit("impossible"))
            .otherwise(pl.lit(None, pl.String)),
        ).alias("date"),),
    )


def _parsed_dates(texts: pl.Series) -> pl.Series:
    frame = pl.LazyFrame({"s": texts})
    for stage in _date_stages():
        frame = frame.with_columns(stage)
    return collected(frame.select("date")).to_series()


def _cid_dates(texts: pl.Series) -> pl.Series:
    """Each date read once per distinct text when texts repeat (the days of a batch or a plan
    range do, many times over), else one by one."""
    values = texts.cast(pl.String)
    distinct = values.unique()
    if 2 * distinct.len() > values.len():
        return _parsed_dates(values).alias(texts.name)
    table = pl.DataFrame({"s": distinct, "date": _parsed_dates(distinct)})
    joined = values.to_frame("s").join(table, on="s", how="left", nulls_equal=True, maintain_order="left")
    return joined["date"].alias(texts.name)


def cid_date(text: pl.Expr) -> pl.Expr:
    """CID date strings read as parsers.parse_cid_date reads them: a struct of value (Date),
    precision and problem (null when readable or blank)."""
    return text.map_batches(_cid_dates, return_dtype=pl.Struct(DATE_FIELDS), is_elementwise=True)


def uk_local_to_utc(local: pl.Expr) -> pl.Expr:
    """Naive UK local times as UTC instants by parsers.uk_local_to_utc's rule: a struct of value and
    problem (`gap` for the skipped hour, read with the offset before the change; `fold` for the
    repeated hour, read as its first occurrence; else null)."""
    naive = local.cast(pl.Datetime("us"))
    first = naive.dt.replace_time_zone(UK_ZONE, ambiguous="earliest", non_existent="null")
    second = naive.dt.replace_time_zone(UK_ZONE, ambiguous="latest", non_existent="null")
    # Every UK gap is one hour long, so an hour earlier lies before the change and carries its offset.
    hour_before = naive - pl.duration(hours=1)
    before_utc = (hour_before.dt.replace_time_zone(UK_ZONE, ambiguous="earliest", non_existent="null")
                  .dt.convert_time_zone("UTC").dt.replace_time_zone(None))
    gap_utc = (naive - (hour_before - before_utc)).dt.replace_time_zone("UTC")
    gap = naive.is_not_null() & first.is_null()
    value = pl.when(gap).then(gap_utc).otherwise(first.dt.convert_time_zone("UTC"))
    problem = pl.when(gap).then(pl.lit("gap")).when(first != second).then(pl.lit("fold")).otherwise(None)
    vectorised = pl.struct(value.alias("value"), problem.cast(pl.String).alias("problem"))
    scalar = naive.map_batches(_late_times, return_dtype=pl.Struct(TIME_FIELDS), is_elementwise=True)
    return pl.when(naive.dt.year() >= ZONE_RULES_END_YEAR).then(scalar).otherwise(vectorised)


def _late_times(values: pl.Series) -> pl.Series:
    late = (values.dt.year() >= ZONE_RULES_END_YEAR).fill_null(False)
    return _through_python(values, lambda t: dict(zip(TIME_FIELDS, parsers.uk_local_to_utc(t), strict=True)),
                           late, pl.Struct(TIME_FIELDS))


def _through_python(values: pl.Series, fn: Callable[[Any], Any], keep: pl.Series,
                    dtype: pl.DataType) -> pl.Series:
    """`fn` of each value where `keep` holds (null elsewhere), computed once per distinct value."""
    places = keep.fill_null(False).arg_true().to_list()
    answers: list[Any] = [None] * len(values)
    memo: dict[Any, Any] = {}
    for place, value in zip(places, values.gather(places).to_list(), strict=True):
        answers[place] = memo[value] if value in memo else memo.setdefault(value, fn(value))
    return pl.Series(values.name, answers, dtype=dtype)


def _cleaned_series(values: pl.Series) -> pl.Series:
    raw = values.cast(pl.String)
    text = raw.clone()  # scatter writes in place
    control = pl.repeat(False, len(raw), dtype=pl.Boolean, eager=True)
    mojibake = pl.repeat(False, len(raw), dtype=pl.Boolean, eager=True)
    # One scan sets aside the values holding anything but printable ASCII, tab and line ends: only
    # those can hold a control character or text ftfy would change; the rest stand as they are.
    odd = raw.str.contains(_NOT_PLAIN).fill_null(False).arg_true()
    if not odd.is_empty():
        some = _cleaned_odd(raw.gather(odd))
        text.scatter(odd, some["text"])
        control.scatter(odd, some["control_chars"])
        mojibake.scatter(odd, some["mojibake"])
    cleaned = pl.DataFrame({"text": text, "control_chars": control, "mojibake": mojibake}).to_struct(values.name)
    return pl.select(pl.when(pl.lit(raw).is_not_null()).then(pl.lit(cleaned))).to_series().alias(values.name)


def _cleaned_odd(some: pl.Series) -> pl.DataFrame:
    """clean_text's answers (TEXT_FIELDS) for texts holding more than plain ASCII: control
    characters removed in Polars; where non-ASCII text is held, clean_text itself decides (ftfy
    and its detector), once per distinct text. (UTF-8 spends one byte a character only on ASCII.)"""
    removed = some.str.replace_all(_CONTROL, "")
    non_ascii = some.str.len_bytes() != some.str.len_chars()
    slow = _through_python(some, _clean_text_fields, non_ascii, pl.Struct(TEXT_FIELDS)).struct.unnest()
    return pl.DataFrame({"removed": removed, "changed": removed != some, "non_ascii": non_ascii,
                         **{f"_{n}": slow[n] for n in TEXT_FIELDS}}).select(
        pl.when("non_ascii").then("_text").otherwise("removed").alias("text"),
        pl.when("non_ascii").then("_control_chars").otherwise("changed").alias("control_chars"),
        pl.when("non_ascii").then("_mojibake").otherwise(False).alias("mojibake"))


def _clean_text_fields(text: str) -> dict[str, Any]:
    fixed, repairs = clean_text(text)
    return {"text": fixed, "control_chars": "control_chars" in repairs, "mojibake": "mojibake" in repairs}


def cleaned_text(text: pl.Expr) -> pl.Expr:
    """Free text cleaned as parsers.clean_text cleans it: a struct of the text and whether control
    characters were removed and mojibake repaired (null for null)."""
    return text.map_batches(_cleaned_series, return_dtype=pl.Struct(TEXT_FIELDS), is_elementwise=True)


def _postcode_series(values: pl.Series) -> pl.Series:
    compact = values.cast(pl.String).str.replace_all(_WHITESPACE_CLASS, "").str.to_uppercase()
    parts = compact.str.extract_groups(r"^([A-Z]{1,2})([0-9][A-Z0-9]?)([0-9][A-Z]{2})$").struct.unnest()
    return parts.select(pl.struct(postcode=pl.concat_str(pl.col("1"), pl.col("2"), pl.lit(" "), pl.col("3")),
                                  area=pl.col("1"))).to_series().alias(values.name)


def postcode(text: pl.Expr) -> pl.Expr:
    """Postcodes as parsers.normalise_postcode reads them: a struct of the canonical postcode and its
    area, both null when the text is no postcode."""
    return text.map_batches(_postcode_series, return_dtype=pl.Struct(POSTCODE_FIELDS), is_elementwise=True)


def _names_series(pair: pl.Series) -> pl.Series:
    parts = pair.struct.unnest()
    memo: dict[tuple[str | None, str | None], dict[str, Any]] = {}
    answers = [memo[p] if p in memo else memo.setdefault(p, dict(zip(NAME_FIELDS, split_name(*p), strict=True)))
               for p in parts.iter_rows()]
    return pl.Series(pair.name, answers, dtype=pl.Struct(NAME_FIELDS))


def names(surname: pl.Expr, forenames: pl.Expr) -> pl.Expr:
    """Names as parsers.split_name reads them: a struct of surname, forenames and whether a
    `SURNAME, Forenames` held in forenames was split (computed once per distinct pair)."""
    pair = pl.struct(surname.cast(pl.String).alias("surname"), forenames.cast(pl.String).alias("forenames"))
    return pair.map_batches(_names_series, return_dtype=pl.Struct(NAME_FIELDS), is_elementwise=True)


def _keys_series(names: pl.Series) -> pl.Series:
    """key_text of each name: SHA-1 in Python (Polars has none), the canonical text in Polars (the
    leading legacy row id's digits in place of the first twelve hex digits, version 8, where the
    name's first part is one; version 5 otherwise)."""
    digests = pl.Series(names.name, name_digests(names.cast(pl.Binary).to_list()), dtype=pl.Binary)
    hexed = digests.bin.encode("hex")
    first = names.str.split("/").list.get(1, null_on_oob=True)
    ordered = first.str.contains(f"^{ROW_ID}$").fill_null(False)
    frame = pl.DataFrame({"hexed": hexed, "first": first, "ordered": ordered})
    hexed_at = pl.col("hexed").str.slice
    head = pl.when("ordered").then(pl.col("first").str.zfill(ORDERED_DIGITS)).otherwise(hexed_at(0, 12))
    version = pl.when("ordered").then(pl.lit("-8")).otherwise(pl.lit("-5"))
    variant = hexed_at(16, 1).replace_strict(VARIANT_DIGITS, return_dtype=pl.String)
    parts = [head.str.slice(0, 8), "-", head.str.slice(8, 4), version, hexed_at(13, 3), "-", variant,
             hexed_at(17, 3), "-", hexed_at(20, 12)]
    texts = frame.select(pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in parts])).to_series()
    return texts.alias(names.name)


def key(entity: str, *parts: pl.Expr) -> pl.Expr:
    """keys.key(entity, *parts) per row, as canonical UUID text; null where a part is null."""
    return _key_of_name(pl.concat_str([pl.lit(entity), *(p.cast(pl.String) for p in parts)], separator="/"))


def _key_of_name(name: pl.Expr) -> pl.Expr:
    return name.map_batches(_keys_series, return_dtype=pl.String, is_elementwise=True)


def _compact_upper_series(values: pl.Series) -> pl.Series:
    raw = values.cast(pl.String)
    # Polars upper-cases ASCII as Python does; text with any other character goes through the
    # scalar rule (UTF-8 spends one byte a character only on ASCII).
    compact = raw.str.replace_all(_WHITESPACE_CLASS, "").str.to_uppercase()
    non_ascii = raw.str.len_bytes() != raw.str.len_chars()
    slow = _through_python(raw, parsers.normalise_ref, non_ascii, pl.String())
    return pl.select(pl.when(pl.lit(non_ascii)).then(pl.lit(slow)).otherwise(pl.lit(compact))).to_series().alias(
        values.name)


def compact_upper(text: pl.Expr) -> pl.Expr:
    """References as parsers.normalise_ref reads them: no whitespace of any kind, upper case
    (null stays null)."""
    return text.map_batches(_compact_upper_series, return_dtype=pl.String, is_elementwise=True)


def ho_ref(text: pl.Expr) -> pl.Expr:
    """Home Office references as keys.normalised_ho_ref reads them: no whitespace, upper case,
    null when nothing is left."""
    return compact_upper(text).replace("", None)


def person_key(person_id: pl.Expr, ho: pl.Expr) -> pl.Expr:
    """keys.person_key_text per row, from PERSON_ID and the reference `ho_ref` gives: the human's
    key by Home Office reference where there is one, else by PERSON_ID."""
    return _key_of_name(pl.when(ho.is_not_null()).then(pl.concat_str(pl.lit("person/ho/"), ho))
                        .otherwise(pl.concat_str(pl.lit("person/id/"), person_id.cast(pl.String))))
