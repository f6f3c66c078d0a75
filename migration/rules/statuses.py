"""Legacy status codes to the target case lifecycle, and why a terminal case is excluded."""

from __future__ import annotations

# (STATUS_CD, appeal lodged?) -> lifecycle state; None matches either.
STATUS_LIFECYCLE: dict[tuple[str, bool | None], str] = {
    ("REG", None): "registered",
    ("SCRN", None): "screening",
    ("INTV", None): "interview",
    ("AWDC", None): "awaiting_decision",
    ("DECD", True): "appeal_pending",
    ("DECD", False): "decided_appeal_window",
    ("APPL", None): "appeal_pending",
    ("RREF", None): "resettlement_referral",
    ("RMHA", None): "resettlement_health",
    ("RLAO", None): "resettlement_offer",
    ("RARR", None): "resettlement_arrival",
}

# Retired codes still found on live cases: what they meant, so the case can be repaired.
RETIRED_STATUS_LIFECYCLE: dict[str, str] = {
    "PEND": "awaiting_decision",
    "ONHD": "awaiting_decision",
}

# Terminal status -> exclusion reason (cases not in flight are counted, never migrated).
EXCLUSION_REASONS: dict[str, str] = {
    "CLSD": "closed",
    "CLOS": "closed",
    "WDRN": "withdrawn",
    "DECD": "decided_final",
    "RARV": "arrived",
}
DEFAULT_EXCLUSION_REASON = "terminal_status"
SOFT_DELETED_REASON = "soft_deleted"

CASE_TYPES: dict[str, str] = {
    "ASY": "asylum",
    "RES": "resettlement",
    "FRU": "family_reunion",
    "SET": "settlement",
}


def lifecycle_for(status: str, appeal_lodged: bool) -> str | None:
    """The lifecycle state of a current status code, or None when the code has no mapping."""
    return STATUS_LIFECYCLE.get((status, appeal_lodged)) or STATUS_LIFECYCLE.get((status, None))
