"""Parties, persons and their addresses as frames: who is on each case of a batch, each case's
reading of each person on it, and the findings about them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl

from migration.extract.batch import LegacyBatch
from migration.extract.reference import LegacyReference
from migration.parsers import clean_text, split_name
from migration.rules import Rules
from migration.target_schema import NAME_MAX
from migration.transform import columns
from migration.transform.findings import found
from migration.transform.lookups import code, derive, flag, keys_of, lookup, parsed_dates
from migration.transform.nationality import NationalityMapper

REPAIRS = pl.List(pl.String())


@dataclass(frozen=True)
class PartyFrames:
    """What the parties of a batch's cases give: target rows, who is on each case, findings."""

    case_party: pl.DataFrame
    person: pl.DataFrame  # every case's reading of each person on it
    address: pl.DataFrame
    named: pl.DataFrame  # CASE_ID, case_id, PERSON_ID, person_id of each kept party (nulls: none kept)
    mains: pl.DataFrame  # CASE_ID, MAIN_PERSON_ID of the cases with exactly one main applicant
    findings: list[pl.DataFrame]


def _cleaned(text: str | None) -> tuple[str | None, list[str]]:
    if text is None:
        return None, []
    fixed, repairs = clean_text(text)
    return fixed, [f"text.{r}" for r in repairs]


def _fit(name: str | None) -> str | None:
    return name[:NAME_MAX] if name else name


def _names(surname: str | None, forenames: str | None) -> tuple[Any, ...]:
    surname, surname_repairs = _cleaned(surname)
    forenames, forenames_repairs = _cleaned(forenames)
    surname, forenames, was_split = split_name(surname, forenames)
    return (_fit(surname), _fit(forenames), surname_repairs, forenames_repairs, was_split,
            surname is None and forenames is None)


def _person_values(persons: pl.DataFrame, rules: Rules, nationality: NationalityMapper) -> pl.DataFrame:
    """Each PERSON row with what the rules derive from it alone (names, dates, codes, key)."""
    frame = derive(persons, ["SURNAME", "FORENAMES"], _names, {
        "_surname": pl.String(), "_forenames": pl.String(), "_surname_repairs": REPAIRS,
        "_forenames_repairs": REPAIRS, "_split": pl.Boolean(), "_nameless": pl.Boolean()})
    frame = parsed_dates(frame, "DOB", "_dob")
    frame = derive(frame, ["NATIONALITY"], nationality.map, {"_iso3": pl.String(), "_how": pl.String()})
    frame = frame.with_columns(columns.ho_ref(pl.col("HO_REF")).alias("_ho"))
    return frame.with_columns(columns.person_key(pl.col("PERSON_ID"), pl.col("_ho")).alias("_key"),
                              lookup(code("GENDER"), rules.genders).alias("_gender"))


def _repairs(frame: pl.DataFrame, column: str, entity: str, field: str, key: str) -> pl.DataFrame:
    exploded = frame.select("CASE_ID", key, pl.col(column).alias("_repair")).explode("_repair")
    return found(exploded, pl.col("_repair").is_not_null(), pl.col("_repair"), entity, field, key)


