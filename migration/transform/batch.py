"""Transform one batch: every case through the entity mappers, routing and tasking, then pandera
validation; quarantined cases leave no business row behind."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import petl as etl

from migration.extract import LegacyCase, LegacyReference
from migration.rules.matching import first_match
from migration.rules.routing import NEXT_TASK, PRIORITY_BANDS, ROUTES
from migration.transform.case_rows import case_row, party_and_person_rows, routing_facts
from migration.transform.child_rows import CHILD_MAPPERS
from migration.transform.context import BatchContext, CaseState
from migration.transform.findings import Finding
from migration.transform.keys import key
from migration.transform.validate import CASE_COLUMN, VALIDATED_TABLES, schema_failures

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

    @property
    def migrated(self) -> int:
        """Cases migrated in this batch."""
        return sum(o.state == "migrated" for o in self.outcomes)

    @property
    def quarantined(self) -> int:
        """Cases quarantined in this batch."""
        return sum(o.state == "quarantined" for o in self.outcomes)


def _transform_case(ctx: BatchContext, legacy: LegacyCase, tables: dict[str, list[Row]]) -> None:
    cid = legacy.case_id
    state = CaseState(legacy, key("case", cid), legacy.header.get("CASE_REF"))
    ctx.cases[cid] = state
    case = case_row(ctx, state)
    own: dict[str, list[Row]] = defaultdict(list)
    for table, row in party_and_person_rows(ctx, state):
        own[table].append(row)
    for legacy_table, target, mapper in CHILD_MAPPERS:
        own[target].extend(mapper(ctx, state, legacy.children.get(legacy_table, [])))
    main_key = state.person_keys.get(state.main_person_id or -1)
    main = next((p for p in own["person"] if p["person_id"] == main_key), None)
    addresses = [a for a in own["address"] if a["person_id"] == main_key]
    facts = routing_facts(ctx, state, main, addresses)
    route = first_match(ROUTES, facts)
    band = first_match(PRIORITY_BANDS, facts)
    assert case is not None
    case.update(owning_unit=route.outcome, routing_rule=route.name)
    own["case"].append(case)
    own["task"].append({
        "task_id": key("task", cid), "case_id": state.case_key, "unit_code": route.outcome,
        "kind": NEXT_TASK.get(case["lifecycle_state"] or "", "review_case"), "priority_band": band.outcome,
        "priority_rank": PRIORITY_BANDS.index(band) + 1,
    })
    for table, rows in own.items():
        tables[table].extend({**row, CASE_COLUMN: cid} for row in rows)


def _dedupe_persons(rows: list[Row]) -> list[Row]:
    """One row per person key: the record with the lowest legacy PERSON_ID stands for the human."""
    table = etl.fromdicts(rows, header=list(rows[0].keys())) if rows else None
    if table is None:
        return []
    best: dict[Any, Row] = {}
    for row in etl.dicts(etl.sort(table, "legacy_person_id")):
        best.setdefault(row["person_id"], row)
    return list(best.values())


def _fingerprint(rows: Sequence[Row]) -> str:
    # repr of (column, value) pairs in sorted column order: deterministic for the value types the
    # mappers produce (str, int, bool, date, datetime, UUID, None) and far cheaper than JSON.
    body = sorted(repr(sorted(r.items())) for r in rows)
    return hashlib.sha256("\n".join(body).encode()).hexdigest()


def transform_batch(cases: Sequence[LegacyCase], reference: LegacyReference, as_of: dt.date,
                    older_months: int = 36) -> TransformResult:
    """Transform and validate a batch of legacy cases into target rows and findings."""
    ctx = BatchContext(reference=reference, as_of=as_of, older_months=older_months)
    tables: dict[str, list[Row]] = defaultdict(list)
    for legacy in cases:
        _transform_case(ctx, legacy, tables)
    # Quarantined cases leave before validation, so one bad case cannot hide another's failures.
    for table in VALIDATED_TABLES:
        kept = [r for r in tables.get(table, []) if r[CASE_COLUMN] not in ctx.findings.quarantined]
        if table == "person":
            kept = _dedupe_persons(kept)
        for case_id, column in schema_failures(table, kept):
            if case_id not in ctx.findings.quarantined:
                ctx.find(case_id, "schema.violation", table, column, case_id)
    result = TransformResult(findings=ctx.findings.rows)
    per_case: dict[int, list[Row]] = defaultdict(list)
    for table in VALIDATED_TABLES:
        kept = [r for r in tables.get(table, []) if r[CASE_COLUMN] not in ctx.findings.quarantined]
        result.rows[table] = _dedupe_persons(kept) if table == "person" else kept
        for row in kept:
            per_case[row[CASE_COLUMN]].append({"_t": table, **row})
    for legacy in cases:
        cid = legacy.case_id
        quarantined = cid in ctx.findings.quarantined
        result.outcomes.append(CaseOutcome(
            cid, legacy.header.get("CASE_REF"), "quarantined" if quarantined else "migrated",
            legacy.fingerprint, None if quarantined else _fingerprint(per_case[cid])))
    return result
