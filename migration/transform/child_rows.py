"""Appointments, notes, decisions, vulnerabilities and referrals: a batch's legacy child tables in,
target frames and findings out, column by column."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa

from legacy.schema import legacy_metadata
from migration.rules import Rules
from migration.target_schema import NOTE_TEXT_MAX
from migration.transform import columns
from migration.transform.frames import CASE_COLUMN, frame_schema

FINDING_SCHEMA = pl.Schema({"legacy_case_id": pl.Int64(), "rule": pl.String(), "entity": pl.String(),
                            "field": pl.String(), "legacy_key": pl.Int64()})
DST_RULES = {"gap": "appointment.dst_gap", "fold": "appointment.dst_fold"}
CHILD_TABLES = {"APPOINTMENT": "appointment", "CASE_NOTE": "case_note", "DECISION": "decision",
                "CASE_FLAG": "vulnerability", "UNHCR_REFERRAL": "resettlement_referral"}


def _polars_type(column: sa.Column[Any]) -> pl.DataType:
    if isinstance(column.type, sa.Integer):
        return pl.Int64()
    if isinstance(column.type, sa.DateTime):
        return pl.Datetime("us")
    return pl.String()


def legacy_frame(table: str, rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """Row dictionaries of a CID table (as the driver reads them) as a frame in CID's column types."""
    schema = {c.name: _polars_type(c) for c in legacy_metadata.tables[table].columns}
    return pl.DataFrame([[r.get(n) for n in schema] for r in rows], schema=schema, orient="row")


def _legacy_frame(legacy: Mapping[str, pl.DataFrame], table: str, cases: pl.DataFrame) -> pl.DataFrame:
    """A legacy table's rows of the batch's cases, in CID's column types, with their case's key."""
    schema = {c.name: _polars_type(c) for c in legacy_metadata.tables[table].columns}
    given = legacy.get(table)
    if given is None:
        given = pl.DataFrame(schema=schema)
    rows = given.select([(pl.col(n) if n in given.columns else pl.lit(None)).cast(t).alias(n)
                         for n, t in schema.items()])
    return rows.join(cases, on="CASE_ID", how="inner", maintain_order="left")


def _found(rows: pl.DataFrame, rule: str | pl.Expr, entity: str, field: str | None, key: str) -> pl.DataFrame:
    """One finding per row."""
    return rows.select(pl.col("CASE_ID").alias("legacy_case_id"),
                       (pl.lit(rule) if isinstance(rule, str) else rule).cast(pl.String).alias("rule"),
                       pl.lit(entity, pl.String).alias("entity"), pl.lit(field, pl.String).alias("field"),
                       pl.col(key).cast(pl.Int64).alias("legacy_key"))


class _Findings:
    """The findings of a batch's child tables, gathered as frames."""

    def __init__(self) -> None:
        self.frames: list[pl.DataFrame] = []

    def where(self, rows: pl.DataFrame, when: pl.Expr, rule: str | pl.Expr, entity: str, field: str | None,
              key: str) -> None:
        """Record a finding for every row where `when` holds."""
        self.frames.append(_found(rows.filter(when), rule, entity, field, key))

    def drop(self, rows: pl.DataFrame, when: pl.Expr, rule: str, entity: str, field: str | None,
             key: str) -> pl.DataFrame:
        """Record a finding for, and drop, every row where `when` holds."""
        when = when.fill_null(False)
        self.where(rows, when, rule, entity, field, key)
        return rows.filter(~when)

    def kept(self, rows: pl.DataFrame, entity: str, key: str) -> pl.DataFrame:
        """The rows not soft-deleted; each soft-deleted row is a finding."""
        return self.drop(rows, columns.flag(pl.col("DELETED_FLG")), "row.soft_deleted", entity, None, key)

    def cleaned(self, rows: pl.DataFrame, column: str, entity: str, field: str, key: str) -> pl.DataFrame:
        """The rows with `column` cleaned; each kind of repair of a value is a finding."""
        rows = rows.with_columns(columns.cleaned_text(pl.col(column)).alias("_cleaned"))
        for repair in ("control_chars", "mojibake"):
            self.where(rows, pl.col("_cleaned").struct.field(repair).fill_null(False), f"text.{repair}", entity,
                       field, key)
        return rows.with_columns(pl.col("_cleaned").struct.field("text").alias(column)).drop("_cleaned")

    def frame(self) -> pl.DataFrame:
        """All findings as one frame."""
        return pl.concat([pl.DataFrame(schema=FINDING_SCHEMA), *self.frames], how="vertical")


def _shaped(table: str, rows: pl.DataFrame) -> pl.DataFrame:
    schema = frame_schema(table)
    rows = rows.with_columns(pl.col("CASE_ID").alias(CASE_COLUMN))
    return rows.select([pl.col(n).cast(t) for n, t in schema.items()])


