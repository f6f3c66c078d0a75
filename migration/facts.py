"""The facts about a legacy case that the wave plan, the routing table and the tasking priority
match on: one function, for many cases at once, from the same legacy rows whether the plan or the
transform asks; and the first-match tables applied to them.

A new fact is a name in FACT_NAMES and a column of `fact_frame`; the rules files may then name it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING

import polars as pl
from dateutil.relativedelta import relativedelta

from migration.parsers import clean_text

if TYPE_CHECKING:
    from migration.rules.matching import Rule
    from migration.rules.rulebook import Rules
    from migration.transform.nationality import NationalityMapper

FACT_NAMES = frozenset({
    "case_type", "detained", "nsa", "uasc", "high_profile", "high_harm", "supported", "older", "nationality",
    "gender", "nationality_specialism", "specialist_nationality", "accommodation", "postcode_region",
    "legacy_region",
})
# The facts drawn from the main applicant's addresses (a reader that asks none may leave them out).
ADDRESS_FACTS = frozenset({"accommodation", "postcode_region"})


@cache  # one as-of date and period for a whole plan or batch
def older_cutoff(as_of: dt.date, months: int) -> dt.date:
    """The date before which a case received counts as older (as_of minus `months` calendar months)."""
    cutoff: dt.date = as_of - relativedelta(months=months)
    return cutoff


def fact_frame(cases: pl.DataFrame, flags: pl.DataFrame, main_addresses: pl.DataFrame, as_of: dt.date,
               rules: Rules, nationality: NationalityMapper, unit_regions: Mapping[str, str]) -> pl.DataFrame:
    """The facts of many cases at once: CASE_ID and one column per fact.

    `cases`: CASE_HDR's columns with MAIN_PERSON_ID and that person's NATIONALITY and GENDER (null
    without one main applicant); `flags`: CASE_FLAG rows; `main_addresses`: the main applicant's
    ADDRESS rows with the CASE_ID they stand for, in ADDRESS_ID order."""
    # Imported on use: the rules files' models import this module, and the transform imports them.
    from migration.transform.columns import cid_date, postcode
    from migration.transform.lookups import code, derive, flag, lookup, stripped

    live_flag = (~flag("DELETED_FLG") & (stripped("CLEARED_DT").fill_null("") == "")
                 & (pl.col("FLAG_CD").fill_null("") != ""))
    kinds = flags.filter(live_flag).with_columns(lookup(pl.col("FLAG_CD"), rules.vulnerabilities).alias("_kind"))
    vulnerable = kinds.group_by("CASE_ID").agg(
        *((pl.col("_kind") == kind).any().alias(f"_{kind}")
          for kind in ("detained", "non_suspensive_appeal", "uasc", "high_profile")))
    frame = cases.join(vulnerable, on="CASE_ID", how="left", maintain_order="left")
    frame = frame.with_columns(cid_date(pl.col("DATE_RCVD")).struct.field("value").alias("_received"))
    frame = derive(frame, ["NATIONALITY"], lambda t: (nationality.map(t)[0],), {"_iso3": pl.String()})
    has_main = pl.col("MAIN_PERSON_ID").is_not_null()
    iso3 = pl.when(has_main).then(pl.col("_iso3"))
    frame = frame.with_columns(iso3.alias("_nationality")).join(
        _current_addresses(main_addresses, rules), on="CASE_ID", how="left", maintain_order="left")
    frame = frame.with_columns(postcode(pl.col("_postcode")).struct.field("area").alias("_area"))
    unit = stripped("OWNING_UNIT_CD").fill_null("")
    specialism = lookup(pl.col("_nationality").fill_null(""), rules.specialism_of)
    return frame.select(
        "CASE_ID",
        lookup(code("CASE_TYPE"), rules.case_types).alias("case_type"),
        (flag("DETAINED_FLG") | pl.col("_detained").fill_null(False)).alias("detained"),
        pl.col("_non_suspensive_appeal").fill_null(False).alias("nsa"),
        pl.col("_uasc").fill_null(False).alias("uasc"),
        pl.col("_high_profile").fill_null(False).alias("high_profile"),
        flag("HIGH_HARM_FLG").alias("high_harm"), flag("SUPPORTED_FLG").alias("supported"),
        (pl.col("_received") < older_cutoff(as_of, rules.older_case_months)).fill_null(False).alias("older"),
        pl.col("_nationality").alias("nationality"),
        lookup(pl.when(has_main).then(code("GENDER")).otherwise(pl.lit("")), rules.genders)
        .fill_null("unspecified").alias("gender"),
        specialism.alias("nationality_specialism"), specialism.is_not_null().alias("specialist_nationality"),
        pl.col("_accommodation").alias("accommodation"),
        lookup(pl.col("_area").fill_null(""), rules.postcode_area_regions).alias("postcode_region"),
        lookup(lookup(unit, unit_regions).fill_null(""), rules.legacy_region_units).alias("legacy_region"),
    )


def _current_addresses(addresses: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """CASE_ID -> (_accommodation, _postcode) of the address each case is at: of its main
    applicant's addresses that the target keeps, the last with no end date, else the last one."""
    from migration.transform.columns import cid_date
    from migration.transform.lookups import code, derive, flag, lookup

    frame = derive(addresses, ["LINE1"], lambda t: (bool(clean_text(t or "")[0]),), {"_lined": pl.Boolean()})
    frame = frame.with_columns(cid_date(pl.col("TO_DT")).struct.field("value").is_null().alias("_open"))
    kind = lookup(code("ADDR_TYPE"), rules.address_kinds)
    kept = frame.with_columns(kind.alias("_kind")).filter(
        ~flag("DELETED_FLG") & pl.col("_kind").is_not_null() & pl.col("_lined"))
    current = kept.group_by("CASE_ID", maintain_order=True).agg(
        pl.col("_open").any().alias("_any_open"),
        pl.col("_kind").filter(pl.col("_open")).last().alias("_open_kind"),
        pl.col("POSTCODE").filter(pl.col("_open")).last().alias("_open_postcode"),
        pl.col("_kind").last().alias("_last_kind"), pl.col("POSTCODE").last().alias("_last_postcode"))
    return current.select(
        "CASE_ID",
        pl.when(pl.col("_any_open")).then(pl.col("_open_kind")).otherwise(pl.col("_last_kind")).alias("_accommodation"),
        pl.when(pl.col("_any_open")).then(pl.col("_open_postcode")).otherwise(pl.col("_last_postcode"))
        .alias("_postcode"))


