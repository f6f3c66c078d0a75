"""Privilege separation for the ledger on PostgreSQL: the role that migrates must not own it.

A table's owner can switch its triggers off (ALTER TABLE ... DISABLE TRIGGER), so the append-only
triggers hold only against roles that neither own the ledger nor act as its owner."""

from __future__ import annotations

import re

from sqlalchemy.engine import Connection

from core.dialects import dialect_of

GUARDED = ("cutover_ledger", "cutover_checkpoint", "cutover_log")
ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def ledger_guard_warning(conn: Connection) -> str | None:
    """A one-line warning when the connected role could switch the ledger's triggers off; None when
    it cannot (or on SQLite, which has no roles: there, only checkpoints kept outside show a change)."""
    if not dialect_of(conn).HAS_ROLES:
        return None
    row = conn.exec_driver_sql(
        "SELECT t.tableowner, current_user, r.rolsuper, pg_has_role(current_user, t.tableowner, 'USAGE') "
        "FROM pg_tables t JOIN pg_roles r ON r.rolname = current_user "
        "WHERE t.tablename = 'cutover_ledger' AND t.schemaname = current_schema()").first()
    if row is None:
        return None
    owner, user, superuser, acts_as_owner = row
    if superuser:
        return (f"warning: role {user} is a superuser and can switch the ledger's triggers off; run migrations as a "
                "role that does not own cutover_ledger (docs/audit.md, privilege separation)")
    if acts_as_owner:
        return (f"warning: role {user} owns cutover_ledger (owner {owner}) and can switch its triggers off; give "
                "the ledger to another role (docs/audit.md, privilege separation)")
    return None


def hand_over_ledger(conn: Connection, owner: str, migrator: str) -> None:
    """As an administrator: make `owner` own the ledger tables and let `migrator` only read and append."""
    for role in (owner, migrator):
        if not ROLE.fullmatch(role):
            raise ValueError("role names are lower-case letters, digits and underscores")
    for table in GUARDED:
        conn.exec_driver_sql(f"ALTER TABLE {table} OWNER TO {owner}")
        conn.exec_driver_sql(f"GRANT SELECT, INSERT ON {table} TO {migrator}")
    conn.exec_driver_sql(f"GRANT USAGE ON SEQUENCE cutover_checkpoint_checkpoint_id_seq TO {migrator}")
