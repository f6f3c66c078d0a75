"""The row-wise child mappers (appointments, notes, decisions, vulnerabilities, referrals), kept as
the reference that migration/transform/child_rows.py's columnar form is compared with: one case's
legacy rows in, target rows out, findings gathered as (case, rule, entity, field, key) tuples."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from migration.parsers import clean_text, flag, parse_cid_date, uk_local_to_utc
from migration.rules import Rules
from migration.target_schema import (
    APPOINTMENT,
    CASE_NOTE,
    DECISION,
    NOTE_TEXT_MAX,
    RESETTLEMENT_REFERRAL,
    VULNERABILITY,
)
from migration.transform.keys import key

Row = dict[str, Any]
DST_RULES = {"gap": "appointment.dst_gap", "fold": "appointment.dst_fold"}



@dataclass
class _Legacy:
    case_id: int


@dataclass
class CaseState:
    """One case: its legacy id, its key and the keys of the persons its kept parties name."""

    legacy: _Legacy
    case_key: uuid.UUID
    person_keys: dict[int, uuid.UUID] = field(default_factory=dict)


@dataclass
class BatchContext:
    """The rules and the findings gathered so far."""

    rules: Rules
    findings: list[tuple[int, str, str, str | None, int | None]] = field(default_factory=list)

    def find(self, case_id: int, rule: str, entity: str, field_name: str | None = None,
             key: int | None = None) -> None:
        """Record a finding."""
        self.findings.append((case_id, rule, entity, field_name, key))


def case_state(case_id: int, case_key: uuid.UUID, person_keys: dict[int, uuid.UUID]) -> CaseState:
    """A case's state as the mappers read it."""
    return CaseState(_Legacy(case_id), case_key, person_keys)


def clean(ctx: BatchContext, case_id: int, entity: str, field_name: str, value: str | None,
          legacy_key: int | None) -> str | None:
    """Clean free text, recording a repair per kind of damage found."""
    if value is None:
        return None
    text, repairs = clean_text(value)
    for repair in repairs:
        ctx.find(case_id, f"text.{repair}", entity, field_name, legacy_key)
    return text


Mapper = Callable[[BatchContext, CaseState, list[Row]], Iterator[Row]]


def _kept(ctx: BatchContext, state: CaseState, row: Row, entity: str, pk: str) -> bool:
    if flag(row.get("DELETED_FLG")):
        ctx.find(state.legacy.case_id, "row.soft_deleted", entity, None, row[pk])
        return False
    return True


def repaired_rebook_links(ctx: BatchContext, state: CaseState, rows: list[Row]) -> dict[int, int | None]:
    """APPT_ID -> the appointment it was rebooked from, with dangling links and loops cut (recorded)."""
    cid = state.legacy.case_id
    present = {r["APPT_ID"] for r in rows}
    links: dict[int, int | None] = {}
    for r in rows:
        source = r.get("REBOOKED_FROM_ID")
        if source is not None and source not in present:
            ctx.find(cid, "appointment.rebooking_dangling", "appointment", "rebooked_from_id", r["APPT_ID"])
            source = None
        links[r["APPT_ID"]] = source
    for start in sorted(links):
        seen: list[int] = []
        node: int | None = start
        while node is not None and node not in seen:
            seen.append(node)
            node = links.get(node)
        if node is not None:  # a loop: cut the link out of its smallest appointment
            loop = seen[seen.index(node):]
            cut = min(loop)
            links[cut] = None
            ctx.find(cid, "appointment.rebooking_loop", "appointment", "rebooked_from_id", cut)
    return links


def appointments(ctx: BatchContext, state: CaseState, rows: list[Row]) -> Iterator[Row]:
    """Target appointments of a case, UK local times to UTC by the stated rule."""
    cid = state.legacy.case_id
    usable = []
    for r in rows:
        if not _kept(ctx, state, r, "appointment", "APPT_ID"):
            continue
        if r.get("APPT_TS") is None:
            ctx.find(cid, "appointment.time_missing", "appointment", "starts_at", r["APPT_ID"])
            continue
        if (r.get("APPT_TYPE") or "").strip().upper() not in ctx.rules.appointment_kinds:
            ctx.find(cid, "appointment.kind_unknown", "appointment", "kind", r["APPT_ID"])
            continue
        usable.append(r)
    links = repaired_rebook_links(ctx, state, usable)
    for r in usable:
        starts_at, problem = uk_local_to_utc(r["APPT_TS"])
        if problem:
            ctx.find(cid, DST_RULES[problem], "appointment", "starts_at", r["APPT_ID"])
        source = links[r["APPT_ID"]]
        yield {
            "appointment_id": key("appointment", r["APPT_ID"]), "case_id": state.case_key,
            "person_id": state.person_keys.get(r.get("PERSON_ID") or -1),
            "kind": ctx.rules.appointment_kinds[r["APPT_TYPE"].strip().upper()],
            "venue": clean(ctx, cid, "appointment", "venue", r.get("VENUE"), r["APPT_ID"]),
            "starts_at": starts_at,
            "outcome": ctx.rules.appointment_outcomes.get((r.get("OUTCOME_CD") or "").strip().upper() or None),
            "rebooked_from_id": key("appointment", source) if source is not None else None,
            "interpreter_language": r.get("INTERPRETER_LANG"), "remote": flag(r.get("REMOTE_FLG")),
            "legacy_appt_id": r["APPT_ID"],
        }