def _cut_rebooking_loops(links: pl.DataFrame, found: _Findings) -> set[int]:
    """The appointments whose link is cut to break a loop: the smallest of each loop (recorded).
    Runs in Python on the few appointments that carry a link."""
    case_of = dict(zip(links["APPT_ID"].to_list(), links["CASE_ID"].to_list(), strict=True))
    source: dict[int, int | None] = dict(zip(links["APPT_ID"].to_list(), links["source"].to_list(), strict=True))
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
    loops = pl.DataFrame({"CASE_ID": [case_of[a] for a in cut], "APPT_ID": cut},
                         schema={"CASE_ID": pl.Int64, "APPT_ID": pl.Int64})
    found.where(loops, pl.lit(True), "appointment.rebooking_loop", "appointment", "rebooked_from_id", "APPT_ID")
    return set(cut)


def _appointments(legacy: Mapping[str, pl.DataFrame], cases: pl.DataFrame, people: pl.DataFrame, rules: Rules,
                  found: _Findings) -> pl.DataFrame:
    rows = found.kept(_legacy_frame(legacy, "APPOINTMENT", cases), "appointment", "APPT_ID")
    rows = found.drop(rows, pl.col("APPT_TS").is_null(), "appointment.time_missing", "appointment", "starts_at",
                      "APPT_ID")
    rows = rows.with_columns(columns.looked_up(pl.col("APPT_TYPE"), rules.appointment_kinds).alias("kind"))
    rows = found.drop(rows, pl.col("kind").is_null(), "appointment.kind_unknown", "appointment", "kind", "APPT_ID")
    present = rows.select("CASE_ID", pl.col("APPT_ID").alias("REBOOKED_FROM_ID"), pl.lit(True).alias("_present"))
    rows = rows.join(present, on=["CASE_ID", "REBOOKED_FROM_ID"], how="left", maintain_order="left")
    dangling = pl.col("REBOOKED_FROM_ID").is_not_null() & pl.col("_present").is_null()
    found.where(rows, dangling, "appointment.rebooking_dangling", "appointment", "rebooked_from_id", "APPT_ID")
    rows = rows.with_columns(source=pl.when(dangling).then(None).otherwise(pl.col("REBOOKED_FROM_ID")))
    cut = _cut_rebooking_loops(rows.filter(pl.col("source").is_not_null()), found)
    if cut:
        rows = rows.with_columns(source=pl.when(pl.col("APPT_ID").is_in(list(cut))).then(None)
                                 .otherwise(pl.col("source")))
    rows = rows.with_columns(columns.uk_local_to_utc(pl.col("APPT_TS")).alias("_time"))
    problem = pl.col("_time").struct.field("problem")
    found.where(rows, problem.is_not_null(), problem.replace_strict(DST_RULES), "appointment", "starts_at",
                "APPT_ID")
    rows = found.cleaned(rows, "VENUE", "appointment", "venue", "APPT_ID")
    # A PERSON_ID of 0 names nobody, as a missing one does.
    rows = rows.with_columns(PERSON_ID=pl.when(pl.col("PERSON_ID") != 0).then(pl.col("PERSON_ID")))
    rows = rows.join(people, on=["CASE_ID", "PERSON_ID"], how="left", maintain_order="left")
    return _shaped("appointment", rows.with_columns(
        appointment_id=columns.key("appointment", pl.col("APPT_ID")),
        venue=pl.col("VENUE"),
        starts_at=pl.col("_time").struct.field("value"),
        outcome=columns.looked_up(pl.col("OUTCOME_CD"), rules.appointment_outcomes),
        rebooked_from_id=columns.key("appointment", pl.col("source")),
        interpreter_language=pl.col("INTERPRETER_LANG"),
        remote=columns.flag(pl.col("REMOTE_FLG")),
        legacy_appt_id=pl.col("APPT_ID"),
    ))


