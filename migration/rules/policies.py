"""What happens to each kind of bad data: the policy table of rules/tables/policies.toml.

`repair` fixes the value and records it; `quarantine` holds the whole case back with the rule
and a reason; `drop` leaves one child row out and records it; `merge` folds a duplicate person
into one record. `defect` is the identifier of CID-SCHEMA.md the rule answers, when it does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Action = Literal["repair", "quarantine", "drop", "merge"]
ACTIONS: tuple[Action, ...] = ("repair", "quarantine", "drop", "merge")


@dataclass(frozen=True)
class Policy:
    """The action a rule takes, the defect it answers, for people fixing CID what to do, and a
    short plain-language label for operations readers."""

    defect: str | None
    action: Action
    fix: str
    label: str = ""


def policies() -> Mapping[str, Policy]:
    """Every policy of the rules in force, by rule name."""
    from migration.rules.loader import current_rules

    return current_rules().policies


def policy(rule: str) -> Policy:
    """The policy of a rule; an unknown rule is a programming error, never silently ignored."""
    return policies()[rule]


def __getattr__(name: str) -> Mapping[str, Policy]:
    if name == "POLICIES":  # the table of the rules in force, read when asked for
        return policies()
    raise AttributeError(name)
