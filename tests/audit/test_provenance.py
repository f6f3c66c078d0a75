"""Provenance: the version the command line reports, and a digest that follows the rule tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit import provenance
from cutover import __version__
from cutover.cli import main
from migration.rules import use_rules
from migration.rules.loader import SHIPPED


def test_version_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"cutover {__version__}"


def test_the_rules_digest_changes_with_a_rule_table(tmp_path: Path) -> None:
    before = provenance.rules_digest()
    assert before == provenance.rules_digest() and len(before) == 64
    shipped = (SHIPPED / "dates.toml").read_text()
    assert "appeal_window_days = 14" in shipped
    (tmp_path / "dates.toml").write_text(shipped.replace("appeal_window_days = 14", "appeal_window_days = 21"))
    try:
        use_rules(tmp_path)
        assert provenance.rules_digest() != before
        assert provenance.provenance_fields()["rules"] == provenance.rules_digest()
    finally:
        use_rules(None)
    assert provenance.rules_digest() == before
