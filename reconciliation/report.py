"""The per-wave reconciliation report for operational teams: self-contained HTML pages (inline
SVG charts, nothing fetched), a quarantine worklist per wave as CSV, and the JSON behind them."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from migration.rules.policies import POLICIES
from migration.target_schema import APPOINTMENT, CASE, CUTOVER_CASE, CUTOVER_CHECKPOINT, CUTOVER_FINDING, TASK
from reconciliation.charts import bar_chart
from reconciliation.compare import Reconciliation

ENV = jinja2.Environment(loader=jinja2.PackageLoader("reconciliation", "templates"),
                         autoescape=jinja2.select_autoescape(["html", "j2"]))
WORKLIST_FIELDS = ("case_ref", "wave", "rule", "reason", "fix")


@dataclass
class WaveFacts:
    """What the target says about one wave's cases, for the charts and the worklist."""

    outcomes: Counter[str]
    quarantine_rules: Counter[str]
    repairs_drops: Counter[str]
    units: Counter[str]
    tasks: Counter[str]
    appointments: Counter[str]
    worklist: list[dict[str, str]]


def wave_facts(conn: Connection, wave: str | None) -> WaveFacts:
    """Counts by outcome, rule, unit, task and appointment outcome, and the worklist, for a wave."""
    states = sa.select(CUTOVER_CASE.c.legacy_case_id).where(*([CUTOVER_CASE.c.wave == wave] if wave else []))
    scope = [CUTOVER_CASE.c.wave == wave] if wave else []
    outcomes = _counts(conn, sa.select(CUTOVER_CASE.c.state, sa.func.count()).where(*scope)
                       .group_by(CUTOVER_CASE.c.state))
    findings = conn.execute(sa.select(CUTOVER_FINDING.c.action, CUTOVER_FINDING.c.rule, sa.func.count()).where(
        CUTOVER_FINDING.c.legacy_case_id.in_(states)).group_by(CUTOVER_FINDING.c.action, CUTOVER_FINDING.c.rule)).all()
    in_wave = CASE.c.legacy_case_id.in_(states)
    units = _counts(conn, sa.select(CASE.c.owning_unit, sa.func.count()).where(in_wave).group_by(CASE.c.owning_unit))
    tasks = _counts(conn, sa.select(TASK.c.kind, sa.func.count()).join(CASE, CASE.c.case_id == TASK.c.case_id)
                    .where(in_wave).group_by(TASK.c.kind))
    appointments = _counts(conn, sa.select(APPOINTMENT.c.outcome, sa.func.count()).join(
        CASE, CASE.c.case_id == APPOINTMENT.c.case_id).where(in_wave).group_by(APPOINTMENT.c.outcome))
    worklist = []
    rows = conn.execute(sa.select(CUTOVER_CASE.c.legacy_ref, CUTOVER_CASE.c.wave, CUTOVER_FINDING.c.rule,
                                  CUTOVER_FINDING.c.entity, CUTOVER_FINDING.c.field, CUTOVER_FINDING.c.defect)
                        .join(CUTOVER_FINDING, CUTOVER_FINDING.c.legacy_case_id == CUTOVER_CASE.c.legacy_case_id)
                        .where(CUTOVER_CASE.c.state == "quarantined", CUTOVER_FINDING.c.action == "quarantine", *scope)
                        .order_by(CUTOVER_CASE.c.legacy_case_id, CUTOVER_FINDING.c.finding_id))
    for ref, case_wave, rule, entity, field, defect in rows:
        worklist.append({"case_ref": ref or "", "wave": case_wave, "rule": rule,
                         "reason": f"{defect or 'rule'} in {entity}.{field or '*'}", "fix": POLICIES[rule].fix})
    return WaveFacts(
        outcomes=outcomes,
        quarantine_rules=Counter({r: n for a, r, n in findings if a == "quarantine"}),
        repairs_drops=Counter({f"{a}: {r}": n for a, r, n in findings if a in ("repair", "drop", "merge")}),
        units=units, tasks=tasks, appointments=appointments, worklist=worklist)


def _counts(conn: Connection, stmt: sa.Select[Any]) -> Counter[str]:
    return Counter({str(k): int(v) for k, v in conn.execute(stmt).all()})


def worklist_csv(rows: list[dict[str, str]]) -> str:
    """The worklist as CSV text."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=WORKLIST_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _checkpoint(conn: Connection) -> str:
    row = conn.execute(sa.select(CUTOVER_CHECKPOINT.c.size, CUTOVER_CHECKPOINT.c.root)
                       .order_by(CUTOVER_CHECKPOINT.c.checkpoint_id.desc()).limit(1)).first()
    return f"{row[0]:,} entries, root {row[1][:16]}…" if row else "none yet"


def render_reports(conn: Connection, result: Reconciliation, as_of: dt.date, out: Path,
                   waves: list[str]) -> dict[str, str]:
    """Write index.html, a page and a worklist CSV per wave; return {file name: HTML text} of the pages."""
    out.mkdir(parents=True, exist_ok=True)
    report = result.as_dict()
    made_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    checkpoint = _checkpoint(conn)
    pages: dict[str, str] = {}
    by_wave = {w["name"]: w for w in report["waves"]}
    for wave in waves:
        facts = wave_facts(conn, wave)
        w = by_wave.get(wave, {"in_flight": 0, "migrated": 0, "quarantined": 0, "pending": 0, "unexplained": 0,
                                 "entities": []})
        csv_name = f"worklist-{wave}.csv"
        (out / csv_name).write_text(worklist_csv(facts.worklist))
        pages[f"wave-{wave}.html"] = _page(
            title=f"Cutover reconciliation: wave {wave}", balanced=report["balanced"], totals=w, excluded=None,
            waves=None, charts=_charts(facts), entities=w.get("entities", []),
            discrepancies=[d for d in report["discrepancies"] if d.get("wave") == wave],
            worklist=facts.worklist, worklist_csv=csv_name, made_at=made_at, as_of=as_of, checkpoint=checkpoint)
    overall = wave_facts(conn, None)
    pages["index.html"] = _page(
        title="Cutover reconciliation: all waves", balanced=report["balanced"], totals=report["totals"],
        excluded=report["totals"]["excluded"], waves=report["waves"], charts=_charts(overall),
        entities=report["entities"], discrepancies=report["discrepancies"], worklist=None, worklist_csv="",
        made_at=made_at, as_of=as_of, checkpoint=checkpoint)
    for name, html in pages.items():
        (out / name).write_text(html)
    return pages


def _charts(facts: WaveFacts) -> list[str]:
    return [
        bar_chart("Cases by outcome", list(facts.outcomes.items())),
        bar_chart("Quarantine reasons", list(facts.quarantine_rules.items())),
        bar_chart("Repairs, drops and merges by rule", list(facts.repairs_drops.items())),
        bar_chart("Migrated cases by owning unit", list(facts.units.items())),
        bar_chart("Migrated cases by next task", list(facts.tasks.items())),
        bar_chart("Appointment outcomes", list(facts.appointments.items())),
    ]


def _page(**context: Any) -> str:
    return ENV.get_template("page.html.j2").render(**context)
