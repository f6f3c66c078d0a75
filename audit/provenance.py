"""What produced a record: the software version and the digest of the rule tables in force."""

from __future__ import annotations

from importlib.metadata import version

from migration.rules import rules_digest


def software_version() -> str:
    """The version of the cutover package that is running."""
    return version("cutover")


def provenance_fields() -> dict[str, str]:
    """The ledger fields that say which software and rule tables made a run."""
    return {"software": software_version(), "rules": rules_digest()}


__all__ = ["provenance_fields", "rules_digest", "software_version"]
