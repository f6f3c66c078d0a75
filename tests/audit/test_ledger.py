"""The ledger: append-only in the database, and every kind of tampering found by verification."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
import sqlalchemy as sa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from audit.entries import EntryError, canonical, make_body
from audit.ledger import iter_entries, read_checkpoint_file
from audit.merkle import leaf_hash
from audit.origin import read_origin
from audit.verify import verify_ledger
from core.db import create_engine
from migration.target_schema import CUTOVER_CHECKPOINT, CUTOVER_LEDGER

FORBIDDEN = ("surname", "forenames", "birth_date", "address", "note_text", "error")


def verify(target: str, key, checkpoints, expect: str | None = None):  # type: ignore[no-untyped-def]
    from audit.keys import fingerprint

    with create_engine(target).connect() as conn:
        notes = list(conn.execute(sa.select(CUTOVER_CHECKPOINT.c.note)).scalars())
        return verify_ledger(iter_entries(conn), notes + read_checkpoint_file(checkpoints), key.public_key(),
                             expect or fingerprint(key.public_key()), str(read_origin(conn)))


def test_a_clean_ledger_verifies_and_holds_every_kind_of_event(ledgered) -> None:  # type: ignore[no-untyped-def]
    target, key, checkpoints = ledgered
    result = verify(target, key, checkpoints)
    assert result.ok, result.failure
    kinds = set(result.kinds)
    assert {"plan", "run_started", "batch_committed", "run_finished", "repair", "report"} <= kinds
    assert result.checkpoints == 2  # two in the database, the same two in the file outside it: two checkpoints
    assert result.signed_at is not None  # the checkpoint's timestamped cosignature says when


def test_each_run_records_the_software_version_and_the_rule_tables(ledgered) -> None:  # type: ignore[no-untyped-def]
    from audit.provenance import rules_digest
    from cutover import __version__

    target, _, _ = ledgered
    with create_engine(target).connect() as conn:
        started = [json.loads(b) for b in conn.execute(sa.select(CUTOVER_LEDGER.c.body)
                                                       .where(CUTOVER_LEDGER.c.kind == "run_started")).scalars()]
    assert started and all(b["software"] == __version__ and b["rules"] == rules_digest() and b["as_of"]
                           for b in started)


@pytest.mark.parametrize("field", FORBIDDEN)
def test_bodies_have_no_room_for_personal_data(field: str) -> None:
    with pytest.raises(EntryError):
        make_body("repair", **{field: "x"})


def _superuser_edit(target: str, statements: list[str]) -> None:
    """Change the ledger behind the triggers' back, as a superuser would."""
    engine = create_engine(target)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE cutover_ledger DISABLE TRIGGER ALL")
        else:
            for event in ("update", "delete"):
                conn.exec_driver_sql(f"DROP TRIGGER cutover_ledger_no_{event}")
        for statement in statements:
            conn.exec_driver_sql(statement)


def test_the_ledger_refuses_update_delete_and_truncate(ledgered) -> None:  # type: ignore[no-untyped-def]
    target, _, _ = ledgered
    engine = create_engine(target)
    statements = ["UPDATE cutover_ledger SET kind = 'x' WHERE seq = 1", "DELETE FROM cutover_ledger WHERE seq = 1"]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE cutover_ledger")
    for statement in statements:
        with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
            conn.exec_driver_sql(statement)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(CUTOVER_LEDGER)).scalar() > 10


def _body(target: str, seq: int) -> dict:
    with create_engine(target).connect() as conn:
        return json.loads(conn.execute(sa.select(CUTOVER_LEDGER.c.body).where(CUTOVER_LEDGER.c.seq == seq)).scalar())


def _q(text: str) -> str:
    return text.replace("'", "''")


@pytest.mark.parametrize("tamper", ["body_changed", "body_and_hash_changed", "middle_deleted", "tail_truncated",
                                    "swapped", "reserialised"])
def test_tampering_is_found_and_the_entry_named(ledgered, tamper: str) -> None:  # type: ignore[no-untyped-def]
    target, key, checkpoints = ledgered
    seq = 7
    body = _body(target, seq)
    changed = {**body, "counts": {**body.get("counts", {}), "migrated": 999}}
    text = canonical(changed).decode()
    statements = {
        "body_changed": [f"UPDATE cutover_ledger SET body = '{_q(text)}' WHERE seq = {seq}"],
        "body_and_hash_changed": [f"UPDATE cutover_ledger SET body = '{_q(text)}', "
                                  f"leaf_hash = '{leaf_hash(text.encode()).hex()}' WHERE seq = {seq}"],
        "middle_deleted": [f"DELETE FROM cutover_ledger WHERE seq = {seq}"],
        "tail_truncated": ["DELETE FROM cutover_ledger WHERE seq > 20"],
        "swapped": [f"UPDATE cutover_ledger SET seq = -1 WHERE seq = {seq}",
                    f"UPDATE cutover_ledger SET seq = {seq} WHERE seq = {seq + 1}",
                    f"UPDATE cutover_ledger SET seq = {seq + 1} WHERE seq = -1"],
        "reserialised": [f"UPDATE cutover_ledger SET body = '{_q(json.dumps(body, indent=2))}' WHERE seq = {seq}"],
    }[tamper]
    _superuser_edit(target, statements)
    result = verify(target, key, checkpoints)
    assert not result.ok
    expected_entry = {"tail_truncated": 21, "body_and_hash_changed": seq + 1}.get(tamper, seq)
    assert result.entry == expected_entry, result.failure


def test_a_checkpoint_from_another_key_is_refused(ledgered, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from audit.keys import fingerprint, load_or_create_key

    target, key, checkpoints = ledgered
    other = load_or_create_key(tmp_path / "other.pem")
    result = verify(target, other, checkpoints, expect=fingerprint(other.public_key()))
    assert not result.ok and "not signed by the expected key" in (result.failure or "")
    pinned = verify(target, key, checkpoints, expect="0" * 64)
    assert not pinned.ok and "not the expected" in (pinned.failure or "")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(max_size=12)
    | st.sampled_from(["\u2028", "\x7f", "\x00\x1f", 'a"b\\c', "\ud800", "\U0001f600", "\ue000"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=6))
@example({"\ue000": 1, "\U0001f600": 2, "counts": {"b": 2**53, "a": -(2**53) + 1}})  # UTF-16 order, the edges
def test_canonical_bytes_are_rfc8785_s_whatever_the_body(body: dict[str, Any]) -> None:
    try:
        want: bytes | type[Exception] = rfc8785.dumps(body)
    except Exception as exc:  # the library refuses it (an inexact integer, a lone surrogate): so does the ledger
        want = type(exc)
    try:
        got: bytes | type[Exception] = canonical(body)
    except Exception as exc:
        got = type(exc)
    assert got == want
