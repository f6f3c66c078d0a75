"""Transform one batch: every case through the entity mappers, routing and tasking, then pandera
validation; quarantined cases leave no business row behind."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import petl as etl
import polars as pl

from migration.extract import LegacyCase, LegacyReference
from migration.rules import Rules, current_rules
from migration.rules.matching import first_match
from migration.transform.case_rows import case_facts_of, case_row, party_and_person_rows
from migration.transform.child_rows import CHILD_TABLES, child_frames, legacy_frame
from migration.transform.context import BatchContext, CaseState
from migration.transform.findings import Finding
from migration.transform.frames import dicts_of
from migration.transform.keys import key
from migration.transform.validate import CASE_COLUMN, VALIDATED_TABLES, schema_failures, uuid_columns

Row = dict[str, Any]


@dataclass
class CaseOutcome:
    """What became of one case in this batch."""

    legacy_case_id: int
    legacy_ref: str | None
    state: str  # migrated | quarantined
    legacy_fingerprint: str
    target_fingerprint: str | None


@dataclass
class TransformResult:
    """Target rows per table (each carrying `_case`), findings and per-case outcomes."""

    rows: dict[str, list[Row]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    outcomes: list[CaseOutcome] = field(default_factory=list)
    # Every case's reading of each person on it, before one row per person is kept.
    person_records: list[Row] = field(default_factory=list)
    rules: Rules = field(default_factory=current_rules)

    @property
    def migrated(self) -> int:
        """Cases migrated in this batch."""
        return sum(o.state == "migrated" for o in self.outcomes)

    @property
    def quarantined(self) -> int:
        """Cases quarantined in this batch."""
        return sum(o.state == "quarantined" for o in self.outcomes)

    def only(self, case_ids: set[int]) -> TransformResult:
        """The rows and outcomes of these cases alone (findings are not carried)."""
        rows = {t: [r for r in rows if r[CASE_COLUMN] in case_ids] for t, rows in self.rows.items()}
        return TransformResult(rows=rows, outcomes=[o for o in self.outcomes if o.legacy_case_id in case_ids],
                               rules=self.rules)

    def refuse(self, refused: dict[int, tuple[str, str | None]]) -> None:
        """Quarantine cases whose rows the target refused, under the policy of `load.rejected`."""
        if not refused:
            return
        self.rows = {t: [r for r in rows if r[CASE_COLUMN] not in refused] for t, rows in self.rows.items()}
        for outcome in self.outcomes:
            if outcome.legacy_case_id in refused:
                table, place = refused[outcome.legacy_case_id]
                outcome.state, outcome.target_fingerprint = "quarantined", None
                p = self.rules.policy("load.rejected")
                self.findings.append(Finding(outcome.legacy_case_id, outcome.legacy_ref, "load.rejected", table,
                                             place, outcome.legacy_case_id, p.defect, p.action))


def _transform_case(ctx: BatchContext, legacy: LegacyCase, tables: dict[str, list[Row]]) -> None:
    cid = legacy.case_id
    state = CaseState(legacy, key("case", cid), legacy.header.get("CASE_REF"))
    ctx.cases[cid] = state
    case = case_row(ctx, state)
    own: dict[str, list[Row]] = defaultdict(list)
    for table, row in party_and_person_rows(ctx, state):
        own[table].append(row)
    facts = case_facts_of(ctx, state)
    route = first_match(ctx.rules.routes, facts)
    band = first_match(ctx.rules.priority_bands, facts)
    assert case is not None
    case.update(owning_unit=route.outcome, routing_rule=route.name)
    own["case"].append(case)
    own["task"].append({
        "task_id": key("task", cid), "case_id": state.case_key, "unit_code": route.outcome,
        "kind": ctx.rules.next_task.get(case["lifecycle_state"] or "", ctx.rules.default_task),
        "priority_band": band.outcome, "priority_rank": ctx.rules.priority_rank(band),
    })
    for table, rows in own.items():
        for row in rows:
            row[CASE_COLUMN] = cid
        tables[table].extend(rows)


def _child_rows(ctx: BatchContext, cases: Sequence[LegacyCase], tables: dict[str, list[Row]]) -> None:
    legacy = {t: legacy_frame(t, [r for case in cases for r in case.children.get(t, [])]) for t in CHILD_TABLES}
    parties = pl.DataFrame(
        [(cid, str(state.case_key), pid, str(pkey))
         for cid, state in ctx.cases.items() for pid, pkey in (state.person_keys.items() or [(None, None)])],
        schema={"CASE_ID": pl.Int64, "case_id": pl.String, "PERSON_ID": pl.Int64, "person_id": pl.String},
        orient="row")
    frames, found = child_frames(legacy, parties, ctx.as_of, ctx.rules)
    for table, frame in frames.items():
        tables[table].extend(dicts_of(table, frame))
    for case_id, rule, entity, field_name, legacy_key in found.iter_rows():
        ctx.find(case_id, rule, entity, field_name, legacy_key)


def _dedupe_persons(rows: list[Row]) -> list[Row]:
    """One row per person key: the record with the lowest legacy PERSON_ID stands for the human."""
    if not rows:
        return []
    best: dict[Any, Row] = {}
    for row in etl.dicts(etl.sort(etl.fromdicts(rows, header=list(rows[0].keys())), "legacy_person_id")):
        best.setdefault(row["person_id"], row)
    return list(best.values())


def row_texts(table: str, rows: Sequence[Row]) -> Iterator[str]:
    """Each row as the text its case's target fingerprint hashes: the table's name and the repr of
    the row's values (mappers build every row with its columns in one fixed order), keys as
    integers: deterministic for the value types the mappers produce and far cheaper than JSON."""
    if not rows:
        return
    keys = [n for n, column in enumerate(rows[0]) if column in uuid_columns(table)]
    for row in rows:
        values = list(row.values())
        for n in keys:
            if values[n] is not None:
                values[n] = values[n].int
        yield f"{table}{tuple(values)!r}"


def _fingerprint(texts: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(texts)).encode()).hexdigest()


def transform_batch(cases: Sequence[LegacyCase], reference: LegacyReference, as_of: dt.date,
                    rules: Rules | None = None) -> TransformResult:
    """Transform and validate a batch of legacy cases into target rows and findings, by the rules
    given or else the rules in force."""
    ctx = BatchContext(reference=reference, as_of=as_of, rules=rules or current_rules())
    tables: dict[str, list[Row]] = defaultdict(list)
    for legacy in cases:
        _transform_case(ctx, legacy, tables)
    _child_rows(ctx, cases, tables)
    quarantined = ctx.findings.quarantined

    def kept(table: str) -> list[Row]:
        rows = [r for r in tables.get(table, []) if r[CASE_COLUMN] not in quarantined]
        return _dedupe_persons(rows) if table == "person" else rows

    # Quarantined cases leave before validation, so one bad case cannot hide another's failures.
    candidates = {table: kept(table) for table in VALIDATED_TABLES}
    for table, rows in candidates.items():
        for case_id, column in schema_failures(table, rows):
            if case_id not in quarantined:
                ctx.find(case_id, "schema.violation", table, column, case_id)
    result = TransformResult(findings=ctx.findings.rows, person_records=tables.get("person", []), rules=ctx.rules)
    per_case: dict[int, list[str]] = defaultdict(list)
    for table, rows in candidates.items():
        result.rows[table] = [r for r in rows if r[CASE_COLUMN] not in quarantined] if quarantined else rows
        for row, text in zip(result.rows[table], row_texts(table, result.rows[table]), strict=True):
            per_case[row[CASE_COLUMN]].append(text)
    for legacy in cases:
        cid = legacy.case_id
        state = "quarantined" if cid in quarantined else "migrated"
        result.outcomes.append(CaseOutcome(cid, legacy.header.get("CASE_REF"), state, legacy.fingerprint,
                                           None if state == "quarantined" else _fingerprint(per_case[cid])))
    return result
