"""Read the rules files, check them, and keep the rules in force for this process.

The shipped rules are the TOML files of migration/rules/tables/. A replacement given as a folder
replaces the files of the same names it holds; given as one file, it replaces the shipped file
of its name. `CUTOVER_RULES` names the replacement for every process of a run."""

from __future__ import annotations

import hashlib
import os
import threading
import tomllib
from pathlib import Path
from typing import Any

import rfc8785
from pydantic import BaseModel, TypeAdapter, ValidationError

from migration.rules.files import FILES, PolicyEntry
from migration.rules.policies import Policy
from migration.rules.rulebook import Rules, build_rules

SHIPPED = Path(__file__).parent / "tables"
RULES_FILES = (*FILES, "policies")
ENVIRONMENT_VARIABLE = "CUTOVER_RULES"
_POLICIES = TypeAdapter(dict[str, PolicyEntry])


class RulesError(ValueError):
    """A rules file that cannot be read or breaks a rule of its shape; the message names the
    file and the line (unreadable TOML) or the table and key (a value that does not fit)."""


def rules_paths(replacement: str | Path | None = None) -> dict[str, Path]:
    """The file each rules table is read from: the shipped one unless the replacement has it."""
    paths = {name: SHIPPED / f"{name}.toml" for name in RULES_FILES}
    if replacement is None or str(replacement) == "":
        return paths
    given = Path(replacement)
    if given.is_dir():
        paths.update({name: given / f"{name}.toml" for name in RULES_FILES if (given / f"{name}.toml").is_file()})
    elif given.is_file() and given.suffix == ".toml" and given.stem in RULES_FILES:
        paths[given.stem] = given
    elif given.is_file():
        raise RulesError(f"rules file {given}: its name must be one of {', '.join(f'{n}.toml' for n in RULES_FILES)}")
    else:
        raise RulesError(f"rules {given}: no such file or folder")
    return paths


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:  # its message ends "(at line L, column C)"
        raise RulesError(f"rules file {path}: {exc}") from None
    except OSError as exc:
        raise RulesError(f"rules file {path}: cannot be read ({exc.strerror})") from None


def _where(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f" #{part + 1}")  # the n-th [[table]] of an array, counted from 1
        else:
            parts.append(f".{part}" if parts else str(part))
    return "".join(parts)


def _checked(path: Path, error: ValidationError) -> RulesError:
    first = error.errors(include_url=False)[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith(("function-", "json-"))))
    message = first["msg"].removeprefix("Value error, ")
    where = _where(loc)
    return RulesError(f"rules file {path}: {where}: {message}" if where else f"rules file {path}: {message}")


def load_rules(replacement: str | Path | None = None) -> Rules:
    """The rules of the shipped files and of a replacement folder or file, checked."""
    paths = rules_paths(replacement)
    data = {name: _read(path) for name, path in paths.items()}
    parsed: dict[str, BaseModel] = {}
    for name, model in FILES.items():
        try:
            parsed[name] = model.model_validate(data[name])
        except ValidationError as exc:
            raise _checked(paths[name], exc) from None
    try:
        entries = _POLICIES.validate_python(data["policies"])
    except ValidationError as exc:
        raise _checked(paths["policies"], exc) from None
    if paths["policies"] != SHIPPED / "policies.toml":
        missing = sorted(set(_read(SHIPPED / "policies.toml")) - set(entries))
        if missing:
            raise RulesError(f"rules file {paths['policies']}: {missing[0]}: the migration raises this rule, "
                             "so it needs a policy")
    policies = {name: Policy(e.defect, e.action, e.fix, e.label) for name, e in entries.items()}
    digest = hashlib.sha256(rfc8785.dumps(data)).hexdigest()
    return build_rules(digest, policies=policies, **parsed)  # type: ignore[arg-type]


_lock = threading.Lock()
_in_force: Rules | None = None


def current_rules() -> Rules:
    """The rules in force: those `use_rules` set, else the shipped ones with `CUTOVER_RULES`'s replacement."""
    global _in_force
    with _lock:
        if _in_force is None:
            _in_force = load_rules(os.environ.get(ENVIRONMENT_VARIABLE) or None)
        return _in_force


def use_rules(replacement: str | Path | None) -> Rules:
    """Put the shipped rules with a replacement in force for this process and the workers it starts."""
    global _in_force
    rules = load_rules(replacement)
    with _lock:
        _in_force = rules
        # Worker processes (local Dask workers, Prefect's process runner) start from this
        # environment and read their rules from it.
        if replacement:
            os.environ[ENVIRONMENT_VARIABLE] = str(Path(replacement).resolve())
        else:
            os.environ.pop(ENVIRONMENT_VARIABLE, None)
    return rules


def rules_digest(rules: Rules | None = None) -> str:
    """SHA-256 (hex) of the canonical JSON (RFC 8785) of the rules in force, file by file: the same
    rules give the same digest whatever their layout, comments or key order in the files."""
    return (rules or current_rules()).digest
