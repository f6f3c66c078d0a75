"""The waves of the cutover (rules/tables/waves.toml): their order and the cohorts, first match wins."""

from __future__ import annotations

from typing import Any

from migration.rules.files import CATCH_UP

__all__ = ["CATCH_UP", "wave_order"]


def wave_order() -> tuple[str, ...]:
    """Every wave of the rules in force, in the order it runs."""
    from migration.rules.loader import current_rules

    return current_rules().wave_order


def __getattr__(name: str) -> Any:
    from migration.rules.loader import current_rules

    if name == "WAVE_ORDER":  # the tables of the rules in force, read when asked for
        return current_rules().wave_order
    if name == "WAVES":
        return current_rules().waves
    raise AttributeError(name)
