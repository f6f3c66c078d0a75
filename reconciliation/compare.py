"""What reconciliation finds: discrepancies, each naming the key (and, where known, the field),
and the totals overall and per wave."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from core.errors import CutoverError

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


# Kinds that state one fact about a row: a row CID holds that the target lacks is "missing" whether
# the balance (against CID) or the integrity check (against what was loaded) finds it.
SAME_FACT = {"child_row_missing": "missing_in_target"}


def distinct(found: list[Discrepancy]) -> list[Discrepancy]:
    """Each difference once, as the first check to find it named it: the checks overlap (a field
    changed in the target differs both from CID's value and from the digest recorded at load)."""
    seen: set[tuple[str, str, int | None, str | None]] = set()
    out = []
    for d in found:
        fact = (SAME_FACT.get(d.kind, d.kind), d.entity, d.legacy_key, d.field)
        if fact not in seen:
            seen.add(fact)
            out.append(d)
    return out


class UnknownWave(CutoverError):
    """A wave name that is not one of the cutover's waves."""


def restricted(overall: Reconciliation, wave: str) -> Reconciliation:
    """The overall reconciliation restricted to one wave: its totals, its entities (in the
    overall order), its discrepancies; the excluded cases, which belong to no wave, stay counted."""
    counts = overall.waves.get(wave, {})
    out = Reconciliation(waves={wave: counts} if counts else {})
    for key in TOTAL_KEYS:
        out.totals[key] = int(counts.get(key, 0))
    out.totals["excluded"] = overall.totals["excluded"]
    order = [row["entity"] for row in overall.entities]
    out.entities = sorted(counts.get("entities", []), key=lambda row: order.index(row["entity"]))
    out.discrepancies = [d for d in overall.discrepancies if d.wave == wave]
    return out
