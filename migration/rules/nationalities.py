"""Codes that stand in for a nationality where ISO 3166-1 has none (ICAO document 9303); the
aliases of free text CID accepted are data (rules/tables/nationalities.toml)."""

from __future__ import annotations

STATELESS = "XXA"
UNSPECIFIED = "XXX"
ICAO_CODES = frozenset({STATELESS, "XXB", "XXC", UNSPECIFIED})
