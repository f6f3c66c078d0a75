"""The report in a real browser (Debian's Chromium, headless) at a desktop width and a phone's:
every page opens from disk with no console error and no network request, wave pages show the
worklist first, links go both ways, the legend is there, nothing overflows sideways on a phone.
Screenshots are kept: under the test's tmp folder and in $CUTOVER_SCREENSHOTS_DIR (data/screenshots)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from cutover.cli import main
from migration.rules.waves import WAVE_ORDER
from migration.run import RunConfig
from tests.helpers import AS_OF, generate, run_all

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
WIDTHS = {"desktop": 1280, "phone": 390}
PAGE_FACTS = """() => ({
  sections: [...document.querySelectorAll('body > section')].map(s => s.id),
  worklistTop: (document.querySelector('#worklist h2') || {getBoundingClientRect: () => ({top: -1})})
                 .getBoundingClientRect().top,
  links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
  legend: [...document.querySelectorAll('ul.legend li')].filter(li => li.offsetWidth > 0)
            .map(li => li.textContent.trim()),
  bars: [...document.querySelectorAll('ul.bars li')].map(li => ({
            label: li.querySelector('.bar-label').textContent.trim(),
            value: li.querySelector('.bar-value').textContent.trim(),
            width: li.querySelector('svg.bar').getBoundingClientRect().width,
            fill: li.querySelector('svg.bar rect').getAttribute('fill')})),
  patterns: [...document.querySelectorAll('pattern')].map(p => p.id),
  scrollWidth: document.documentElement.scrollWidth,
  clientWidth: document.documentElement.clientWidth,
})"""


def _screenshots_dir() -> Path:
    return Path(os.environ.get("CUTOVER_SCREENSHOTS_DIR") or ROOT / "data" / "screenshots")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser")
    legacy, target = f"sqlite:///{folder / 'legacy.db'}", f"sqlite:///{folder / 'target.db'}"
    generate(legacy, 500, seed=81, scale=3.0)
    cfg = RunConfig(legacy, target, AS_OF, batch_size=200)
    run_all(cfg)
    out = folder / "report"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CUTOVER_DATA_DIR", str(folder / "data"))
        assert main(["report", "--legacy", legacy, "--target", target, "--out", str(out), "--quiet"]) == 0
    return out


def _busiest_wave(report: Path) -> str:
    return max(WAVE_ORDER, key=lambda w: len((report / f"worklist-{w}.csv").read_text().splitlines()))


@pytest.mark.e2e  # a real browser (Chromium) opens every page
@pytest.mark.parametrize("device", list(WIDTHS))
def test_every_page_reads_well_offline_at_desktop_and_phone_width(report: Path, tmp_path: Path, device: str) -> None:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: `make test` installs it"
    width = WIDTHS[device]
    shots = {"index.html", f"wave-{_busiest_wave(report)}.html"}
    kept = _screenshots_dir()
    kept.mkdir(parents=True, exist_ok=True)
    facts: dict[str, dict[str, Any]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": width, "height": 900})
        errors: list[str] = []
        requests: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda req: requests.append(req.url))
        for html in sorted(report.glob("*.html")):
            requests.clear()
            page.goto(html.as_uri())
            page.wait_for_load_state("load")
            assert errors == [], (html.name, errors)
            assert requests == [html.as_uri()], (html.name, requests)  # the page itself, nothing else
            facts[html.name] = page.evaluate(PAGE_FACTS)
            if html.name in shots:
                shot = tmp_path / f"{html.stem}-{device}-{width}.png"
                page.screenshot(path=str(shot), full_page=True)
                shutil.copy(shot, kept / shot.name)
        browser.close()

    for name, f in facts.items():
        assert f["scrollWidth"] <= f["clientWidth"] <= width, (name, f["scrollWidth"])  # no sideways scrolling
        assert len(f["legend"]) >= 4 and all(m in " ".join(f["legend"]) for m in
                                             ("Migrated", "Quarantined", "Excluded", "Pending")), name
        assert {"fill-migrated", "fill-quarantined", "fill-excluded", "fill-pending"} <= set(f["patterns"])
        assert all(b["label"] and b["value"] and (b["width"] > 0) == (b["value"] != "0")
                   and b["fill"].startswith("url(#fill-") for b in f["bars"]), name
        assert all((report / link.split("#")[0]).exists() for link in f["links"] if not link.startswith("#")), name
    index = facts.pop("index.html")
    assert index["sections"][0] == "waves"
    assert {f"wave-{w}.html" for w in WAVE_ORDER} | {f"worklist-{w}.csv" for w in WAVE_ORDER} <= set(index["links"])
    outcome_fills = {b["fill"] for b in index["bars"] if b["label"] in ("Migrated", "Quarantined", "Pending")}
    assert outcome_fills == {"url(#fill-migrated)", "url(#fill-quarantined)", "url(#fill-pending)"}
    for name, f in facts.items():
        assert f["sections"][:3] == ["worklist", "conservation", "charts"], name
        assert 0 <= f["worklistTop"] < 250, name  # the worklist is on the first screen, not under the charts
        assert "index.html" in f["links"] and f"worklist-{name[5:-5]}.csv" in f["links"], name
    for shot in shots:
        assert (tmp_path / f"{shot[:-5]}-{device}-{width}.png").stat().st_size > 20_000
