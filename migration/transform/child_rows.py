"""Appointments, notes, decisions, vulnerabilities and referrals: a batch's legacy child tables in,
target frames and findings out, column by column."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from migration.extract.batch import legacy_schema
from migration.rules import Rules
from migration.target_schema import NOTE_TEXT_MAX
from migration.transform import columns
from migration.transform.frames import CASE_COLUMN, frame_schema

FINDING_SCHEMA = pl.Schema({"legacy_case_id": pl.Int64(), "rule": pl.String(), "entity": pl.String(),
                            "field": pl.String(), "legacy_key": pl.Int64()})
CHILD_TABLES = {"APPOINTMENT": "appointment", "CASE_NOTE": "case_note", "DECISION": "decision",
                "CASE_FLAG": "vulnerability", "UNHCR_REFERRAL": "resettlement_referral"}
SOFT_DELETED = pl.col("_deleted")


@dataclass(frozen=True)
class Check:
    """A finding raised on every row where `when` holds."""

    when: pl.Expr
    rule: str
    field: str | None


def _legacy_rows(legacy: Mapping[str, pl.DataFrame], table: str, cases: pl.DataFrame) -> pl.LazyFrame:
    """A legacy table's rows of the batch's cases, in CID's column types, with their case's key and
    whether they are soft-deleted."""
    schema = legacy_schema(table)
    given = legacy.get(table)
    if given is None:
        given = pl.DataFrame(schema=schema)
    rows = given.lazy().select([(pl.col(n) if n in given.columns else pl.lit(None)).cast(t).alias(n)
                                for n, t in schema.items()])
    return (rows.join(cases.lazy(), on="CASE_ID", how="inner", maintain_order="left")
            .with_columns(_deleted=columns.flag(pl.col("DELETED_FLG"))))


def _findings(rows: pl.DataFrame, entity: str, key: str, checks: Sequence[Check]) -> pl.DataFrame:
    """One finding per row and check that holds, in one query."""
    flags = [f"_check{n}" for n in range(len(checks))]
    return columns.collected(rows.lazy()
            .select("CASE_ID", pl.col(key).cast(pl.Int64).alias("legacy_key"),
                    *(c.when.fill_null(False).alias(f) for f, c in zip(flags, checks, strict=True)))
            .unpivot(flags, index=["CASE_ID", "legacy_key"], variable_name="check", value_name="holds")
            .filter(pl.col("holds"))
            .select(pl.col("CASE_ID").alias("legacy_case_id"),
                    pl.col("check").replace_strict(flags, [c.rule for c in checks], return_dtype=pl.String)
                    .alias("rule"),
                    pl.lit(entity, pl.String).alias("entity"),
                    pl.col("check").replace_strict(flags, [c.field for c in checks], return_dtype=pl.String)
                    .alias("field"),
                    "legacy_key"))


def _text_checks(column: str, field: str, kept: pl.Expr) -> list[Check]:
    """The repairs of a cleaned text column (a struct of columns.cleaned_text) on kept rows."""
    return [Check(kept & pl.col(column).struct.field(repair), f"text.{repair}", field)
            for repair in ("control_chars", "mojibake")]


def _shaped(table: str, rows: pl.LazyFrame) -> pl.DataFrame:
    schema = frame_schema(table)
    return columns.collected(rows.select([(pl.col("CASE_ID") if n == CASE_COLUMN else pl.col(n)).cast(t).alias(n)
                                          for n, t in schema.items()]))


def _cut_rebooking_loops(rows: pl.DataFrame) -> pl.DataFrame:
    """The appointments with each loop of rebooking links cut at its smallest appointment (marked
    `_loop_cut`). Runs in Python on the few appointments that carry a link."""
    linked = rows.filter(pl.col("source").is_not_null())
    source: dict[int, int | None] = dict(zip(linked["APPT_ID"].to_list(), linked["source"].to_list(), strict=True))
    cut: list[int] = []
    for start in sorted(source):
        seen: list[int] = []
        node: int | None = start
        while node is not None and node not in seen:
            seen.append(node)
            node = source.get(node)
        if node is not None:
            smallest = min(seen[seen.index(node):])
            source[smallest] = None
            cut.append(smallest)
    is_cut = pl.col("APPT_ID").is_in(pl.Series(cut, dtype=pl.Int64).implode())
    return rows.with_columns(_loop_cut=is_cut, source=pl.when(is_cut).then(None).otherwise(pl.col("source")))


def _appointments(legacy: Mapping[str, pl.DataFrame], cases: pl.DataFrame, people: pl.DataFrame,
                  rules: Rules) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = _legacy_rows(legacy, "APPOINTMENT", cases).with_columns(
        kind=columns.looked_up(pl.col("APPT_TYPE"), rules.appointment_kinds))
    no_time = ~SOFT_DELETED & pl.col("APPT_TS").is_null()
    no_kind = ~SOFT_DELETED & ~no_time & pl.col("kind").is_null()
    rows = rows.with_columns(_usable=~SOFT_DELETED & ~no_time & ~no_kind)
    usable = pl.col("_usable")
    # Links count only between this case's usable appointments; a link to any other is dangling.
    present = rows.filter(usable).select("CASE_ID", pl.col("APPT_ID").alias("REBOOKED_FROM_ID"),
                                         pl.lit(True).alias("_present"))
    dangling = usable & pl.col("REBOOKED_FROM_ID").is_not_null() & pl.col("_present").is_null()
    rows = (rows.join(present, on=["CASE_ID", "REBOOKED_FROM_ID"], how="left", maintain_order="left")
            .with_columns(_dangling=dangling.fill_null(False))
            .with_columns(source=pl.when(usable & ~pl.col("_dangling")).then(pl.col("REBOOKED_FROM_ID")))
            .with_columns(_time=columns.uk_local_to_utc(pl.col("APPT_TS")),
                          _venue=columns.cleaned_text(pl.col("VENUE"))))
    schema = rows.collect_schema()
    frame = columns.collected(rows.map_batches(_cut_rebooking_loops, schema={**schema, "_loop_cut": pl.Boolean()}))
    problem = pl.col("_time").struct.field("problem")
    found = _findings(frame, "appointment", "APPT_ID", [
        Check(SOFT_DELETED, "row.soft_deleted", None),
        Check(no_time, "appointment.time_missing", "starts_at"),
        Check(no_kind, "appointment.kind_unknown", "kind"),
        Check(pl.col("_dangling"), "appointment.rebooking_dangling", "rebooked_from_id"),
        Check(pl.col("_loop_cut"), "appointment.rebooking_loop", "rebooked_from_id"),
        Check(usable & (problem == "gap"), "appointment.dst_gap", "starts_at"),
        Check(usable & (problem == "fold"), "appointment.dst_fold", "starts_at"),
        *_text_checks("_venue", "venue", usable),
    ])
    # A PERSON_ID of 0 names nobody, as a missing one does.
    kept = (frame.lazy().filter(usable)
            .with_columns(PERSON_ID=pl.when(pl.col("PERSON_ID") != 0).then(pl.col("PERSON_ID")))
            .join(people.lazy(), on=["CASE_ID", "PERSON_ID"], how="left", maintain_order="left"))
    return _shaped("appointment", kept.with_columns(
        appointment_id=columns.key("appointment", pl.col("APPT_ID")),
        venue=pl.col("_venue").struct.field("text"),
        starts_at=pl.col("_time").struct.field("value"),
        outcome=columns.looked_up(pl.col("OUTCOME_CD"), rules.appointment_outcomes),
        rebooked_from_id=columns.key("appointment", pl.col("source")),
        interpreter_language=pl.col("INTERPRETER_LANG"),
        remote=columns.flag(pl.col("REMOTE_FLG")),
        legacy_appt_id=pl.col("APPT_ID"),
    )), found


def _notes(legacy: Mapping[str, pl.DataFrame], cases: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    no_time = ~SOFT_DELETED & pl.col("CREATED_TS").is_null()
    kept = ~SOFT_DELETED & ~no_time
    # A note longer than the target allows is split into parts, never cut.
    text = pl.col("_text").struct.field("text")
    parts = ((text.str.len_chars() + NOTE_TEXT_MAX - 1) // NOTE_TEXT_MAX).clip(lower_bound=1).cast(pl.Int64)
    frame = columns.collected(_legacy_rows(legacy, "CASE_NOTE", cases)
                              .with_columns(_text=columns.cleaned_text(pl.col("NOTE_TEXT").fill_null("")))
                              .with_columns(parts=parts))
    found = _findings(frame, "case_note", "NOTE_ID", [
        Check(SOFT_DELETED, "row.soft_deleted", None),
        Check(no_time, "note.time_missing", "created_at"),
        *_text_checks("_text", "text", kept),
        Check(kept & (pl.col("parts") > 1), "note.split_long", "text"),
    ])
    rows = (frame.lazy().filter(kept)
            .with_columns(part=pl.int_ranges(1, pl.col("parts") + 1, dtype=pl.Int64)).explode("part"))
    return _shaped("case_note", rows.with_columns(
        note_id=columns.key("case_note", pl.col("NOTE_ID"), pl.col("part")),
        created_at=columns.uk_local_to_utc(pl.col("CREATED_TS")).struct.field("value"),
        author=pl.col("AUTHOR_CD"),
        text=text.str.slice((pl.col("part") - 1) * NOTE_TEXT_MAX, NOTE_TEXT_MAX),
        legacy_note_id=pl.col("NOTE_ID"),
    )), found


def _decisions(legacy: Mapping[str, pl.DataFrame], cases: pl.DataFrame,
               rules: Rules) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = columns.collected(_legacy_rows(legacy, "DECISION", cases).with_columns(
        outcome=columns.looked_up(pl.col("OUTCOME_CD"), rules.decision_outcomes),
        _decided=columns.cid_date(pl.col("DECISION_DT")), _appeal=columns.cid_date(pl.col("APPEAL_DT"))))
    kept = ~SOFT_DELETED
    found = _findings(frame, "decision", "DECISION_ID", [
        Check(SOFT_DELETED, "row.soft_deleted", None),
        Check(kept & pl.col("outcome").is_null(), "decision.outcome_unknown", "outcome"),
        Check(kept & pl.col("_decided").struct.field("value").is_null(), "decision.date_unparseable", "decided_on"),
        Check(kept & pl.col("_appeal").struct.field("problem").is_not_null(), "decision.appeal_date_unparseable",
              "appeal_lodged_on"),
    ])
    return _shaped("decision", frame.lazy().filter(kept).with_columns(
        decision_id=columns.key("decision", pl.col("DECISION_ID")),
        decided_on=pl.col("_decided").struct.field("value"),
        appeal_lodged=columns.flag(pl.col("APPEAL_LODGED_FLG")),
        appeal_lodged_on=pl.col("_appeal").struct.field("value"),
        legacy_decision_id=pl.col("DECISION_ID"),
    )), found


def _vulnerabilities(legacy: Mapping[str, pl.DataFrame], cases: pl.DataFrame,
                     rules: Rules) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = columns.collected(_legacy_rows(legacy, "CASE_FLAG", cases).with_columns(
        kind=columns.looked_up(pl.col("FLAG_CD"), rules.vulnerabilities),
        _raised_on=columns.cid_date(pl.col("RAISED_DT")), _cleared_on=columns.cid_date(pl.col("CLEARED_DT")),
    ))
    no_kind = ~SOFT_DELETED & pl.col("kind").is_null()
    kept = ~SOFT_DELETED & ~no_kind
    found = _findings(frame, "vulnerability", "FLAG_ID", [
        Check(SOFT_DELETED, "row.soft_deleted", None),
        Check(no_kind, "flag.kind_unknown", "kind"),
        *(Check(kept & pl.col(f"_{target}").struct.field("problem").is_not_null(), "flag.date_unparseable", target)
          for target in ("raised_on", "cleared_on")),
    ])
    return _shaped("vulnerability", frame.lazy().filter(kept).with_columns(
        vulnerability_id=columns.key("vulnerability", pl.col("FLAG_ID")),
        raised_on=pl.col("_raised_on").struct.field("value"), cleared_on=pl.col("_cleared_on").struct.field("value"),
        legacy_flag_id=pl.col("FLAG_ID"),
    )), found


def _referrals(legacy: Mapping[str, pl.DataFrame], cases: pl.DataFrame,
               rules: Rules) -> tuple[pl.DataFrame, pl.DataFrame]:
    entity = "resettlement_referral"
    frame = columns.collected(_legacy_rows(legacy, "UNHCR_REFERRAL", cases).with_columns(
        submission_category=columns.looked_up(pl.col("SUBMISSION_CAT"), rules.submission_categories),
        _received=columns.cid_date(pl.col("RRF_RCVD_DT")), _offer=columns.cleaned_text(pl.col("LA_OFFER")),
    ))
    kept = ~SOFT_DELETED
    found = _findings(frame, entity, "REFERRAL_ID", [
        Check(SOFT_DELETED, "row.soft_deleted", None),
        Check(kept & pl.col("submission_category").is_null(), "referral.category_unknown", "submission_category"),
        Check(kept & pl.col("_received").struct.field("problem").is_not_null(), "referral.date_unparseable",
              "referral_received_on"),
        *_text_checks("_offer", "local_authority_offer", kept),
    ])
    return _shaped(entity, frame.lazy().filter(kept).with_columns(
        referral_id=columns.key(entity, pl.col("REFERRAL_ID")),
        unhcr_case_no=columns.stripped(pl.col("UNHCR_CASE_NO").fill_null("")),
        family_size=pl.col("FAMILY_SIZE"),
        referral_received_on=pl.col("_received").struct.field("value"),
        health_assessment=columns.looked_up(pl.col("MHA_STATUS"), rules.health_assessments),
        local_authority_offer=pl.col("_offer").struct.field("text"),
        legacy_referral_id=pl.col("REFERRAL_ID"),
    )), found


def child_frames(legacy: Mapping[str, pl.DataFrame], parties: pl.DataFrame, as_of: dt.date,
                 rules: Rules) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """The target frames of a batch's child tables (appointment, case_note, decision,
    vulnerability, resettlement_referral) and the findings they raise (FINDING_SCHEMA).

    `parties` names each case of the batch (CASE_ID, its key case_id) and the persons its kept
    parties name (PERSON_ID, its key person_id; null for a case with none). No child rule reads
    `as_of`: it is part of the transform's common signature."""
    del as_of
    cases = parties.select(pl.col("CASE_ID").cast(pl.Int64), pl.col("case_id").cast(pl.String)).unique(
        "CASE_ID", keep="first", maintain_order=True)
    people = parties.filter(pl.col("PERSON_ID").is_not_null()).select(
        pl.col("CASE_ID").cast(pl.Int64), pl.col("PERSON_ID").cast(pl.Int64),
        pl.col("person_id").cast(pl.String)).unique(["CASE_ID", "PERSON_ID"], keep="first", maintain_order=True)
    mapped = {
        "appointment": _appointments(legacy, cases, people, rules),
        "case_note": _notes(legacy, cases),
        "decision": _decisions(legacy, cases, rules),
        "vulnerability": _vulnerabilities(legacy, cases, rules),
        "resettlement_referral": _referrals(legacy, cases, rules),
    }
    findings = pl.concat([pl.DataFrame(schema=FINDING_SCHEMA), *(found for _, found in mapped.values())])
    return {table: rows for table, (rows, _) in mapped.items()}, findings
