"""Routing and tasking of a batch's cases: the owning unit and the task row of every case, by the
first-match tables of the rules."""

from __future__ import annotations

import polars as pl

from migration.facts import first_matches
from migration.rules import Rules
from migration.transform.lookups import keys_of, lookup


def routed(facts: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """CASE_ID -> owning_unit, routing_rule, priority_band, priority_rank, by the facts of each case."""
    route = first_matches(facts, rules.routes)
    band = first_matches(facts, rules.priority_bands)
    ranks = {rule.name: rules.priority_rank(rule) for rule in rules.priority_bands}
    return route.select("CASE_ID", pl.col("outcome").alias("owning_unit"), pl.col("rule").alias("routing_rule")).join(
        band.select("CASE_ID", pl.col("outcome").alias("priority_band"),
                    lookup(pl.col("rule"), ranks, pl.Int64()).alias("priority_rank")),
        on="CASE_ID", how="left", maintain_order="left")


def task_rows(cases: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """The next task of every case (`cases`: CASE_ID, case_id, lifecycle_state and its routing)."""
    kind = lookup(pl.col("lifecycle_state").fill_null(""), rules.next_task).fill_null(rules.default_task)
    return cases.select(keys_of("task", cases["CASE_ID"]).alias("task_id"), "case_id",
                        pl.col("owning_unit").alias("unit_code"), kind.alias("kind"), "priority_band",
                        "priority_rank", pl.col("CASE_ID").alias("_case"))
