"""What the row-wise child mappers see of a batch: the rules, the as-of date, each case's keys,
and the findings they record (one tuple of FINDINGS_SCHEMA's fields each)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from migration.rules import Rules, current_rules

Row = dict[str, Any]


@dataclass
class LegacyCase:
    """One case's identity as the row-wise mappers read it."""

    case_id: int
    children: dict[str, list[Row]] = field(default_factory=dict)


@dataclass
class CaseState:
    """Per-case facts the row-wise mappers need: the case's key and its persons' keys."""

    legacy: LegacyCase
    case_key: uuid.UUID
    ref: str | None = None
    person_keys: dict[int, uuid.UUID] = field(default_factory=dict)


@dataclass
class BatchContext:
    """The row-wise mappers' context for one batch."""

    as_of: dt.date
    rules: Rules = field(default_factory=current_rules)
    found: list[tuple[int, str, str, str | None, int | None]] = field(default_factory=list)

    def find(self, case_id: int, rule: str, entity: str, field_name: str | None = None,
             key: int | None = None) -> str:
        """Record a finding for a case of this batch; return the action of its rule."""
        self.found.append((case_id, rule, entity, field_name, key))
        return self.rules.policy(rule).action
