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
    """The action a rule takes, the defect it answers and, for people fixing CID, what to do and the
    reason in plain words (shown beside the rule id in reports)."""

    defect: str | None
    action: Action
    fix: str
    label: str


POLICIES: dict[str, Policy] = {
    # the case header
    "case.received_unparseable": Policy("unparseable_date", "quarantine",
                                        "Correct DATE_RCVD to the date the claim was received.",
                                        label="Date received cannot be read"),
    "case.received_impossible": Policy("impossible_date", "quarantine",
                                       "DATE_RCVD is not a real date or lies in the future; correct it.",
                                       label="Date received is not a real date or is in the future"),
    "case.received_missing": Policy("null_required", "quarantine", "Enter DATE_RCVD, the date the claim was received.",
                                    label="Date received is missing"),
    "case.type_missing": Policy("null_required", "quarantine", "Set CASE_TYPE (ASY, RES, FRU or SET).",
                                label="Case type is missing"),
    "case.status_missing": Policy("null_required", "quarantine", "Set STATUS_CD to the case's current status.",
                                  label="Case status is missing"),
    "case.status_unknown": Policy("unknown_status", "quarantine",
                                  "STATUS_CD is not in REF_STATUS; set a current status code.",
                                  label="Case status code is not a known status"),
    "case.status_retired": Policy("retired_status", "repair", "Move the case to a current status code.",
                                  label="Case status code is retired"),
    "case.reference_collision": Policy("reference_collision", "quarantine",
                                       "CASE_REF equals another case's once spaces and case are ignored; "
                                       "correct the reference of the wrong one.",
                                       label="Case reference is the same as another case's"),
    "case.type_unknown": Policy(None, "quarantine", "CASE_TYPE is not ASY, RES, FRU or SET; correct it.",
                                label="Case type is not a known type"),
    # people on the case
    "party.orphan": Policy("orphan_party", "drop", "CASE_PERSON points at a PERSON that does not exist; "
                                                   "link the right person or remove the row.",
                           label="A person on the case does not exist"),
    "party.no_main_applicant": Policy("no_main_applicant", "quarantine", "Mark one person as MAIN on the case.",
                                      label="Case has no main applicant"),
    "party.two_main_applicants": Policy("two_main_applicants", "quarantine",
                                        "More than one MAIN applicant; keep one and make the others DEP.",
                                        label="Case has more than one main applicant"),
    "party.role_unknown": Policy(None, "drop", "ROLE_CD is not MAIN or DEP; correct it.",
                                 label="A person's role on the case is not known"),
    "person.name_split": Policy(None, "repair", "Move the surname out of FORENAMES into SURNAME.",
                                label="Surname was written in the forenames"),
    "person.name_missing": Policy("null_required", "quarantine", "Enter the person's name.",
                                  label="A person has no name"),
    "person.birth_date_unparseable": Policy("unparseable_date", "repair", "Correct DOB (recorded as unknown).",
                                            label="Date of birth cannot be read"),
    "person.birth_date_impossible": Policy("impossible_date", "repair",
                                           "DOB is impossible (future or after the claim); correct it.",
                                           label="Date of birth is impossible"),
    "person.nationality_free_text": Policy("nationality_free_text", "repair", "Replace the text with a NAT_CD.",
                                           label="Nationality written as text, not a code"),
    "person.nationality_unmappable": Policy("nationality_unmappable", "repair",
                                            "NATIONALITY is not a known nationality (recorded as XXX); correct it.",
                                            label="Nationality is not a known nationality"),
    "person.gender_unknown": Policy(None, "repair", "GENDER is not M, F, U or X (recorded as unspecified).",
                                    label="Gender is not a known value"),
    "person.duplicate_merged": Policy("duplicate_person", "merge",
                                      "The same Home Office reference is on more than one PERSON; merge them in CID.",
                                      label="The same person is recorded twice"),
    # free text anywhere
    "text.mojibake": Policy("mojibake", "repair", "Text was stored in the wrong encoding (repaired).",
                            label="Text in the wrong encoding"),
    "text.control_chars": Policy("control_chars", "repair", "Text held control characters (removed).",
                                 label="Text holds control characters"),
    "note.split_long": Policy("text_too_long", "repair", "Note longer than the target allows (split in parts).",
                              label="Note is too long for the new system"),
    "text.truncated": Policy("text_too_long", "repair", "Text longer than the target allows (shortened).",
                             label="Text is too long for the new system"),
    # child rows
    "row.soft_deleted": Policy("soft_deleted", "drop", "Row is marked deleted in CID (not migrated).",
                               label="Row is marked deleted"),
    "address.postcode_malformed": Policy("malformed_postcode", "repair",
                                         "POSTCODE is not a UK postcode (left empty); correct it.",
                                         label="Postcode is not a UK postcode"),
    "address.date_unparseable": Policy("unparseable_date", "repair", "Correct FROM_DT / TO_DT (left empty).",
                                       label="Address dates cannot be read"),
    "address.kind_unknown": Policy(None, "drop", "ADDR_TYPE is not IA, HOTEL, DISP, DET or PRIV.",
                                   label="Address type is not a known type"),
    "address.line1_missing": Policy("null_required", "drop", "Address has no first line.",
                                    label="Address has no first line"),
    "appointment.time_missing": Policy("null_required", "drop", "APPT_TS is empty.",
                                       label="Appointment has no time"),
    "appointment.dst_gap": Policy("dst_local_time", "repair",
                                  "APPT_TS falls in the hour the clocks skip; read as GMT (one hour later in BST).",
                                  label="Appointment time is in the hour the clocks skip"),
    "appointment.dst_fold": Policy("dst_local_time", "repair",
                                   "APPT_TS falls in the hour the clocks repeat; read as the first (BST) one.",
                                   label="Appointment time is in the hour the clocks repeat"),
    "appointment.rebooking_loop": Policy("rebooking_loop", "repair",
                                         "REBOOKED_FROM_ID chain loops; the link closing the loop was removed.",
                                         label="Appointment rebookings go round in a loop"),
    "appointment.rebooking_dangling": Policy("rebooking_dangling", "repair",
                                             "REBOOKED_FROM_ID points at no appointment (link removed).",
                                             label="Appointment rebooked from one that does not exist"),
    "appointment.kind_unknown": Policy(None, "drop", "APPT_TYPE is not SCREEN, SUBST or REPORT.",
                                       label="Appointment type is not a known type"),
    "decision.date_unparseable": Policy("unparseable_date", "quarantine", "Correct DECISION_DT.",
                                        label="Decision date cannot be read"),
    "decision.appeal_date_unparseable": Policy("unparseable_date", "repair", "Correct APPEAL_DT (left empty).",
                                               label="Appeal date cannot be read"),
    "decision.outcome_unknown": Policy(None, "quarantine", "OUTCOME_CD is not GRANT, REFUSE or NFA.",
                                       label="Decision outcome is not a known outcome"),
    "flag.date_unparseable": Policy("unparseable_date", "repair", "Correct RAISED_DT / CLEARED_DT (left empty).",
                                    label="Flag dates cannot be read"),
    "flag.kind_unknown": Policy(None, "drop", "FLAG_CD is not a known vulnerability code.",
                                label="Flag is not a known vulnerability code"),
    "referral.category_unknown": Policy(None, "quarantine", "SUBMISSION_CAT is not NORMAL, URGENT or EMERGENCY.",
                                        label="UNHCR submission category is not known"),
    "note.time_missing": Policy("null_required", "drop", "CREATED_TS is empty.",
                                label="Note has no time"),
    "referral.date_unparseable": Policy("unparseable_date", "repair", "Correct RRF_RCVD_DT (left empty).",
                                        label="Referral form date cannot be read"),
    # the target's own checks (pandera), for anything the rules above did not foresee
    "schema.violation": Policy(None, "quarantine", "A value breaks the target model; see the field named.",
                               label="A value does not fit the new system"),
    "read.unreadable_value": Policy("unreadable_value", "quarantine",
                                    "The database cannot hand over a value in the column named (a timestamp out "
                                    "of range such as 'infinity', text that is not UTF-8); correct it in CID.",
                                    label="A value in CID cannot be read"),
    "load.rejected": Policy(None, "quarantine", "The target refused this case's rows (the constraint is named, "
                            "e.g. a case reference another case already holds); correct the value in CID.",
                            label="The new system refused the case's rows"),
}


def policy(rule: str) -> Policy:
    """The policy of a rule; an unknown rule is a programming error, never silently ignored."""
    return POLICIES[rule]
