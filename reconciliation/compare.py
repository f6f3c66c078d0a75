"""What reconciliation finds: discrepancies, each naming the key (and, where known, the field),
and the totals overall and per wave."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

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
