"""Create and upgrade the target schema with the Alembic migrations shipped in this package."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from alembic.config import Config

ALEMBIC_DIR = Path(__file__).with_name("alembic")


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the shipped migrations."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_target(engine: Engine) -> str:
    """Bring the target schema to the newest revision; return that revision. A target already
    there is recognised without loading Alembic (a tenth of a second on every command)."""
    newest = newest_shipped()
    if _recorded_revision(engine) == newest:
        return newest
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return head_revision()


def newest_shipped() -> str:
    """The newest revision shipped, by file name (revisions are numbered 0001, 0002, ...)."""
    return max(p.name.split("_", 1)[0] for p in (ALEMBIC_DIR / "versions").glob("[0-9]*_*.py"))


def _recorded_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def head_revision() -> str:
    """The newest revision shipped, as Alembic's graph of revisions has it."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the target database is at, or None for an empty one."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
