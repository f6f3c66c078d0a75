"""Reconciliation recomputes on its own: it imports none of the migration's fingerprinting,
digests, parsing or transform code, its hashing agrees with what the migration records, and a
fault in the migration's hashing shows instead of hiding."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import sqlalchemy as sa

import migration.extract.fingerprint as migration_fingerprint
from core.db import create_engine, int_table
from legacy.schema import CASE_HDR
from legacy.schema import CASE_NOTE as L_CASE_NOTE
from migration.extract import extract_batch
from migration.load.digests import DIGEST_BUCKET_WIDTH
from migration.run import RunConfig
from migration.target_schema import BUSINESS_TABLES
from migration.target_schema import CUTOVER_DIGEST_BUCKET as BUCKETS
from reconciliation import reconcile
from reconciliation.hashing import BUCKET_WIDTH, PER_ROW_ENTITIES, legacy_fingerprints, target_digests
from tests.helpers import AS_OF, generate, recorded_digests, run_all

RECONCILIATION = Path(__file__).resolve().parents[2] / "reconciliation"
# What reconciliation may take from the migration: table definitions and rule tables.
ALLOWED = ("migration.target_schema", "migration.rules")
FORBIDDEN = ("migration.sqlhash",)  # the hashing helpers the migration's fingerprints and digests use


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _allowed(name: str) -> bool:
    if name == "migration" or name.startswith("migration."):
        return any(name == a or name.startswith(a + ".") for a in ALLOWED)
    return not any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def test_reconciliation_imports_none_of_the_migrations_code() -> None:
    modules = sorted(RECONCILIATION.rglob("*.py"))
    assert len(modules) > 10
    offending = {f"{path.name}: {name}" for path in modules for name in _imports(path) if not _allowed(name)}
    assert not offending
    assert not _allowed("migration.extract.fingerprint") and not _allowed("migration.load.digests")
    assert not _allowed("migration.parsers") and not _allowed("migration.transform.case_rows")
    assert not _allowed("migration") and not _allowed("migration.sqlhash") and _allowed("migration.rules.waves")


def test_its_hashing_agrees_with_what_the_migration_records(databases) -> None:  # type: ignore[no-untyped-def]
    legacy, target = databases.new("legacy"), databases.new("target")
    generate(legacy, 150, seed=5)
    run_all(RunConfig(legacy, target, AS_OF, batch_size=100))
    with create_engine(legacy).connect() as conn:
        ids = list(conn.execute(sa.select(CASE_HDR.c.CASE_ID).order_by(CASE_HDR.c.CASE_ID)).scalars())
        theirs = extract_batch(conn, ids).fingerprints  # the migration's, totalled from the rows read
        ours = dict(legacy_fingerprints(conn, int_table(conn, "chosen", {"case_id": ids})))
        noted = conn.execute(sa.select(L_CASE_NOTE.c.CASE_ID).limit(1)).scalar()
    assert len(ours) == len(ids) and ours == theirs
    with create_engine(legacy).begin() as conn:  # a silent update: LAST_UPD_TS stays
        conn.execute(sa.update(L_CASE_NOTE).where(L_CASE_NOTE.c.CASE_ID.in_([noted])).values(NOTE_TEXT="edited"))
    with create_engine(legacy).connect() as conn:
        now = dict(legacy_fingerprints(conn, int_table(conn, "chosen", {"case_id": ids})))
    assert {c for c in ids if now[c] != ours[c]} == {noted}
    with create_engine(target).connect() as conn:
        for table in BUSINESS_TABLES:
            live = {(str(r.row_key), r.range_key, r.field_hashes) for r in conn.execute(target_digests(conn, table))}
            assert live == recorded_digests(conn, table.name), table.name
        count, total = sa.func.sum(BUCKETS.c.row_count), sa.func.sum(BUCKETS.c.total)
        recorded_buckets = {tuple(r) for r in conn.execute(
            sa.select(BUCKETS.c.entity, BUCKETS.c.bucket, count, total)
            .group_by(BUCKETS.c.entity, BUCKETS.c.bucket).having(count > 0))}
        for table in (t for t in BUSINESS_TABLES if t.name not in PER_ROW_ENTITIES):
            live_rows = target_digests(conn, table).subquery()
            bucket = live_rows.c.range_key // BUCKET_WIDTH
            live_buckets = {(table.name, *r) for r in conn.execute(sa.select(
                bucket, sa.func.count(), sa.func.sum(live_rows.c.row_h28)).group_by(bucket))}
            assert live_buckets == {r for r in recorded_buckets if r[0] == table.name}, table.name
    assert BUCKET_WIDTH == DIGEST_BUCKET_WIDTH  # the stated construction, written twice


@pytest.mark.e2e
def test_a_fingerprint_fault_in_the_migration_shows_in_reconciliation(databases, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Were reconciliation to reuse the migration's fingerprint, a fingerprint blind to notes would
    be blind on both sides and every note edit would pass as unchanged; computed apart, every
    fingerprint the faulty code recorded differs from reconciliation's."""
    legacy, target = databases.new("legacy"), databases.new("target")
    generate(legacy, 150, seed=8)
    blind = tuple(t for t in migration_fingerprint.CASE_KEYED if t is not L_CASE_NOTE)
    monkeypatch.setattr(migration_fingerprint, "CASE_KEYED", blind)
    run_all(RunConfig(legacy, target, AS_OF, batch_size=100))
    result = reconcile(create_engine(legacy), create_engine(target), AS_OF)
    changed = [d.legacy_case_id for d in result.discrepancies if d.kind == "changed_since_migration"]
    assert not result.balanced and len(set(changed)) == len(changed) == result.totals["migrated"] > 50
