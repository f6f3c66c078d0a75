"""Provenance: the version the command line reports, and a digest that follows the rule tables."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from audit import provenance
from cutover import __version__
from cutover.cli import main


def test_version_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"cutover {__version__}"


def test_the_rules_digest_changes_with_a_rule_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = provenance.rules_digest()
    assert before == provenance.rules_digest() and len(before) == 64
    waves = importlib.import_module("migration.rules.waves")
    changed = tmp_path / "waves.py"
    changed.write_bytes(Path(str(waves.__file__)).read_bytes() + b"\n# another table\n")
    monkeypatch.setattr(waves, "__file__", str(changed))
    assert provenance.rules_digest() != before
