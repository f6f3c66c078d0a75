"""`cutover churn`: one simulated day of caseworking on an existing legacy database.

A share of the updated rows keep their old LAST_UPD_TS (`silent_update` in the manifest)."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.errors import CutoverError
from legacy.dates import format_cid_date
from legacy.generator import CaseGenerator, GeneratorConfig
from legacy.schema import ADDRESS, APPOINTMENT, CASE_HDR, CASE_NOTE, DECISION, legacy_metadata
from legacy.writer import write_rows

SILENT_SHARE = 0.3
CHURN_ID_BASE = 2_000_000_000


class EmptyLegacyError(CutoverError):
    """Churn needs an existing legacy database with cases in it."""


@dataclass
class ChurnResult:
    """What one simulated day changed."""

    day: dt.date
    changes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    silent: list[str] = field(default_factory=list)
    new_cases: list[str] = field(default_factory=list)

    def manifest(self, seed: int) -> dict:
        """The churn manifest: the CID-SCHEMA.md format, plus what changed by kind."""
        changed = {ref for refs in self.changes.values() for ref in refs}
        return {
            "seed": seed, "cases": len(changed) + len(self.new_cases), "day": self.day.isoformat(),
            "defects": {"silent_update": sorted(set(self.silent))},
            "changes": {k: sorted(set(v)) for k, v in sorted(self.changes.items())},
            "new_cases": sorted(self.new_cases),
        }


class _Day:
    """The state one churn day needs: connection, clock, id allocators, randomness."""

    def __init__(self, conn: Connection, rng: Random, day: dt.date) -> None:
        self.conn, self.rng, self.day = conn, rng, day
        self.next_id: dict[str, int] = {}

    def new_id(self, table: sa.Table, column: str) -> int:
        if table.name not in self.next_id:
            # Rows added by churn take ids from a range of their own, far above the generator's
            # per-case ranges, so later days' new cases never collide with them.
            top = self.conn.execute(sa.select(sa.func.max(table.c[column]))).scalar() or 0
            self.next_id[table.name] = max(top, CHURN_ID_BASE) + 1
        value = self.next_id[table.name]
        self.next_id[table.name] += 1
        return value

    def stamp(self) -> dt.datetime:
        return dt.datetime.combine(self.day, dt.time(self.rng.randint(8, 18), self.rng.randint(0, 59)))

    def update(self, table: sa.Table, key: str, key_value: int, values: dict, silent: bool) -> None:
        if not silent:
            values = {**values, "LAST_UPD_TS": self.stamp()}
        self.conn.execute(sa.update(table).where(table.c[key] == key_value).values(**values))


def _advance_status(day: _Day, case: dict, silent: bool) -> bool:
    steps = {"REG": "SCRN", "SCRN": "INTV", "INTV": "AWDC", "RREF": "RMHA", "RMHA": "RLAO", "RLAO": "RARR"}
    new = steps.get(case["STATUS_CD"])
    if new is None:
        return False
    day.update(CASE_HDR, "CASE_ID", case["CASE_ID"], {"STATUS_CD": new}, silent)
    return True


def _decide(day: _Day, case: dict, silent: bool) -> bool:
    if case["STATUS_CD"] != "AWDC":
        return False
    day.update(CASE_HDR, "CASE_ID", case["CASE_ID"], {"STATUS_CD": "DECD"}, silent)
    day.conn.execute(DECISION.insert().values(
        DECISION_ID=day.new_id(DECISION, "DECISION_ID"), CASE_ID=case["CASE_ID"], OUTCOME_CD="REFUSE",
        DECISION_DT=format_cid_date(day.day, day.rng), APPEAL_LODGED_FLG="N", APPEAL_DT=None,
        DELETED_FLG=None, LAST_UPD_TS=day.stamp()))
    return True


def _appeal(day: _Day, case: dict, silent: bool) -> bool:
    if case["STATUS_CD"] != "DECD":
        return False
    decision = day.conn.execute(sa.select(DECISION.c.DECISION_ID).where(case["CASE_ID"] == DECISION.c.CASE_ID)).scalar()
    if decision is None:
        return False
    day.update(CASE_HDR, "CASE_ID", case["CASE_ID"], {"STATUS_CD": "APPL"}, silent)
    day.update(DECISION, "DECISION_ID", decision,
               {"APPEAL_LODGED_FLG": "Y", "APPEAL_DT": format_cid_date(day.day, day.rng)}, silent)
    return True


def _appointment_outcome(day: _Day, case: dict, silent: bool) -> bool:
    row = day.conn.execute(sa.select(APPOINTMENT).where(
        case["CASE_ID"] == APPOINTMENT.c.CASE_ID, APPOINTMENT.c.OUTCOME_CD.is_(None),
        APPOINTMENT.c.APPT_TYPE == "SUBST").order_by(APPOINTMENT.c.APPT_ID.desc()).limit(1)).mappings().first()
    if row is None:
        return False
    outcome = day.rng.choice(("ATT", "DNA", "RESCH"))
    day.update(APPOINTMENT, "APPT_ID", row["APPT_ID"], {"OUTCOME_CD": outcome}, silent)
    if outcome != "ATT":
        when = row["APPT_TS"] + dt.timedelta(days=day.rng.randint(14, 60))
        day.conn.execute(APPOINTMENT.insert().values(
            {**dict(row), "APPT_ID": day.new_id(APPOINTMENT, "APPT_ID"), "APPT_TS": when, "OUTCOME_CD": None,
             "REBOOKED_FROM_ID": row["APPT_ID"], "LAST_UPD_TS": day.stamp()}))
    return True


def _add_note(day: _Day, case: dict, silent: bool) -> bool:
    day.conn.execute(CASE_NOTE.insert().values(
        NOTE_ID=day.new_id(CASE_NOTE, "NOTE_ID"), CASE_ID=case["CASE_ID"], CREATED_TS=day.stamp(),
        AUTHOR_CD=f"CW{day.rng.randint(1, 399):04d}", NOTE_TEXT="Caseworker reviewed file and updated the record.",
        DELETED_FLG=None, LAST_UPD_TS=day.stamp()))
    return True


def _move_address(day: _Day, case: dict, silent: bool) -> bool:
    current = day.conn.execute(sa.select(ADDRESS).where(
        case["CASE_ID"] * 8 == ADDRESS.c.PERSON_ID, ADDRESS.c.TO_DT.is_(None))).mappings().first()
    if current is None:
        return False
    day.update(ADDRESS, "ADDRESS_ID", current["ADDRESS_ID"], {"TO_DT": format_cid_date(day.day, day.rng)}, silent)
    day.conn.execute(ADDRESS.insert().values(
        {**dict(current), "ADDRESS_ID": day.new_id(ADDRESS, "ADDRESS_ID"), "ADDR_TYPE": "DISP",
         "LINE1": f"{day.rng.randint(1, 200)} Dispersal Road", "LINE2": None,
         "FROM_DT": format_cid_date(day.day, day.rng), "TO_DT": None, "LAST_UPD_TS": day.stamp()}))
    return True


def _close(day: _Day, case: dict, silent: bool) -> bool:
    day.update(CASE_HDR, "CASE_ID", case["CASE_ID"], {"STATUS_CD": day.rng.choice(("CLSD", "WDRN"))}, silent)
    return True


def _soft_delete_case(day: _Day, case: dict, silent: bool) -> bool:
    day.update(CASE_HDR, "CASE_ID", case["CASE_ID"], {"DELETED_FLG": "Y"}, silent)
    return True


def _remove_note(day: _Day, case: dict, silent: bool) -> bool:
    note = day.conn.execute(sa.select(CASE_NOTE.c.NOTE_ID).where(
        case["CASE_ID"] == CASE_NOTE.c.CASE_ID, sa.func.coalesce(CASE_NOTE.c.DELETED_FLG, "N") != "Y")
        .order_by(CASE_NOTE.c.NOTE_ID).limit(1)).scalar()
    if note is None:
        return False
    day.update(CASE_NOTE, "NOTE_ID", note, {"DELETED_FLG": "Y"}, silent)
    return True


# (kind, weight, function, may be silent)
CHANGES: tuple[tuple[str, int, Callable[[_Day, dict, bool], bool], bool], ...] = (
    ("status_change", 25, _advance_status, True), ("decision", 8, _decide, True),
    ("appeal", 5, _appeal, True), ("appointment", 15, _appointment_outcome, True),
    ("note_added", 20, _add_note, False), ("address_move", 8, _move_address, True),
    ("closed", 6, _close, True), ("soft_deleted", 3, _soft_delete_case, True),
    ("note_removed", 5, _remove_note, True),
)


def apply_churn(engine: Engine, seed: int, fraction: float, manifest: Path | None = None) -> ChurnResult:
    """Apply one simulated day of work to a share `fraction` of the live cases, in one transaction."""
    rng = Random(f"churn:{seed}")
    with engine.begin() as conn:
        if not sa.inspect(conn).has_table("CASE_HDR"):
            raise EmptyLegacyError("the legacy database has no CID tables; run `cutover generate` first")
        last = conn.execute(sa.select(sa.func.max(CASE_HDR.c.LAST_UPD_TS))).scalar()
        if last is None:
            raise EmptyLegacyError("the legacy database holds no cases; run `cutover generate` first")
        day = _Day(conn, rng, last.date() + dt.timedelta(days=1))
        result = ChurnResult(day=day.day)
        live = conn.execute(sa.select(CASE_HDR.c.CASE_ID, CASE_HDR.c.CASE_REF, CASE_HDR.c.STATUS_CD)
                            .where(sa.func.coalesce(CASE_HDR.c.DELETED_FLG, "N") != "Y")
                            .order_by(CASE_HDR.c.CASE_ID)).mappings().all()
        chosen = [dict(c) for c in live if rng.random() < fraction]
        weights = [c[1] for c in CHANGES]
        for case in chosen:
            kind, _, change, may_be_silent = rng.choices(CHANGES, weights=weights)[0]
            silent = may_be_silent and rng.random() < SILENT_SHARE
            if change(day, case, silent):
                result.changes[kind].append(case["CASE_REF"])
                if silent:
                    result.silent.append(case["CASE_REF"])
        _new_cases(conn, seed, day.day, max(1, int(len(live) * fraction / 4)), result)
    if manifest is not None:
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps(result.manifest(seed), indent=1) + "\n")
    return result


def _new_cases(conn: Connection, seed: int, day: dt.date, count: int, result: ChurnResult) -> None:
    first = (conn.execute(sa.select(sa.func.max(CASE_HDR.c.CASE_ID))).scalar() or 0) + 1
    gen = CaseGenerator(GeneratorConfig(seed=seed * 7919 + first, cases=first + count, as_of=day, in_flight_ratio=1.0))
    tables: dict[str, list] = defaultdict(list)
    for case_id in range(first, first + count):
        case = gen.generate(case_id)
        # A new case is received today, whatever its generated history says.
        case.header["DATE_RCVD"] = day.isoformat()
        case.header["LAST_UPD_TS"] = dt.datetime.combine(day, dt.time(9))
        for name, rows in case.rows_by_table().items():
            tables[name].extend(rows)
        result.new_cases.append(case.header["CASE_REF"])
    write_rows(conn, {k: v for k, v in tables.items() if k in legacy_metadata.tables})
