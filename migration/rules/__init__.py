"""Rules as data: the tables a migration engineer changes live in TOML files (migration/rules/tables/),
checked as they load; code looks them up by code, never an `if` per case."""

from migration.rules.loader import RulesError, current_rules, load_rules, rules_digest, use_rules
from migration.rules.rulebook import Rules

__all__ = ["Rules", "RulesError", "current_rules", "load_rules", "rules_digest", "use_rules"]
