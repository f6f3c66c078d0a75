"""Transform one batch as frames: case headers, parties, persons and addresses, routing and
tasking, the child tables; then pandera validation. Quarantined cases leave no business row."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

from migration.extract.batch import LegacyBatch
from migration.extract.reference import LegacyReference
from migration.facts import fact_frame
from migration.rules import Rules, current_rules
from migration.transform.case_rows import case_frame
from migration.transform.child_rows import child_frames
from migration.transform.findings import (
    FINDINGS_SCHEMA,
    Finding,
    all_found,
    finding_records,
    quarantined_by,
)
from migration.transform.frames import CASE_COLUMN, TABLE_NAMES, empty_frame, frame_schema, key_columns
from migration.transform.nationality import NationalityMapper
from migration.transform.party_rows import PartyFrames, party_frames
from migration.transform.routing import routed, task_rows
from migration.transform.validate import schema_failures

CHILD_TABLES = ("APPOINTMENT", "CASE_NOTE", "DECISION", "CASE_FLAG", "UNHCR_REFERRAL")


@dataclass
class CaseOutcome:
    """What became of one case in this batch."""

    legacy_case_id: int
    legacy_ref: str | None
    state: str  # migrated | quarantined
    legacy_fingerprint: str
    target_fingerprint: str | None


def _without(frame: pl.DataFrame, case_ids: Iterable[int]) -> pl.DataFrame:
    return frame.filter(~pl.col(CASE_COLUMN).is_in(pl.Series(sorted(case_ids), dtype=pl.Int64).implode()))


@dataclass
class TransformResult:
    """Target rows per table (frames of frames.frame_schema), findings and per-case outcomes."""

    rows: dict[str, pl.DataFrame] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    outcomes: list[CaseOutcome] = field(default_factory=list)
    # Every case's reading of each person on it, and of each address, before one row per key is kept.
    person_records: pl.DataFrame = field(default_factory=lambda: empty_frame("person"))
    address_records: pl.DataFrame = field(default_factory=lambda: empty_frame("address"))
    rules: Rules = field(default_factory=current_rules)

    @property
    def migrated(self) -> int:
        """Cases migrated in this batch."""
        return sum(o.state == "migrated" for o in self.outcomes)

    @property
    def quarantined(self) -> int:
        """Cases quarantined in this batch."""
        return sum(o.state == "quarantined" for o in self.outcomes)

    def only(self, case_ids: set[int]) -> TransformResult:
        """The rows and outcomes of these cases alone (findings are not carried)."""
        chosen = pl.Series(sorted(case_ids), dtype=pl.Int64)
        rows = {t: frame.filter(pl.col(CASE_COLUMN).is_in(chosen.implode())) for t, frame in self.rows.items()}
        return TransformResult(rows=rows, outcomes=[o for o in self.outcomes if o.legacy_case_id in case_ids],
                               rules=self.rules)

    def refuse(self, refused: dict[int, tuple[str, str | None]]) -> None:
        """Quarantine cases whose rows the target refused, under the policy of `load.rejected`."""
        if not refused:
            return
        self.rows = {t: _without(frame, refused) for t, frame in self.rows.items()}
        for outcome in self.outcomes:
            if outcome.legacy_case_id in refused:
                table, place = refused[outcome.legacy_case_id]
                outcome.state, outcome.target_fingerprint = "quarantined", None
                p = self.rules.policy("load.rejected")
                self.findings.append(Finding(outcome.legacy_case_id, outcome.legacy_ref, "load.rejected", table,
                                             place, outcome.legacy_case_id, p.defect, p.action))


def conformed(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """A frame with exactly the table's frame schema (columns in order, each of its type)."""
    return frame.select(pl.col(name).cast(dtype) for name, dtype in frame_schema(table).items())


def _facts(legacy: LegacyBatch, parties: PartyFrames, reference: LegacyReference, as_of: dt.date, rules: Rules,
           nationality: NationalityMapper) -> pl.DataFrame:
    """The routing facts of every case, read from its one main applicant where it has one."""
    mains = parties.mains.join(legacy["PERSON"].select("PERSON_ID", "NATIONALITY", "GENDER"),
                               left_on="MAIN_PERSON_ID", right_on="PERSON_ID", how="left")
    cases = legacy["CASE_HDR"].join(mains, on="CASE_ID", how="left", maintain_order="left")
    addresses = parties.mains.join(legacy["ADDRESS"], left_on="MAIN_PERSON_ID", right_on="PERSON_ID",
                                   how="inner").sort("CASE_ID", "ADDRESS_ID")
    return fact_frame(cases, legacy["CASE_FLAG"], addresses, as_of, rules, nationality, reference.unit_regions)


def routing_facts(legacy: LegacyBatch, reference: LegacyReference, as_of: dt.date,
                  rules: Rules | None = None) -> pl.DataFrame:
    """CASE_ID, MAIN_PERSON_ID (null without exactly one main applicant) and the facts routing
    and tasking match on, of every case of the batch, as the transform reads them."""
    rules = rules or current_rules()
    nationality = NationalityMapper(reference.nationalities, rules.nationality_aliases)
    cases, _ = case_frame(legacy["CASE_HDR"], legacy["DECISION"], reference, as_of, rules)
    parties = party_frames(legacy, cases, reference, as_of, rules, nationality)
    facts = _facts(legacy, parties, reference, as_of, rules, nationality)
    return facts.join(parties.mains, on="CASE_ID", how="left", maintain_order="left")


