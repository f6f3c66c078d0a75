"""Routing and tasking of a batch's cases: the first-match tables of the rules applied once per
distinct combination of facts, the owning unit and the task row of every case."""

from __future__ import annotations

import polars as pl

from migration.facts import FACT_NAMES
from migration.rules import Rules
from migration.rules.matching import first_match
from migration.transform.keys import keys_of
from migration.transform.lookups import derive, lookup


def routed(facts: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """CASE_ID -> owning_unit, routing_rule, priority_band, priority_rank, by the facts of each case."""
    names = sorted(FACT_NAMES)

    def match(*values: object) -> tuple[str, str, str, int]:
        case_facts = dict(zip(names, values, strict=True))
        route, band = first_match(rules.routes, case_facts), first_match(rules.priority_bands, case_facts)
        return route.outcome, route.name, band.outcome, rules.priority_rank(band)

    return derive(facts, names, match, {"owning_unit": pl.String(), "routing_rule": pl.String(),
                                        "priority_band": pl.String(), "priority_rank": pl.Int64()}).select(
        "CASE_ID", "owning_unit", "routing_rule", "priority_band", "priority_rank")


def task_rows(cases: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """The next task of every case (`cases`: CASE_ID, case_id, lifecycle_state and its routing)."""
    kind = lookup(pl.col("lifecycle_state").fill_null(""), rules.next_task).fill_null(rules.default_task)
    return cases.select(keys_of("task", cases["CASE_ID"]).alias("task_id"), "case_id",
                        pl.col("owning_unit").alias("unit_code"), kind.alias("kind"), "priority_band",
                        "priority_rank", pl.col("CASE_ID").alias("_case"))
