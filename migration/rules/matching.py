"""First-match evaluation of declarative rule tables (waves, routing, tasking priority)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Rule:
    """A named outcome that applies when every condition holds.

    A condition maps a fact name to a value (equality) or to a frozenset (membership)."""

    name: str
    outcome: str
    when: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    def matches(self, facts: Mapping[str, Any]) -> bool:
        """Whether every condition of the rule holds for the facts."""
        for fact, wanted in self.when.items():
            value = facts.get(fact)
            if isinstance(wanted, frozenset):
                if value not in wanted:
                    return False
            elif value != wanted:
                return False
        return True


def first_match(rules: Iterable[Rule], facts: Mapping[str, Any]) -> Rule:
    """The first rule whose conditions hold; tables end with a catch-all, so one always does."""
    for rule in rules:
        if rule.matches(facts):
            return rule
    raise LookupError("no rule matched and the table has no catch-all")