def notes(ctx: BatchContext, state: CaseState, rows: list[Row]) -> Iterator[Row]:
    """Target notes; a note longer than the target allows is split into parts, never cut."""
    cid = state.legacy.case_id
    for r in rows:
        if not _kept(ctx, state, r, "case_note", "NOTE_ID"):
            continue
        if r.get("CREATED_TS") is None:
            ctx.find(cid, "note.time_missing", "case_note", "created_at", r["NOTE_ID"])
            continue
        text = clean(ctx, cid, "case_note", "text", r.get("NOTE_TEXT") or "", r["NOTE_ID"]) or ""
        parts = [text[i:i + NOTE_TEXT_MAX] for i in range(0, len(text), NOTE_TEXT_MAX)] or [""]
        if len(parts) > 1:
            ctx.find(cid, "note.split_long", "case_note", "text", r["NOTE_ID"])
        created_at, _ = uk_local_to_utc(r["CREATED_TS"])
        for n, part in enumerate(parts, start=1):
            yield {
                "note_id": key("case_note", r["NOTE_ID"], n), "case_id": state.case_key, "created_at": created_at,
                "author": r.get("AUTHOR_CD"), "part": n, "parts": len(parts), "text": part,
                "legacy_note_id": r["NOTE_ID"],
            }


def decisions(ctx: BatchContext, state: CaseState, rows: list[Row]) -> Iterator[Row]:
    """Target decisions; a decision without a readable date holds the case back."""
    cid = state.legacy.case_id
    for r in rows:
        if not _kept(ctx, state, r, "decision", "DECISION_ID"):
            continue
        outcome = ctx.rules.decision_outcomes.get((r.get("OUTCOME_CD") or "").strip().upper())
        if outcome is None:
            ctx.find(cid, "decision.outcome_unknown", "decision", "outcome", r["DECISION_ID"])
        decided = parse_cid_date(r.get("DECISION_DT"))
        if decided.value is None:
            ctx.find(cid, "decision.date_unparseable", "decision", "decided_on", r["DECISION_ID"])
        appeal = parse_cid_date(r.get("APPEAL_DT"))
        if appeal.problem:
            ctx.find(cid, "decision.appeal_date_unparseable", "decision", "appeal_lodged_on", r["DECISION_ID"])
        yield {
            "decision_id": key("decision", r["DECISION_ID"]), "case_id": state.case_key, "outcome": outcome,
            "decided_on": decided.value, "appeal_lodged": flag(r.get("APPEAL_LODGED_FLG")),
            "appeal_lodged_on": appeal.value, "legacy_decision_id": r["DECISION_ID"],
        }


def vulnerabilities(ctx: BatchContext, state: CaseState, rows: list[Row]) -> Iterator[Row]:
    """Target vulnerability markers from CASE_FLAG."""
    cid = state.legacy.case_id
    for r in rows:
        if not _kept(ctx, state, r, "vulnerability", "FLAG_ID"):
            continue
        kind = ctx.rules.vulnerabilities.get((r.get("FLAG_CD") or "").strip().upper())
        if kind is None:
            ctx.find(cid, "flag.kind_unknown", "vulnerability", "kind", r["FLAG_ID"])
            continue
        dates = {}
        for column, target in (("RAISED_DT", "raised_on"), ("CLEARED_DT", "cleared_on")):
            parsed = parse_cid_date(r.get(column))
            if parsed.problem:
                ctx.find(cid, "flag.date_unparseable", "vulnerability", target, r["FLAG_ID"])
            dates[target] = parsed.value
        yield {"vulnerability_id": key("vulnerability", r["FLAG_ID"]), "case_id": state.case_key, "kind": kind,
               **dates, "legacy_flag_id": r["FLAG_ID"]}


def referrals(ctx: BatchContext, state: CaseState, rows: list[Row]) -> Iterator[Row]:
    """Target resettlement referrals from UNHCR_REFERRAL."""
    cid = state.legacy.case_id
    for r in rows:
        if not _kept(ctx, state, r, "resettlement_referral", "REFERRAL_ID"):
            continue
        category = ctx.rules.submission_categories.get((r.get("SUBMISSION_CAT") or "").strip().upper())
        if category is None:
            ctx.find(cid, "referral.category_unknown", "resettlement_referral", "submission_category",
                     r["REFERRAL_ID"])
        received = parse_cid_date(r.get("RRF_RCVD_DT"))
        if received.problem:
            ctx.find(cid, "referral.date_unparseable", "resettlement_referral", "referral_received_on",
                     r["REFERRAL_ID"])
        yield {
            "referral_id": key("resettlement_referral", r["REFERRAL_ID"]), "case_id": state.case_key,
            "unhcr_case_no": (r.get("UNHCR_CASE_NO") or "").strip(), "submission_category": category,
            "family_size": r.get("FAMILY_SIZE"), "referral_received_on": received.value,
            "health_assessment": ctx.rules.health_assessments.get((r.get("MHA_STATUS") or "").strip().upper()),
            "local_authority_offer": clean(ctx, cid, "resettlement_referral", "local_authority_offer",
                                           r.get("LA_OFFER"), r["REFERRAL_ID"]),
            "legacy_referral_id": r["REFERRAL_ID"],
        }


# legacy child table -> (target table name, mapper)
CHILD_MAPPERS: tuple[tuple[str, str, Mapper], ...] = (
    ("APPOINTMENT", APPOINTMENT.name, appointments),
    ("CASE_NOTE", CASE_NOTE.name, notes),
    ("DECISION", DECISION.name, decisions),
    ("CASE_FLAG", VULNERABILITY.name, vulnerabilities),
    ("UNHCR_REFERRAL", RESETTLEMENT_REFERRAL.name, referrals),
)
