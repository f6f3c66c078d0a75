"""What happens to each kind of bad data: one declarative table, one row per rule.

`repair` fixes the value and records it; `quarantine` holds the whole case back with the rule
and a reason; `drop` leaves one child row out and records it; `merge` folds a duplicate person
into one record. `defect` is the identifier of CID-SCHEMA.md the rule answers, when it does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["repair", "quarantine", "drop", "merge"]
ACTIONS: tuple[Action, ...] = ("repair", "quarantine", "drop", "merge")


@dataclass(frozen=True)
class Policy:
    """The action a rule takes, the defect it answers and, for people fixing CID, what to do."""

    defect: str | None
    action: Action
    fix: str


POLICIES: dict[str, Policy] = {
    # the case header
    "case.received_unparseable": Policy("unparseable_date", "quarantine",
                                        "Correct DATE_RCVD to the date the claim was received."),
    "case.received_impossible": Policy("impossible_date", "quarantine",
                                       "DATE_RCVD is not a real date or lies in the future; correct it."),
    "case.received_missing": Policy("null_required", "quarantine", "Enter DATE_RCVD, the date the claim was received."),
    "case.type_missing": Policy("null_required", "quarantine", "Set CASE_TYPE (ASY, RES, FRU or SET)."),
    "case.status_missing": Policy("null_required", "quarantine", "Set STATUS_CD to the case's current status."),
    "case.status_unknown": Policy("unknown_status", "quarantine",
                                  "STATUS_CD is not in REF_STATUS; set a current status code."),
    "case.status_retired": Policy("retired_status", "repair", "Move the case to a current status code."),
    "case.reference_collision": Policy("reference_collision", "quarantine",
                                       "CASE_REF equals another case's once spaces and case are ignored; "
                                       "correct the reference of the wrong one."),
    "case.type_unknown": Policy(None, "quarantine", "CASE_TYPE is not ASY, RES, FRU or SET; correct it."),
    # people on the case
    "party.orphan": Policy("orphan_party", "drop", "CASE_PERSON points at a PERSON that does not exist; "
                                                   "link the right person or remove the row."),
    "party.no_main_applicant": Policy("no_main_applicant", "quarantine", "Mark one person as MAIN on the case."),
    "party.two_main_applicants": Policy("two_main_applicants", "quarantine",
                                        "More than one MAIN applicant; keep one and make the others DEP."),
    "party.role_unknown": Policy(None, "drop", "ROLE_CD is not MAIN or DEP; correct it."),
    "person.name_split": Policy(None, "repair", "Move the surname out of FORENAMES into SURNAME."),
    "person.name_missing": Policy("null_required", "quarantine", "Enter the person's name."),
    "person.birth_date_unparseable": Policy("unparseable_date", "repair", "Correct DOB (recorded as unknown)."),
    "person.birth_date_impossible": Policy("impossible_date", "repair",
                                           "DOB is impossible (future or after the claim); correct it."),
    "person.nationality_free_text": Policy("nationality_free_text", "repair", "Replace the text with a NAT_CD."),
    "person.nationality_unmappable": Policy("nationality_unmappable", "repair",
                                            "NATIONALITY is not a known nationality (recorded as XXX); correct it."),
    "person.gender_unknown": Policy(None, "repair", "GENDER is not M, F, U or X (recorded as unspecified)."),
    "person.duplicate_merged": Policy("duplicate_person", "merge",
                                      "The same Home Office reference is on more than one PERSON; merge them in CID."),
    # free text anywhere
    "text.mojibake": Policy("mojibake", "repair", "Text was stored in the wrong encoding (repaired)."),
    "text.control_chars": Policy("control_chars", "repair", "Text held control characters (removed)."),
    "note.split_long": Policy("text_too_long", "repair", "Note longer than the target allows (split in parts)."),
    "text.truncated": Policy("text_too_long", "repair", "Text longer than the target allows (shortened)."),
    # child rows
    "row.soft_deleted": Policy("soft_deleted", "drop", "Row is marked deleted in CID (not migrated)."),
    "address.postcode_malformed": Policy("malformed_postcode", "repair",
                                         "POSTCODE is not a UK postcode (left empty); correct it."),
    "address.date_unparseable": Policy("unparseable_date", "repair", "Correct FROM_DT / TO_DT (left empty)."),
    "address.kind_unknown": Policy(None, "drop", "ADDR_TYPE is not IA, HOTEL, DISP, DET or PRIV."),
    "address.line1_missing": Policy("null_required", "drop", "Address has no first line."),
    "appointment.time_missing": Policy("null_required", "drop", "APPT_TS is empty."),
    "appointment.dst_gap": Policy("dst_local_time", "repair",
                                  "APPT_TS falls in the hour the clocks skip; read as GMT (one hour later in BST)."),
    "appointment.dst_fold": Policy("dst_local_time", "repair",
                                   "APPT_TS falls in the hour the clocks repeat; read as the first (BST) one."),
    "appointment.rebooking_loop": Policy("rebooking_loop", "repair",
                                         "REBOOKED_FROM_ID chain loops; the link closing the loop was removed."),
    "appointment.rebooking_dangling": Policy("rebooking_dangling", "repair",
                                             "REBOOKED_FROM_ID points at no appointment (link removed)."),
    "appointment.kind_unknown": Policy(None, "drop", "APPT_TYPE is not SCREEN, SUBST or REPORT."),
    "decision.date_unparseable": Policy("unparseable_date", "quarantine", "Correct DECISION_DT."),
    "decision.appeal_date_unparseable": Policy("unparseable_date", "repair", "Correct APPEAL_DT (left empty)."),
    "decision.outcome_unknown": Policy(None, "quarantine", "OUTCOME_CD is not GRANT, REFUSE or NFA."),
    "flag.date_unparseable": Policy("unparseable_date", "repair", "Correct RAISED_DT / CLEARED_DT (left empty)."),
    "flag.kind_unknown": Policy(None, "drop", "FLAG_CD is not a known vulnerability code."),
    "referral.category_unknown": Policy(None, "quarantine", "SUBMISSION_CAT is not NORMAL, URGENT or EMERGENCY."),
    "note.time_missing": Policy("null_required", "drop", "CREATED_TS is empty."),
    "referral.date_unparseable": Policy("unparseable_date", "repair", "Correct RRF_RCVD_DT (left empty)."),
    # the target's own checks (pandera), for anything the rules above did not foresee
    "schema.violation": Policy(None, "quarantine", "A value breaks the target model; see the field named."),
    "read.unreadable_value": Policy("unreadable_value", "quarantine",
                                    "The database cannot hand over a value in the column named (a timestamp out "
                                    "of range such as 'infinity', text that is not UTF-8); correct it in CID."),
    "load.rejected": Policy(None, "quarantine", "The target refused this case's rows (the constraint is named, "
                            "e.g. a case reference another case already holds); correct the value in CID."),
}


def policy(rule: str) -> Policy:
    """The policy of a rule; an unknown rule is a programming error, never silently ignored."""
    return POLICIES[rule]