def first_matches(facts: pl.DataFrame, table: Sequence[Rule]) -> pl.DataFrame:
    """CASE_ID -> `outcome` and `rule` (its name): the first rule of the table each case's facts
    match (matching.first_match's rule), as one expression built from the table: of each rule's
    position where its conditions hold, the first."""
    holding: list[pl.Expr] = [pl.when(_holds(facts, rule)).then(pl.lit(n, pl.Int32)) for n, rule in enumerate(table)]
    first = pl.coalesce(holding) if holding else pl.lit(None, pl.Int32)
    chosen = facts.select("CASE_ID", first.alias("_position"))
    if chosen["_position"].null_count():
        raise LookupError("no rule matched and the table has no catch-all")
    positions = list(range(len(table)))

    def of_rule(values: list[str]) -> pl.Expr:
        return pl.col("_position").replace_strict(positions, values, return_dtype=pl.String)

    return chosen.select("CASE_ID", of_rule([r.outcome for r in table]).alias("outcome"),
                         of_rule([r.name for r in table]).alias("rule"))


def _holds(facts: pl.DataFrame, rule: Rule) -> pl.Expr:
    """Whether every condition of the rule holds for each case (Rule.matches, column-wise)."""
    holds = pl.lit(True)
    for fact, wanted in rule.when.items():
        dtype = facts.schema.get(fact) if fact in FACT_NAMES else None
        options = wanted if isinstance(wanted, frozenset) else (wanted,)
        equal = [_equals(pl.col(fact), dtype, value) for value in options]
        holds = holds & pl.any_horizontal(pl.lit(False), *equal)
    return holds


def _equals(column: pl.Expr, dtype: pl.DataType | None, value: object) -> pl.Expr:
    """The fact equals the value: never for a null, a fact the frame lacks or another type (as
    Python's == between a bool and a text)."""
    if (isinstance(value, bool) and dtype == pl.Boolean) or (isinstance(value, str) and dtype == pl.String):
        return (column == value).fill_null(False)
    return pl.lit(False)