def row_texts(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Each row as the text its case's target fingerprint hashes (`_case`, `text`): the table's
    name, then every value, `|` between them: null as `-`, free text as `bytes:text` (its UTF-8
    length first, so a `|` or a `-` inside it reads as text), any other value (a key, a number, a
    flag, a date or instant in ISO form) as it is, since none holds a `|` or is a lone `-`."""
    keys = set(key_columns(table))
    parts = []
    for name, dtype in frame.schema.items():
        if name == CASE_COLUMN:
            continue
        column = pl.col(name)
        if dtype == pl.Date:
            text = column.dt.to_string("%Y-%m-%d")
        elif isinstance(dtype, pl.Datetime):
            text = column.dt.to_string("%Y-%m-%dT%H:%M:%S%.6f")
        else:
            text = column.cast(pl.String)
        if dtype == pl.String and name not in keys:
            text = pl.concat_str(text.str.len_bytes().cast(pl.String), pl.lit(":"), text)
        parts.append(text.fill_null("-"))
    return frame.select(pl.col(CASE_COLUMN), pl.concat_str([pl.lit(table), *parts], separator="|").alias("text"))


def target_fingerprints(rows: dict[str, pl.DataFrame]) -> dict[int, str]:
    """CASE_ID -> SHA-256 (hex) of the case's row texts, sorted: the same rows give the same print."""
    # Polars sorts text by its UTF-8 bytes, which is the order of its code points.
    texts = pl.concat([row_texts(table, frame) for table, frame in rows.items()]).sort(CASE_COLUMN, "text")
    joined = texts.group_by(CASE_COLUMN, maintain_order=True).agg(pl.col("text").str.join("\n"))
    # Hashed as Polars holds the text (UTF-8 bytes), never decoded into Python strings and back.
    encoded = joined["text"].cast(pl.Binary).to_list()
    return {case_id: hashlib.sha256(data).hexdigest()
            for case_id, data in zip(joined[CASE_COLUMN].to_list(), encoded, strict=True)}


# Rows that cases of a batch share (a human on two cases, and so that human's addresses): the
# one row kept per key, by the order that chooses it, as a fresh run of any batching keeps.
SHARED_ROWS = {"person": ("person_id", ("legacy_person_id", CASE_COLUMN)), "address": ("address_id", (CASE_COLUMN,))}


def one_per_key(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """One row per key of a table whose rows cases share; other tables as they are."""
    if table not in SHARED_ROWS:
        return frame
    key, order = SHARED_ROWS[table]
    return frame.sort(*order, maintain_order=True).unique(key, keep="first", maintain_order=True)


def transform_batch(legacy: LegacyBatch, reference: LegacyReference, as_of: dt.date,
                    rules: Rules | None = None) -> TransformResult:
    """Transform and validate a batch of legacy cases into target rows and findings, by the rules
    given or else the rules in force."""
    rules = rules or current_rules()
    nationality = NationalityMapper(reference.nationalities, rules.nationality_aliases)
    cases, findings = case_frame(legacy["CASE_HDR"], legacy["DECISION"], reference, as_of, rules)
    parties = party_frames(legacy, cases, reference, as_of, rules, nationality)
    cases = cases.join(routed(_facts(legacy, parties, reference, as_of, rules, nationality), rules), on="CASE_ID",
                       how="left", maintain_order="left")
    children, child_findings = child_frames({t: legacy[t] for t in CHILD_TABLES}, parties.named, as_of, rules)
    tables = {"case": cases.with_columns(pl.col("CASE_ID").alias(CASE_COLUMN)), "case_party": parties.case_party,
              "person": parties.person, "address": parties.address, "task": task_rows(cases, rules), **children}
    tables = {name: conformed(name, tables[name]) if name in tables else empty_frame(name) for name in TABLE_NAMES}
    found = all_found([*findings, *parties.findings, child_findings])
    quarantined = quarantined_by(found, rules)
    # Quarantined cases leave before validation, so one bad case cannot hide another's failures.
    unvalidated = {name: _without(frame, quarantined) for name, frame in tables.items()}
    candidates = {name: one_per_key(name, frame) for name, frame in unvalidated.items()}
    violations = [(case_id, "schema.violation", table, column, case_id)
                  for table, frame in candidates.items() for case_id, column in schema_failures(table, frame)]
    found = pl.concat([found, pl.DataFrame(violations, schema=FINDINGS_SCHEMA, orient="row")])
    quarantined |= {v[0] for v in violations}
    rows = {name: one_per_key(name, _without(frame, quarantined)) for name, frame in unvalidated.items()}
    refs = dict(legacy["CASE_HDR"].select("CASE_ID", "CASE_REF").iter_rows())
    prints = target_fingerprints(rows)
    outcomes = [CaseOutcome(cid, refs[cid], "quarantined" if cid in quarantined else "migrated",
                            legacy.fingerprints.get(cid, ""), None if cid in quarantined else prints.get(cid))
                for cid in legacy.case_ids]
    return TransformResult(rows, finding_records(found, refs, rules), outcomes, tables["person"],
                           tables["address"], rules)
