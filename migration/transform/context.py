"""What the transform of one batch knows: the run's reference data and each case's state so far."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from migration.extract import LegacyCase, LegacyReference
from migration.rules import Rules, current_rules
from migration.transform.findings import Findings
from migration.transform.nationality import NationalityMapper


@dataclass
class CaseState:
    """Per-case facts the entity pipelines need: keys, people, dates and routing facts."""

    legacy: LegacyCase
    case_key: uuid.UUID
    ref: str | None
    received: dt.date | None = None
    person_keys: dict[int, uuid.UUID] = field(default_factory=dict)
    main_person_id: int | None = None


@dataclass
class BatchContext:
    """The transform's context for one batch."""

    reference: LegacyReference
    as_of: dt.date
    rules: Rules = field(default_factory=current_rules)
    findings: Findings = field(init=False)
    cases: dict[int, CaseState] = field(default_factory=dict)
    nationality: NationalityMapper = field(init=False)

    def __post_init__(self) -> None:
        self.findings = Findings(self.rules)
        self.nationality = NationalityMapper(self.reference.nationalities, self.rules.nationality_aliases)

    def find(self, case_id: int, rule: str, entity: str, field_name: str | None = None,
             key: int | None = None) -> str:
        """Record a finding for a case of this batch; return the action."""
        return self.findings.add(case_id, self.cases[case_id].ref, rule, entity, field_name, key)
