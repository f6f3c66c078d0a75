"""The operations report: self-contained pages, a worklist per wave, recorded in the ledger."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import sqlalchemy as sa

from cutover.cli import main
from cutover.db import create_engine
from migration.rules.waves import WAVE_ORDER
from migration.run import RunConfig
from migration.target_schema import CUTOVER_CASE, CUTOVER_LEDGER
from tests.helpers import AS_OF, generate, run_all

EXTERNAL = re.compile(r"""(<script|<link|<img|<iframe|@import|url\(|src=|href=["']?(https?:|//))""", re.I)


def test_report_pages_are_self_contained_and_list_every_quarantined_case(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CUTOVER_DATA_DIR", str(tmp_path / "data"))
    legacy, target = f"sqlite:///{tmp_path / 'legacy.db'}", f"sqlite:///{tmp_path / 'target.db'}"
    generate(legacy, 700, seed=61, scale=3.0)
    cfg = RunConfig(legacy, target, AS_OF, batch_size=200)
    run_all(cfg)
    out = tmp_path / "report"
    assert main(["report", "--legacy", legacy, "--target", target, "--out", str(out), "--quiet"]) == 0
    pages = sorted(p.name for p in out.glob("*.html"))
    assert pages == sorted(["index.html", *(f"wave-{w}.html" for w in WAVE_ORDER)])
    with create_engine(target).connect() as conn:
        sizes = dict(conn.execute(sa.select(CUTOVER_CASE.c.wave, sa.func.count()).group_by(CUTOVER_CASE.c.wave)).all())
    for page in out.glob("*.html"):
        html = page.read_text()
        assert not EXTERNAL.search(html), page.name
        wave = page.stem.removeprefix("wave-")
        charts_expected = 4 if page.name == "index.html" or sizes.get(wave) else 0
        assert html.count("<svg") >= charts_expected and "BALANCED" in html, page.name
    with create_engine(target).connect() as conn:
        held = dict(conn.execute(sa.select(CUTOVER_CASE.c.legacy_ref, CUTOVER_CASE.c.wave)
                                 .where(CUTOVER_CASE.c.state == "quarantined")).all())
        reports = conn.execute(sa.select(sa.func.count()).where(CUTOVER_LEDGER.c.kind == "report")).scalar()
    listed: dict[str, str] = {}
    for wave in WAVE_ORDER:
        with (out / f"worklist-{wave}.csv").open() as handle:
            rows = list(csv.DictReader(handle))
        assert all(set(r) == {"case_ref", "wave", "rule", "reason", "fix"} and r["fix"] for r in rows)
        listed.update({r["case_ref"]: r["wave"] for r in rows})
        page = (out / f"wave-{wave}.html").read_text()
        assert all(r["case_ref"] in page for r in rows)
    assert listed == held and held
    assert reports == len(pages) + 1  # every page and the JSON are in the ledger