def _notes(legacy: Mapping[str, pl.DataFrame], cases: pl.DataFrame, found: _Findings) -> pl.DataFrame:
    rows = found.kept(_legacy_frame(legacy, "CASE_NOTE", cases), "case_note", "NOTE_ID")
    rows = found.drop(rows, pl.col("CREATED_TS").is_null(), "note.time_missing", "case_note", "created_at",
                      "NOTE_ID")
    rows = found.cleaned(rows.with_columns(pl.col("NOTE_TEXT").fill_null("")), "NOTE_TEXT", "case_note", "text",
                         "NOTE_ID")
    # A note longer than the target allows is split into parts, never cut.
    parts = ((pl.col("NOTE_TEXT").str.len_chars() + NOTE_TEXT_MAX - 1) // NOTE_TEXT_MAX).clip(lower_bound=1)
    rows = rows.with_columns(parts=parts.cast(pl.Int64))
    found.where(rows, pl.col("parts") > 1, "note.split_long", "case_note", "text", "NOTE_ID")
    rows = rows.with_columns(part=pl.int_ranges(1, pl.col("parts") + 1, dtype=pl.Int64)).explode("part")
    return _shaped("case_note", rows.with_columns(
        note_id=columns.key("case_note", pl.col("NOTE_ID"), pl.col("part")),
        created_at=columns.uk_local_to_utc(pl.col("CREATED_TS")).struct.field("value"),
        author=pl.col("AUTHOR_CD"),
        text=pl.col("NOTE_TEXT").str.slice((pl.col("part") - 1) * NOTE_TEXT_MAX, NOTE_TEXT_MAX),
        legacy_note_id=pl.col("NOTE_ID"),
    ))


def _decisions(legacy: Mapping[str, pl.DataFrame], cases: pl.DataFrame, rules: Rules,
               found: _Findings) -> pl.DataFrame:
    rows = found.kept(_legacy_frame(legacy, "DECISION", cases), "decision", "DECISION_ID")
    rows = rows.with_columns(outcome=columns.looked_up(pl.col("OUTCOME_CD"), rules.decision_outcomes),
                             _decided=columns.cid_date(pl.col("DECISION_DT")),
                             _appeal=columns.cid_date(pl.col("APPEAL_DT")))
    found.where(rows, pl.col("outcome").is_null(), "decision.outcome_unknown", "decision", "outcome",
                "DECISION_ID")
    found.where(rows, pl.col("_decided").struct.field("value").is_null(), "decision.date_unparseable", "decision",
                "decided_on", "DECISION_ID")
    found.where(rows, pl.col("_appeal").struct.field("problem").is_not_null(), "decision.appeal_date_unparseable",
                "decision", "appeal_lodged_on", "DECISION_ID")
    return _shaped("decision", rows.with_columns(
        decision_id=columns.key("decision", pl.col("DECISION_ID")),
        decided_on=pl.col("_decided").struct.field("value"),
        appeal_lodged=columns.flag(pl.col("APPEAL_LODGED_FLG")),
        appeal_lodged_on=pl.col("_appeal").struct.field("value"),
        legacy_decision_id=pl.col("DECISION_ID"),
    ))


def _vulnerabilities(legacy: Mapping[str, pl.DataFrame], cases: pl.DataFrame, rules: Rules,
                     found: _Findings) -> pl.DataFrame:
    rows = found.kept(_legacy_frame(legacy, "CASE_FLAG", cases), "vulnerability", "FLAG_ID")
    rows = rows.with_columns(kind=columns.looked_up(pl.col("FLAG_CD"), rules.vulnerabilities))
    rows = found.drop(rows, pl.col("kind").is_null(), "flag.kind_unknown", "vulnerability", "kind", "FLAG_ID")
    dates = {}
    for column, target in (("RAISED_DT", "raised_on"), ("CLEARED_DT", "cleared_on")):
        rows = rows.with_columns(columns.cid_date(pl.col(column)).alias(f"_{target}"))
        found.where(rows, pl.col(f"_{target}").struct.field("problem").is_not_null(), "flag.date_unparseable",
                    "vulnerability", target, "FLAG_ID")
        dates[target] = pl.col(f"_{target}").struct.field("value")
    return _shaped("vulnerability", rows.with_columns(
        vulnerability_id=columns.key("vulnerability", pl.col("FLAG_ID")), **dates, legacy_flag_id=pl.col("FLAG_ID"),
    ))


def _referrals(legacy: Mapping[str, pl.DataFrame], cases: pl.DataFrame, rules: Rules,
               found: _Findings) -> pl.DataFrame:
    entity = "resettlement_referral"
    rows = found.kept(_legacy_frame(legacy, "UNHCR_REFERRAL", cases), entity, "REFERRAL_ID")
    rows = rows.with_columns(
        submission_category=columns.looked_up(pl.col("SUBMISSION_CAT"), rules.submission_categories),
        _received=columns.cid_date(pl.col("RRF_RCVD_DT")))
    found.where(rows, pl.col("submission_category").is_null(), "referral.category_unknown", entity,
                "submission_category", "REFERRAL_ID")
    found.where(rows, pl.col("_received").struct.field("problem").is_not_null(), "referral.date_unparseable", entity,
                "referral_received_on", "REFERRAL_ID")
    rows = found.cleaned(rows, "LA_OFFER", entity, "local_authority_offer", "REFERRAL_ID")
    return _shaped(entity, rows.with_columns(
        referral_id=columns.key(entity, pl.col("REFERRAL_ID")),
        unhcr_case_no=columns.stripped(pl.col("UNHCR_CASE_NO").fill_null("")),
        family_size=pl.col("FAMILY_SIZE"),
        referral_received_on=pl.col("_received").struct.field("value"),
        health_assessment=columns.looked_up(pl.col("MHA_STATUS"), rules.health_assessments),
        local_authority_offer=pl.col("LA_OFFER"),
        legacy_referral_id=pl.col("REFERRAL_ID"),
    ))


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
    found = _Findings()
    frames = {
        "appointment": _appointments(legacy, cases, people, rules, found),
        "case_note": _notes(legacy, cases, found),
        "decision": _decisions(legacy, cases, rules, found),
        "vulnerability": _vulnerabilities(legacy, cases, rules, found),
        "resettlement_referral": _referrals(legacy, cases, rules, found),
    }
    return frames, found.frame()
