"""The per-wave reconciliation report for operational teams: self-contained HTML pages (inline
SVG charts, nothing fetched) that open with the wave's quarantine worklist, the worklist as CSV,
and an index linking them all."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.engine import Connection

from migration.rules.policies import POLICIES
from migration.target_schema import APPOINTMENT, CASE, CUTOVER_CASE, CUTOVER_CHECKPOINT, CUTOVER_FINDING, TASK
from reconciliation.charts import Bar, bar_chart, legend, pattern_defs
from reconciliation.compare import Reconciliation
from reconciliation.worklist import group_by_fix, pair_states, worklist, worklist_csv

ENV = jinja2.Environment(loader=jinja2.PackageLoader("reconciliation", "templates"),
                         autoescape=jinja2.select_autoescape(["html", "j2"]))
HTML_ROWS_PER_FIX = 1000
_EMPTY_WAVE = {"in_flight": 0, "migrated": 0, "quarantined": 0, "pending": 0, "unexplained": 0, "entities": []}


def visible_spaces(text: str) -> Markup:
    """Text with each space shown as a visible mark, so stray spaces in a reference can be seen."""
    return Markup('<span class="sp" title="a space">\u2423</span>').join(escape(part) for part in text.split(" "))


ENV.filters["visible_spaces"] = visible_spaces


@dataclass
class WaveFacts:
    """What the target says about one wave's cases (or all), for the charts."""

    quarantine_rules: Counter[str]
    repairs_drops: Counter[tuple[str, str]]
    units: Counter[str]
    tasks: Counter[str]
    appointments: Counter[str]


def wave_facts(conn: Connection, wave: str | None) -> WaveFacts:
    """Counts by rule, unit, task and appointment outcome, for a wave or all."""
    states = sa.select(CUTOVER_CASE.c.legacy_case_id).where(*([CUTOVER_CASE.c.wave == wave] if wave else []))
    findings = conn.execute(sa.select(CUTOVER_FINDING.c.action, CUTOVER_FINDING.c.rule, sa.func.count()).where(
        CUTOVER_FINDING.c.legacy_case_id.in_(states)).group_by(CUTOVER_FINDING.c.action, CUTOVER_FINDING.c.rule)).all()
    in_wave = CASE.c.legacy_case_id.in_(states)
    units = _counts(conn, sa.select(CASE.c.owning_unit, sa.func.count()).where(in_wave).group_by(CASE.c.owning_unit))
    tasks = _counts(conn, sa.select(TASK.c.kind, sa.func.count()).join(CASE, CASE.c.case_id == TASK.c.case_id)
                    .where(in_wave).group_by(TASK.c.kind))
    appointments = _counts(conn, sa.select(APPOINTMENT.c.outcome, sa.func.count()).join(
        CASE, CASE.c.case_id == APPOINTMENT.c.case_id).where(in_wave).group_by(APPOINTMENT.c.outcome))
    return WaveFacts(
        quarantine_rules=Counter({r: n for a, r, n in findings if a == "quarantine"}),
        repairs_drops=Counter({(a, r): n for a, r, n in findings if a in ("repair", "drop", "merge")}),
        units=units, tasks=tasks, appointments=appointments)


def _counts(conn: Connection, stmt: sa.Select[Any]) -> Counter[str]:
    return Counter({str(k): int(v) for k, v in conn.execute(stmt).all()})


def _checkpoint(conn: Connection) -> str:
    row = conn.execute(sa.select(CUTOVER_CHECKPOINT.c.size, CUTOVER_CHECKPOINT.c.root)
                       .order_by(CUTOVER_CHECKPOINT.c.checkpoint_id.desc()).limit(1)).first()
    return f"{row[0]:,} entries, root {row[1][:16]}…" if row else "none yet"


def render_reports(conn: Connection, legacy: Connection, result: Reconciliation, as_of: dt.date, out: Path,
                   waves: list[str]) -> dict[str, str]:
    """Write index.html, a page and a worklist CSV per wave; return {file name: HTML text} of the pages.
    `conn` is the target's; `legacy` reads CID for each worklist case's owning unit and reference."""
    out.mkdir(parents=True, exist_ok=True)
    report = result.as_dict()
    common = {"balanced": report["balanced"], "as_of": as_of, "checkpoint": _checkpoint(conn),
              "made_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "defs": pattern_defs(),
              "legend": legend(), "max_rows": HTML_ROWS_PER_FIX}
    pages: dict[str, str] = {}
    by_wave = {w["name"]: w for w in report["waves"]}
    worklist_sizes: dict[str, int] = {}
    for wave in waves:
        items = worklist(conn, legacy, wave)
        csv_name = f"worklist-{wave}.csv"
        (out / csv_name).write_text(worklist_csv(items))
        worklist_sizes[wave] = len(items)
        totals = by_wave.get(wave, _EMPTY_WAVE)
        pages[f"wave-{wave}.html"] = _page(
            **common, kind="wave", wave=wave, title=f"Wave {wave}: cutover reconciliation", totals=totals,
            excluded=None, waves=None, groups=group_by_fix(items), worklist_size=len(items), worklist_csv=csv_name,
            pairs=pair_states(conn, items),
            charts=_charts(wave_facts(conn, wave), totals, None), entities=totals.get("entities", []),
            discrepancies=[d for d in report["discrepancies"] if d.get("wave") == wave])
    totals = report["totals"]
    pages["index.html"] = _page(
        **common, kind="index", wave=None, title="Cutover reconciliation: all waves", totals=totals,
        excluded=totals["excluded"], waves=[{**w, "page": f"wave-{w['name']}.html", "csv": f"worklist-{w['name']}.csv",
                                             "rows": worklist_sizes.get(w["name"])} for w in report["waves"]],
        groups=None, worklist_size=None, worklist_csv="", charts=_charts(wave_facts(conn, None), totals,
                                                                        totals["excluded"]),
        entities=report["entities"], discrepancies=report["discrepancies"])
    for name, html in pages.items():
        (out / name).write_text(html)
    return pages


def _charts(facts: WaveFacts, totals: dict[str, Any], excluded: int | None) -> list[str]:
    outcomes = [Bar(name.capitalize(), int(totals.get(name) or 0), name)
                for name in ("migrated", "quarantined", "pending")]
    if totals.get("unexplained"):
        outcomes.append(Bar("Unexplained", int(totals["unexplained"]), "unexplained"))
    if excluded is not None:
        outcomes.append(Bar("Excluded (beside, not in flight)", excluded, "excluded"))
    return [
        bar_chart("Cases by outcome", outcomes, keep_order=True),
        bar_chart("Quarantine findings by reason",
                  [Bar(POLICIES[r].label, n, "quarantined", r) for r, n in facts.quarantine_rules.items()]),
        bar_chart("Repairs, drops and merges by reason",
                  [Bar(f"{POLICIES[r].label} ({a})", n, "count", r) for (a, r), n in facts.repairs_drops.items()]),
        bar_chart("Migrated cases by owning unit", [Bar(k, n, "migrated") for k, n in facts.units.items()]),
        bar_chart("Migrated cases by next task", [Bar(k, n, "migrated") for k, n in facts.tasks.items()]),
        bar_chart("Appointments of migrated cases by outcome",
                  [Bar(k if k != "None" else "none yet", n, "count") for k, n in facts.appointments.items()]),
    ]


def _page(**context: Any) -> str:
    return ENV.get_template("page.html.j2").render(**context)
