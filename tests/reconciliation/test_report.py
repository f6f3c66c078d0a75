"""The operations report: self-contained pages that open with the worklist, a worklist per wave
with each case's owning unit in CID, links both ways, recorded in the ledger."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from html import escape
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.db import create_engine
from cutover.cli import main
from legacy.schema import CASE_HDR
from migration.rules.policies import POLICIES
from migration.rules.waves import WAVE_ORDER
from migration.run import RunConfig
from migration.target_schema import CUTOVER_CASE, CUTOVER_FINDING, CUTOVER_LEDGER
from reconciliation.charts import FILLS
from reconciliation.worklist import WORKLIST_FIELDS, WorkItem, worklist_csv
from tests.helpers import AS_OF, generate, run_all

EXTERNAL = re.compile(r"""(<script|<link|<img|<iframe|@import|url\((?!#)|src=|href=["']?(https?:|//))""", re.I)
COLLISION = "case.reference_collision"


def test_every_rule_has_a_plain_language_label() -> None:
    for rule, policy in POLICIES.items():
        assert policy.label and policy.label[0].isupper() and len(policy.label) <= 60, rule
        assert not re.search(r"[a-z]+\.[a-z_]+", policy.label), rule  # words, not a rule id
    assert len({p.label for p in POLICIES.values()}) == len(POLICIES)


def _sections(html: str) -> list[str]:
    return re.findall(r'<section id="([a-z]+)"', html)


@pytest.mark.e2e  # migrates a generated CID whole and renders every page
def test_pages_lead_with_the_worklist_and_list_every_quarantined_case(databases, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                      monkeypatch) -> None:
    monkeypatch.setenv("CUTOVER_DATA_DIR", str(tmp_path / "data"))
    legacy, target = databases.new("legacy"), databases.new("target")
    generate(legacy, 700, seed=61, scale=3.0)
    run_all(RunConfig(legacy, target, AS_OF, batch_size=200))
    out = tmp_path / "report"
    assert main(["report", "--legacy", legacy, "--target", target, "--out", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in out.glob("*.html")) == sorted(["index.html", *(f"wave-{w}.html" for w in WAVE_ORDER)])

    with create_engine(target).connect() as conn:
        held = dict(conn.execute(sa.select(CUTOVER_CASE.c.legacy_case_id, CUTOVER_CASE.c.wave)
                                 .where(CUTOVER_CASE.c.state == "quarantined")).all())
        findings = {(cid, rule) for cid, rule in conn.execute(
            sa.select(CUTOVER_FINDING.c.legacy_case_id, CUTOVER_FINDING.c.rule)
            .where(CUTOVER_FINDING.c.action == "quarantine", CUTOVER_FINDING.c.legacy_case_id.in_(list(held))))}
        reports = conn.execute(sa.select(sa.func.count()).where(CUTOVER_LEDGER.c.kind == "report")).scalar()
    with create_engine(legacy).connect() as conn:
        cid = {r.CASE_ID: r for r in conn.execute(sa.select(CASE_HDR.c.CASE_ID, CASE_HDR.c.CASE_REF,
                                                            CASE_HDR.c.OWNING_UNIT_CD))}
    same_ref: dict[str, set[int]] = defaultdict(set)
    for r in cid.values():
        same_ref["".join((r.CASE_REF or "").split(" ")).upper()].add(r.CASE_ID)

    index = (out / "index.html").read_text()
    assert _sections(index)[0] == "waves"
    listed: dict[int, str] = {}
    rows_by_rule: dict[str, list[dict[str, str]]] = defaultdict(list)
    for wave in WAVE_ORDER:
        page = (out / f"wave-{wave}.html").read_text()
        assert f'href="wave-{wave}.html"' in index and f'href="worklist-{wave}.csv"' in index
        assert 'href="index.html"' in page and f'href="worklist-{wave}.csv"' in page
        assert _sections(page)[:3] == ["worklist", "conservation", "charts"], wave
        assert not EXTERNAL.search(page), wave
        with (out / f"worklist-{wave}.csv").open() as handle:
            rows = list(csv.DictReader(handle))
        for r in rows:
            assert tuple(r) == WORKLIST_FIELDS and r["fix"] and r["wave"] == wave
            case = cid[int(r["case_id"])]
            assert (r["owning_unit"], r["case_ref"]) == ((case.OWNING_UNIT_CD or "").strip(), case.CASE_REF)
            assert r["reason"] == POLICIES[r["rule"]].label and (int(r["case_id"]), r["rule"]) in findings
            assert f'data-case-id="{r["case_id"]}"' in page and escape(POLICIES[r["rule"]].label) in page
            listed[int(r["case_id"])] = r["wave"]
            rows_by_rule[r["rule"]].append(r)
        positions = [page.index(f'data-rule="{rule}"') for rule in {r["rule"] for r in rows}]
        assert all(p < page.index('<section id="conservation"') for p in positions)
    assert listed == held and held
    assert {cid for cid, _ in findings} == set(held)

    collisions = rows_by_rule[COLLISION]
    assert collisions, "the generated CID has a reference collision among in-flight cases"
    for r in collisions:
        me = int(r["case_id"])
        pair = {int(c) for c in r["pair_case_ids"].split()}
        assert pair and pair == same_ref["".join(r["case_ref"].split(" ")).upper()] - {me}
        row = re.search(rf'<tr data-case-id="{me}">.*?</tr>', (out / f"wave-{r['wave']}.html").read_text()).group(0)
        assert all(re.search(rf"\b{other} \((quarantined|excluded|migrated)", row) for other in pair), row
    for wave in {r["wave"] for r in collisions}:  # the halves of one reference are listed next to each other
        page = (out / f"wave-{wave}.html").read_text()
        start = page.index(f'data-rule="{COLLISION}"')
        group = page[start:page.index("</section>", start)]
        order = [int(c) for c in re.findall(r'<tr data-case-id="(\d+)"', group)]
        for r in (r for r in collisions if r["wave"] == wave):
            here = [int(c) for c in r["pair_case_ids"].split() if int(c) in order]
            assert all(abs(order.index(c) - order.index(int(r["case_id"]))) <= len(here) for c in here), order
    assert all(r["pair_case_ids"] == "" for rule, rs in rows_by_rule.items() if rule != COLLISION for r in rs)

    for meaning in ("migrated", "quarantined", "excluded", "pending"):
        assert f'<li data-fill="{meaning}">' in index and escape(FILLS[meaning][2]) in index
    assert re.search(r'data-fill="quarantined"><span class="bar-label">Quarantined</span>.*?<span class="bar-value">'
                     r"([\d,]+)</span>", index)
    assert reports == 1 + len(WAVE_ORDER) + 1  # every page and the JSON are in the ledger

    # one wave only, with a page cap of one row per fix: the index links only what exists, the CSV keeps all
    monkeypatch.setattr("reconciliation.report.HTML_ROWS_PER_FIX", 1)
    busiest = max(WAVE_ORDER, key=lambda w: sum(1 for r in rows_by_rule.values() for i in r if i["wave"] == w))
    one = tmp_path / "one"
    args = ["report", "--legacy", legacy, "--target", target, "--out", str(one), "--wave", busiest, "--quiet"]
    assert main(args) == 0
    assert sorted(p.name for p in one.glob("*.html")) == ["index.html", f"wave-{busiest}.html"]
    pages_text = (one / "index.html").read_text() + (one / f"wave-{busiest}.html").read_text()
    links = re.findall(r'href="([^"#]+)"', pages_text)
    assert links and all((one / link).exists() for link in links)
    page = (one / f"wave-{busiest}.html").read_text()
    csv_rows = list(csv.DictReader((one / f"worklist-{busiest}.csv").open()))
    assert csv_rows == list(csv.DictReader((out / f"worklist-{busiest}.csv").open()))
    biggest = max(Counter(r["rule"] for r in csv_rows).values())
    assert page.count("<tr data-case-id=") == len({r["rule"] for r in csv_rows}) < len(csv_rows)
    assert f"The first 1 of {biggest}; all are in" in page


def test_worklist_csv_keeps_a_formula_like_cid_value_as_text() -> None:
    item = WorkItem(owning_unit="@SUM(A1)", case_id=7, case_ref="=HYPERLINK(1)", wave="rest", rule=COLLISION,
                    reason=POLICIES[COLLISION].label, where="case.case_ref", fix=POLICIES[COLLISION].fix,
                    pair_case_ids="8")
    row = next(csv.DictReader(io.StringIO(worklist_csv([item]))))
    assert (row["owning_unit"], row["case_ref"], row["case_id"]) == ("'@SUM(A1)", "'=HYPERLINK(1)", "7")
    assert row["reason"] == POLICIES[COLLISION].label
