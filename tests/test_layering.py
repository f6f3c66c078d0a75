"""The core packages stand without the command line: none of them imports the `cutover` package."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ("core", "migration", "reconciliation", "audit", "flows", "legacy")


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _is_cli(name: str) -> bool:
    return name == "cutover" or name.startswith("cutover.")


def test_no_core_module_imports_the_command_line() -> None:
    modules = [path for package in CORE for path in sorted((ROOT / package).rglob("*.py"))]
    assert len(modules) > 50
    offending = {f"{path.relative_to(ROOT)}: {name}" for path in modules for name in _imported(path) if _is_cli(name)}
    assert not offending


def test_the_scan_sees_an_import_of_the_command_line(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import cutover.cli\nfrom cutover import __version__\nfrom cutover_flows import x\n")
    assert {name for name in _imported(sample) if _is_cli(name)} == {"cutover.cli", "cutover"}
