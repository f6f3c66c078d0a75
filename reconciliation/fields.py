"""Fields checked against CID itself, with reconciliation's own small mappings (not the
migration's): the values a caseworker relies on first. Everything else the migration derives is
covered by the row and field digests recorded at load (reconciliation/integrity.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.db import int_table
from legacy.schema import APPOINTMENT as L_APPT
from legacy.schema import CASE_FLAG as L_FLAG
from legacy.schema import CASE_HDR as L_CASE
from legacy.schema import DECISION as L_DEC
from legacy.schema import UNHCR_REFERRAL as L_REF
from migration.target_schema import APPOINTMENT, CASE, DECISION, RESETTLEMENT_REFERRAL, VULNERABILITY
from reconciliation.compare import Discrepancy
from reconciliation.dates import read_date


def _code(mapping: dict[str, str]) -> Callable[[Any], str | None]:
    return lambda v: mapping.get((v or "").strip().upper())


def _yes(v: Any) -> bool:
    return (v or "").strip().upper() == "Y"


def _text(v: Any) -> str:
    return (v or "").strip()


# target table -> (its legacy table, legacy key, target legacy key column, {target column: (legacy column, reading)})
CHECKS: dict[str, tuple[sa.Table, str, sa.Table, str, dict[str, tuple[str, Callable[[Any], Any]]]]] = {
    "case": (L_CASE, "CASE_ID", CASE, "legacy_case_id", {
        "legacy_ref": ("CASE_REF", lambda v: v or ""),
        "legacy_status_code": ("STATUS_CD", lambda v: _text(v).upper()),
        "case_type": ("CASE_TYPE", _code({"ASY": "asylum", "RES": "resettlement", "FRU": "family_reunion",
                                          "SET": "settlement"})),
        "received_on": ("DATE_RCVD", read_date),
        "detained": ("DETAINED_FLG", _yes), "supported": ("SUPPORTED_FLG", _yes),
        "high_harm": ("HIGH_HARM_FLG", _yes), "priority": ("PRIORITY_FLG", _yes),
    }),
    "decision": (L_DEC, "DECISION_ID", DECISION, "legacy_decision_id", {
        "outcome": ("OUTCOME_CD", _code({"GRANT": "grant", "REFUSE": "refuse", "NFA": "no_further_action"})),
        "decided_on": ("DECISION_DT", read_date), "appeal_lodged": ("APPEAL_LODGED_FLG", _yes),
    }),
    "appointment": (L_APPT, "APPT_ID", APPOINTMENT, "legacy_appt_id", {
        "kind": ("APPT_TYPE", _code({"SCREEN": "screening", "SUBST": "substantive_interview",
                                     "REPORT": "reporting"})),
        "remote": ("REMOTE_FLG", _yes),
    }),
    "vulnerability": (L_FLAG, "FLAG_ID", VULNERABILITY, "legacy_flag_id", {
        "kind": ("FLAG_CD", _code({"UASC": "uasc", "DET": "detained", "MED": "medical", "SOT": "survivor_of_torture",
                                   "WAR": "woman_at_risk", "PREG": "pregnant", "HIGHPROF": "high_profile",
                                   "NSA": "non_suspensive_appeal"})),
    }),
    "resettlement_referral": (L_REF, "REFERRAL_ID", RESETTLEMENT_REFERRAL, "legacy_referral_id", {
        "unhcr_case_no": ("UNHCR_CASE_NO", _text), "family_size": ("FAMILY_SIZE", lambda v: v),
    }),
}


CHUNK = 20_000
REMEMBERED = 8_192  # readings remembered per field (most fields take few distinct values; memory stays small)
_UNSEEN = object()


def check_fields(legacy: Connection, target: Connection) -> list[Discrepancy]:
    """field_mismatch for every checked field whose target value is not CID's value, read anew,
    a key range at a time (memory stays flat however many rows there are)."""
    out: list[Discrepancy] = []
    for entity, (l_table, l_key, t_table, t_key, fields) in CHECKS.items():
        wanted = [t_table.c[t_key], *(t_table.c[c] for c in fields)]
        columns = [l_table.c[l_key], *(l_table.c[src] for src, _ in fields.values())]
        reads = [read for _, read in fields.values()]
        seen: list[dict[Any, Any]] = [{} for _ in reads]
        # One sorted stream per table, cut into chunks here: the target has no index on most legacy
        # keys, so a query per chunk (ORDER BY ... LIMIT) would scan the whole table each time
        # (1,000,000 cases: 72 scans of 1.4 million appointments).
        stream = target.execute(sa.select(*wanted).order_by(t_table.c[t_key]), execution_options={"yield_per": CHUNK})
        for chunk in stream.partitions(CHUNK):
            loaded = {row[0]: tuple(row[1:]) for row in chunk}
            low, high = chunk[0][0], chunk[-1][0]
            keys = int_table(legacy, "loaded", {"key": list(loaded)})
            matched = (sa.select(*columns).join_from(l_table, keys, keys.c.key == l_table.c[l_key])
                       .where(l_table.c[l_key].between(low, high)))  # lets an index narrow the scan
            for row in legacy.execute(matched).all():
                mine, read_now = loaded[row[0]], _read(reads, seen, row[1:])
                if read_now != mine:
                    out.extend(Discrepancy("field_mismatch", entity, row[0], column)
                               for column, a, b in zip(fields, read_now, mine, strict=True) if a != b)
    return out


def _read(reads: list[Callable[[Any], Any]], seen: list[dict[Any, Any]], values: Sequence[Any]) -> tuple[Any, ...]:
    """Each value read by its field's reading; a value read before is looked up (half the time)."""
    out = []
    for read, memo, value in zip(reads, seen, values, strict=True):
        got = memo.get(value, _UNSEEN)
        if got is _UNSEEN:
            if len(memo) >= REMEMBERED:
                memo.clear()
            got = memo[value] = read(value)
        out.append(got)
    return tuple(out)
