"""Case headers as frames: the target case row of every case of a batch, with its findings."""

from __future__ import annotations

import datetime as dt

import polars as pl

from migration.extract.reference import LegacyReference
from migration.parsers import normalise_ref
from migration.rules import Rules
from migration.transform.findings import found
from migration.transform.lookups import code, derive, flag, keys_of, lookup, parsed_dates

LIVE = ~flag("DELETED_FLG")


def _appealed(decisions: pl.DataFrame) -> pl.DataFrame:
    """CASE_ID -> whether the case's latest live decision has an appeal lodged."""
    latest = decisions.filter(LIVE).sort("DECISION_ID").unique("CASE_ID", keep="last")
    return latest.select("CASE_ID", flag("APPEAL_LODGED_FLG").alias("_appealed"))


def case_frame(headers: pl.DataFrame, decisions: pl.DataFrame, reference: LegacyReference, as_of: dt.date,
               rules: Rules) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """Every case header's target case row (keyed `CASE_ID`, with `_received`; routing is added
    later) and the findings about it."""

    def lifecycle(status: str, appealed: bool) -> tuple[str | None, str | None]:
        if not status:
            return None, "case.status_missing"
        if status not in reference.statuses:
            return None, "case.status_unknown"
        if reference.statuses[status][1] and status in rules.retired_statuses:
            return rules.retired_statuses[status], "case.status_retired"
        state = rules.lifecycle_for(status, appealed)
        return state, None if state else "case.status_unknown"

    frame = headers.join(_appealed(decisions), on="CASE_ID", how="left", maintain_order="left").with_columns(
        code("STATUS_CD").alias("_status"), pl.col("_appealed").fill_null(False),
        lookup(code("CASE_TYPE"), rules.case_types).alias("_case_type"))
    frame = derive(frame, ["_status", "_appealed"], lifecycle, {"_lifecycle": pl.String(), "_status_rule": pl.String()})
    frame = derive(frame, ["CASE_REF"], lambda ref: (normalise_ref(ref or ""),), {"_ref": pl.String()})
    frame = parsed_dates(frame, "DATE_RCVD", "_rcvd")
    received_rule = (pl.when(pl.col("_rcvd_problem").is_not_null())
                     .then(pl.concat_str(pl.lit("case.received_"), pl.col("_rcvd_problem")))
                     .when(pl.col("_rcvd_value").is_null()).then(pl.lit("case.received_missing"))
                     .when(pl.col("_rcvd_value") > as_of).then(pl.lit("case.received_impossible")))
    colliding = pl.col("CASE_REF").fill_null("") != ""
    colliding = colliding & pl.col("_ref").is_in(pl.Series(sorted(reference.colliding_refs), dtype=pl.String).implode())
    findings = [
        found(frame, received_rule.is_not_null(), received_rule, "case", "received_on", "CASE_ID"),
        found(frame, pl.col("CASE_TYPE").is_null(), "case.type_missing", "case", "case_type", "CASE_ID"),
        found(frame, pl.col("CASE_TYPE").is_not_null() & pl.col("_case_type").is_null(), "case.type_unknown",
              "case", "case_type", "CASE_ID"),
        found(frame, colliding, "case.reference_collision", "case", "case_ref", "CASE_ID"),
        found(frame, pl.col("_status_rule").is_not_null(), pl.col("_status_rule"), "case", "lifecycle_state",
              "CASE_ID"),
    ]
    cases = frame.select(
        pl.col("CASE_ID"), keys_of("case", frame["CASE_ID"]).alias("case_id"), pl.col("_ref").alias("case_ref"),
        pl.col("CASE_REF").fill_null("").alias("legacy_ref"), pl.col("CASE_ID").alias("legacy_case_id"),
        pl.col("_status").alias("legacy_status_code"), pl.col("_case_type").alias("case_type"),
        pl.col("_lifecycle").alias("lifecycle_state"), pl.col("_rcvd_value").alias("received_on"),
        flag("PRIORITY_FLG").alias("priority"), flag("DETAINED_FLG").alias("detained"),
        flag("SUPPORTED_FLG").alias("supported"), flag("HIGH_HARM_FLG").alias("high_harm"),
        pl.col("_rcvd_value").alias("_received"))
    return cases, findings
