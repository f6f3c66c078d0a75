"""Who owns a migrated case and its next task (rules/tables/routing.toml), read from the rules in force."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def units() -> Mapping[str, str]:
    """Unit code -> name, of the rules in force."""
    from migration.rules.loader import current_rules

    return current_rules().units


def __getattr__(name: str) -> Any:
    from migration.rules.loader import current_rules

    tables = {"UNITS": "units", "ROUTES": "routes", "PRIORITY_BANDS": "priority_bands", "NEXT_TASK": "next_task"}
    if name in tables:  # the tables of the rules in force, read when asked for
        return getattr(current_rules(), tables[name])
    raise AttributeError(name)
