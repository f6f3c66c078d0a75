"""What produced a record: the software version and a digest of the rule tables in force."""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

RULE_MODULES = ("migration.rules.waves", "migration.rules.routing", "migration.rules.statuses",
                "migration.rules.nationalities", "migration.rules.policies")


def software_version() -> str:
    """The version of the cutover package that is running."""
    from cutover import __version__

    return __version__


def rules_digest() -> str:
    """SHA-256 over the rule tables (waves, routing, statuses, nationalities, policies), each
    module's name and source in a fixed order: a changed table gives another digest."""
    digest = hashlib.sha256()
    for name in RULE_MODULES:
        source = Path(str(importlib.import_module(name).__file__)).read_bytes()
        digest.update(f"{name}\n{len(source)}\n".encode() + source)
    return digest.hexdigest()


def provenance_fields() -> dict[str, str]:
    """The ledger fields that say which software and rule tables made a run."""
    return {"software": software_version(), "rules": rules_digest()}
