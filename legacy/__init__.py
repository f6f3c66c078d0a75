"""The legacy side: the fixed CID-like schema, its synthetic generator and its daily churn."""

from legacy.schema import LEGACY_TABLES, legacy_metadata

__all__ = ["LEGACY_TABLES", "legacy_metadata"]
