"""Balance the two sides: conservation of cases per wave, child rows, control totals; every
difference becomes a discrepancy naming the key (and, where known, the field)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from migration.rules.waves import CATCH_UP, WAVE_ORDER
from reconciliation.legacy_side import LegacySide
from reconciliation.target_side import TargetSide

TOTAL_KEYS = ("in_flight", "migrated", "quarantined", "pending", "excluded", "unexplained")


@dataclass(frozen=True)
class Discrepancy:
    """One difference between CID and the target."""

    kind: str
    entity: str
    legacy_key: int | None
    field: str | None = None
    legacy_case_id: int | None = None
    wave: str | None = None


@dataclass
class Reconciliation:
    """The reconciliation's result: totals overall and per wave, entities, discrepancies."""

    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOTAL_KEYS, 0))
    waves: dict[str, dict[str, Any]] = field(default_factory=dict)
    entities: list[dict[str, Any]] = field(default_factory=list)
    discrepancies: list[Discrepancy] = field(default_factory=list)
    migrated_by_wave: dict[str, set[int]] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        """Balanced: no discrepancy and every in-flight case explained."""
        return not self.discrepancies and self.totals["unexplained"] == 0

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of the report."""
        return {
            "balanced": self.balanced, "totals": self.totals,
            "waves": [{"name": name, **counts} for name, counts in self.waves.items()],
            "entities": self.entities,
            "discrepancies": [{k: v for k, v in asdict(d).items()} for d in self.discrepancies],
        }


def _case_state(case_id: int, legacy: LegacySide, target: TargetSide) -> tuple[str, Discrepancy | None]:
    state = target.states.get(case_id)
    wave = target.plan.get(case_id, CATCH_UP)
    if case_id in target.migrated:
        if state != "migrated":
            return "unexplained", Discrepancy("unexpected_in_target", "case", case_id, "state", case_id, wave)
        return "migrated", None
    if state == "quarantined":
        return "quarantined", None
    if state == "migrated":
        return "unexplained", Discrepancy("missing_in_target", "case", case_id, None, case_id, wave)
    if case_id in target.plan and wave in target.completed_waves:
        return "unexplained", Discrepancy("missing_in_target", "case", case_id, None, case_id, wave)
    return "pending", None


def balance(legacy: LegacySide, target: TargetSide, only_wave: str | None = None) -> Reconciliation:
    """Compare both sides and return the reconciliation."""
    result = Reconciliation()
    waves: dict[str, Counter[str]] = {w: Counter() for w in WAVE_ORDER}
    migrated_by_wave: dict[str, set[int]] = defaultdict(set)
    for case_id in legacy.in_flight:
        wave = target.plan.get(case_id, CATCH_UP)
        if only_wave and wave != only_wave:
            continue
        state, problem = _case_state(case_id, legacy, target)
        waves[wave]["in_flight"] += 1
        waves[wave][state] += 1
        if problem:
            result.discrepancies.append(problem)
        if state == "migrated":
            migrated_by_wave[wave].add(case_id)
    for case_id in sorted(target.migrated - set(legacy.in_flight)):
        wave = target.plan.get(case_id, CATCH_UP)
        if not only_wave or wave == only_wave:
            result.discrepancies.append(Discrepancy("unexpected_in_target", "case", case_id, None, case_id, wave))
    for wave, counts in waves.items():
        if only_wave and wave != only_wave:
            continue
        result.waves[wave] = {k: counts.get(k, 0) for k in TOTAL_KEYS if k != "excluded"}
        result.waves[wave]["entities"] = []
    for key in TOTAL_KEYS:
        result.totals[key] = sum(int(w.get(key, 0)) for w in result.waves.values())
    result.totals["excluded"] = len(legacy.excluded)
    result.migrated_by_wave = dict(migrated_by_wave)
    result.entities = _children(legacy, target, migrated_by_wave, result.discrepancies, result.waves)
    return result


def _children(legacy: LegacySide, target: TargetSide, migrated_by_wave: dict[str, set[int]],
              discrepancies: list[Discrepancy], waves: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every child row of a migrated case is in the target, dropped with a record, or merged;
    control totals per entity, overall and per wave."""
    overall = []
    for entity, by_case in legacy.children.items():
        totals: Counter[str] = Counter()
        for wave, cases in migrated_by_wave.items():
            counts: Counter[str] = Counter()
            for case_id in sorted(cases):
                expected = set(by_case.get(case_id, ()))
                present = _present(entity, case_id, target)
                dropped = expected & target.dropped.get(entity, set())
                merged = expected & target.merged if entity == "person" else set()
                missing = expected - present - dropped - merged
                counts["legacy"] += len(expected)
                counts["target"] += len(expected & present)
                counts["dropped"] += len(dropped - present)
                counts["merged"] += len(merged - present)
                for key in sorted(missing):
                    discrepancies.append(Discrepancy("child_row_missing", entity, key, None, case_id, wave))
            totals.update(counts)
            if wave in waves:
                waves[wave].setdefault("entities", []).append(_entity_row(entity, counts))
        overall.append(_entity_row(entity, totals))
    return overall


def _entity_row(entity: str, counts: Counter[str]) -> dict[str, Any]:
    accounted = counts["target"] + counts["dropped"] + counts["merged"]
    return {"entity": entity, "legacy": counts["legacy"], "target": counts["target"], "dropped": counts["dropped"],
            "merged": counts["merged"], "unexpected": counts["unexpected"],
            "balanced": accounted == counts["legacy"] and not counts["unexpected"]}


def _present(entity: str, case_id: int, target: TargetSide) -> set[int]:
    """Persons and addresses are not keyed by case in the target: any loaded one counts (a row
    loaded but not in CID shows in the integrity check as unexpected)."""
    return target.persons if entity == "person" else target.addresses
