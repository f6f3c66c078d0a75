"""Facts about a legacy case that the wave plan and the routing table both read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from dateutil.relativedelta import relativedelta

from migration.parsers import flag, parse_cid_date
from migration.rules.statuses import CASE_TYPES

GENDERS = {"M": "male", "F": "female", "U": "unspecified", "X": "other"}


def older_cutoff(as_of: dt.date, months: int) -> dt.date:
    """The date before which a case received counts as older (as_of minus `months` months)."""
    return as_of - relativedelta(months=months)


def active_flags(flags: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """Flag codes raised and not cleared, ignoring soft-deleted rows."""
    return frozenset(
        f["FLAG_CD"] for f in flags
        if not flag(f.get("DELETED_FLG")) and not (f.get("CLEARED_DT") or "").strip() and f.get("FLAG_CD")
    )


def case_facts(header: Mapping[str, Any], flags: frozenset[str], nationality: str | None,
               gender: str | None, as_of: dt.date, older_months: int) -> dict[str, Any]:
    """The facts the wave and routing tables match on."""
    received = parse_cid_date(header.get("DATE_RCVD")).value
    return {
        "case_type": CASE_TYPES.get((header.get("CASE_TYPE") or "").strip().upper()),
        "detained": flag(header.get("DETAINED_FLG")) or "DET" in flags,
        "nsa": "NSA" in flags,
        "uasc": "UASC" in flags,
        "high_profile": "HIGHPROF" in flags,
        "high_harm": flag(header.get("HIGH_HARM_FLG")),
        "supported": flag(header.get("SUPPORTED_FLG")),
        "older": received is not None and received < older_cutoff(as_of, older_months),
        "nationality": nationality,
        "gender": GENDERS.get((gender or "").strip().upper(), "unspecified"),
    }