def _readings(named: pl.DataFrame, persons: pl.DataFrame, cases: pl.DataFrame, reference: LegacyReference,
              as_of: dt.date) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """Each case's reading of each person its kept parties name, and the findings about it."""
    frame = (named.unique(["CASE_ID", "PERSON_ID"], keep="first", maintain_order=True)
             .join(persons, on="PERSON_ID", how="inner", maintain_order="left")
             .join(cases.select("CASE_ID", "_received"), on="CASE_ID", how="left", maintain_order="left"))
    birth = pl.col("_dob_value")
    impossible = pl.col("_dob_problem").is_null() & birth.is_not_null() & (
        (birth > as_of) | (pl.col("_received").is_not_null() & (birth > pl.col("_received"))))
    frame = frame.with_columns(impossible.alias("_impossible"))
    duplicates = pl.Series(sorted(reference.duplicate_ho_refs), dtype=pl.String)
    findings = [
        _repairs(frame, "_surname_repairs", "person", "surname", "PERSON_ID"),
        _repairs(frame, "_forenames_repairs", "person", "forenames", "PERSON_ID"),
        found(frame, pl.col("_split"), "person.name_split", "person", "surname", "PERSON_ID"),
        found(frame, pl.col("_nameless"), "person.name_missing", "person", "surname", "PERSON_ID"),
        found(frame, pl.col("_dob_problem").is_not_null(),
              pl.concat_str(pl.lit("person.birth_date_"), pl.col("_dob_problem")), "person", "birth_date", "PERSON_ID"),
        found(frame, pl.col("_impossible"), "person.birth_date_impossible", "person", "birth_date", "PERSON_ID"),
        found(frame, pl.col("_how") == "free_text", "person.nationality_free_text", "person", "nationality",
              "PERSON_ID"),
        found(frame, pl.col("_how").is_in(["unmappable", "missing"]), "person.nationality_unmappable", "person",
              "nationality", "PERSON_ID"),
        found(frame, pl.col("_gender").is_null(), "person.gender_unknown", "person", "gender", "PERSON_ID"),
        found(frame, pl.col("_ho").is_in(duplicates.implode()), "person.duplicate_merged", "person", "person_id",
              "PERSON_ID"),
    ]
    birth_date = pl.when(pl.col("_impossible")).then(None).otherwise(birth)
    rows = frame.select(
        pl.col("_key").alias("person_id"), pl.col("_surname").alias("surname"),
        pl.col("_forenames").alias("forenames"), birth_date.alias("birth_date"),
        pl.when(birth_date.is_not_null()).then(pl.col("_dob_precision")).otherwise(pl.lit("unknown"))
        .alias("birth_date_precision"),
        pl.col("_iso3").alias("nationality"), pl.col("_gender").fill_null("unspecified").alias("gender"),
        pl.col("_ho").alias("home_office_ref"), pl.col("PORT_REF").alias("port_ref"),
        pl.col("LANGUAGE").alias("language"), flag("INTERPRETER_FLG").alias("interpreter_needed"),
        pl.col("PERSON_ID").alias("legacy_person_id"), pl.col("CASE_ID").alias("_case"))
    return rows, findings


