"""The report in a real browser (Debian's Chromium, headless): every page opens from disk with no
console error and no network request, and the charts are drawn."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cutover.cli import main
from migration.run import RunConfig
from tests.helpers import AS_OF, generate, run_all

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


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


@pytest.mark.e2e  # a real browser (Chromium) opens every page
def test_every_page_opens_offline_with_charts_drawn(report: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: `make test` installs it"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
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
            if html.name == "index.html":
                bars = page.eval_on_selector_all("svg rect", "rs => rs.map(r => r.getBoundingClientRect().width)")
                assert len(bars) >= 6 and all(w > 0 for w in bars)
                page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
                shutil.copy(tmp_path / "index.png", report.parent / "index.png")
        browser.close()
    assert (tmp_path / "index.png").stat().st_size > 20_000