def _address_values(addresses: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """Each ADDRESS row with what the rules derive from it alone."""
    frame = addresses
    for column in ("LINE1", "LINE2", "TOWN"):
        frame = derive(frame, [column], _cleaned, {f"_{column}": pl.String(), f"_{column}_repairs": REPAIRS})
    frame = frame.with_columns(columns.postcode(pl.col("POSTCODE")).struct.field("postcode").alias("_postcode"))
    frame = parsed_dates(parsed_dates(frame, "FROM_DT", "_from"), "TO_DT", "_to")
    live = ~flag("DELETED_FLG")
    typed = live & pl.col("_kind").is_not_null()
    return frame.with_columns(lookup(code("ADDR_TYPE"), rules.address_kinds).alias("_kind")).with_columns(
        live.alias("_live"), typed.alias("_typed"),
        (typed & (pl.col("_LINE1").fill_null("") != "")).alias("_kept"))


def _addresses(readings: pl.DataFrame, addresses: pl.DataFrame) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """The addresses of each case's readings of persons, and the findings about them."""
    frame = readings.select(pl.col("_case").alias("CASE_ID"), pl.col("legacy_person_id").alias("PERSON_ID"),
                            "person_id").join(addresses, on="PERSON_ID", how="inner", maintain_order="left")
    kept = pl.col("_kept")
    findings = [
        found(frame, ~pl.col("_live"), "row.soft_deleted", "address", None, "ADDRESS_ID"),
        found(frame, pl.col("_live") & ~pl.col("_typed"), "address.kind_unknown", "address", "kind", "ADDRESS_ID"),
        _repairs(frame.filter(pl.col("_typed")), "_LINE1_repairs", "address", "line1", "ADDRESS_ID"),
        found(frame, pl.col("_typed") & ~kept, "address.line1_missing", "address", "line1", "ADDRESS_ID"),
        found(frame, kept & pl.col("_postcode").is_null() & (pl.col("POSTCODE").fill_null("") != ""),
              "address.postcode_malformed", "address", "postcode", "ADDRESS_ID"),
        found(frame, kept & pl.col("_from_problem").is_not_null(), "address.date_unparseable", "address",
              "valid_from", "ADDRESS_ID"),
        found(frame, kept & pl.col("_to_problem").is_not_null(), "address.date_unparseable", "address", "valid_to",
              "ADDRESS_ID"),
        _repairs(frame.filter(kept), "_LINE2_repairs", "address", "line2", "ADDRESS_ID"),
        _repairs(frame.filter(kept), "_TOWN_repairs", "address", "town", "ADDRESS_ID"),
    ]
    kept_rows = frame.filter(kept)
    rows = kept_rows.select(
        keys_of("address", kept_rows["ADDRESS_ID"]).alias("address_id"), "person_id",
        pl.col("_LINE1").alias("line1"), pl.col("_LINE2").alias("line2"), pl.col("_TOWN").alias("town"),
        pl.col("_postcode").alias("postcode"), pl.col("_from_value").alias("valid_from"),
        pl.col("_to_value").alias("valid_to"), pl.col("_kind").alias("kind"),
        pl.col("ADDRESS_ID").alias("legacy_address_id"), pl.col("PERSON_ID").alias("legacy_person_id"),
        pl.col("CASE_ID").alias("_case"))
    return rows, findings


def party_frames(legacy: LegacyBatch, cases: pl.DataFrame, reference: LegacyReference, as_of: dt.date,
                 rules: Rules, nationality: NationalityMapper) -> PartyFrames:
    """Parties of every case of the batch with their persons and addresses (`cases`: the case
    frame, with CASE_ID, case_id and _received)."""
    persons = _person_values(legacy["PERSON"], rules, nationality)
    frame = legacy["CASE_PERSON"].join(
        persons.select("PERSON_ID", pl.lit(True).alias("_present"), flag("DELETED_FLG").alias("_person_deleted"),
                       "_key"), on="PERSON_ID", how="left", maintain_order="left"
    ).join(cases.select("CASE_ID", "case_id"), on="CASE_ID", how="inner", maintain_order="left").with_columns(
        pl.col("_present").fill_null(False), lookup(code("ROLE_CD"), rules.party_roles).alias("_role"))
    deleted = flag("DELETED_FLG") | (pl.col("_present") & pl.col("_person_deleted").fill_null(False))
    orphan = ~deleted & ~pl.col("_present")
    kept = ~deleted & pl.col("_present") & pl.col("_role").is_not_null()
    findings = [
        found(frame, deleted, "row.soft_deleted", "case_party", None, "CASE_PERSON_ID"),
        found(frame, orphan, "party.orphan", "case_party", "person_id", "CASE_PERSON_ID"),
        found(frame, ~deleted & pl.col("_present") & pl.col("_role").is_null(), "party.role_unknown", "case_party",
              "role", "CASE_PERSON_ID"),
    ]
    kept_parties = frame.filter(kept)
    case_party = kept_parties.select(
        keys_of("case_party", kept_parties["CASE_PERSON_ID"]).alias("case_party_id"), "case_id",
        pl.col("_key").alias("person_id"), pl.col("_role").alias("role"),
        lookup(code("RELATIONSHIP"), rules.relationships).alias("relationship"),
        pl.col("CASE_PERSON_ID").alias("legacy_case_person_id"), pl.col("CASE_ID").alias("_case"))
    counted = kept_parties.filter(pl.col("_role") == "main_applicant").group_by("CASE_ID").agg(
        pl.col("PERSON_ID").n_unique().alias("_mains"), pl.col("PERSON_ID").first().alias("MAIN_PERSON_ID"))
    per_case = cases.select("CASE_ID").join(counted, on="CASE_ID", how="left", maintain_order="left")
    findings += [
        found(per_case, pl.col("_mains").is_null(), "party.no_main_applicant", "case_party", "role", "CASE_ID"),
        found(per_case, pl.col("_mains") > 1, "party.two_main_applicants", "case_party", "role", "CASE_ID"),
    ]
    named = kept_parties.select("CASE_ID", "case_id", "PERSON_ID", pl.col("_key").alias("person_id"))
    readings, person_findings = _readings(named, persons, cases, reference, as_of)
    address, address_findings = _addresses(readings, _address_values(legacy["ADDRESS"], rules))
    unnamed = cases.select("CASE_ID", "case_id").join(named, on="CASE_ID", how="anti")
    unnamed = unnamed.with_columns(pl.lit(None, pl.Int64).alias("PERSON_ID"),
                                   pl.lit(None, pl.String).alias("person_id"))
    everyone = pl.concat([named.unique(["CASE_ID", "PERSON_ID"], maintain_order=True), unnamed])
    return PartyFrames(case_party, readings, address, everyone, per_case.filter(pl.col("_mains") == 1)
                       .select("CASE_ID", "MAIN_PERSON_ID"), findings + person_findings + address_findings)
