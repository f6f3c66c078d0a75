"""Reconciliation's own hashing, computed inside the databases: the fingerprint of a CID case and
the field and row digests of a target row. It follows the stated constructions that the migration
records at extraction and load, but is written and registered apart from the migration's code, so
a mistake in either shows as a difference instead of hiding in code both share.

Fingerprint of a case: each of its rows (header, child rows, and its parties' persons and
addresses) hashed to a signed 64-bit integer, cut into non-negative slices of 28, 28 and 8 bits;
per table `count:sum:sum:sum`; the tables' totals joined by `/` (`0` for none) and md5'ed.
A row's 64-bit hash: PostgreSQL's hash_record_extended of the row under seed 0; on SQLite,
BLAKE2b (8 bytes, the seed as salt) of the row's columns as `length:text` (NULL as U+2400)
joined by `|`.

Digest of a target row: each column's text (NULL as U+2400) hashed to 32 bits (PostgreSQL: the
low 32 bits of hashtextextended under seed 0; SQLite: the first 8 hex digits of its md5), written
as 8 hex digits in column order; its row total is the sum of the field hashes weighted by the odd
numbers 1, 3, 5, ..., masked to 28 bits. A person's digest is recorded as a row of its own; every
other table's are packed per bucket of BUCKET_WIDTH consecutive range keys (bucket = range key
divided by the width): the bucket's row count, the sum of its row totals, and each row as
`range_key,row_key,field_hashes`, joined by `;`."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from legacy import schema as cid
from migration.target_schema import (
    ADDRESS,
    APPOINTMENT,
    CASE,
    CASE_NOTE,
    CASE_PARTY,
    DECISION,
    PERSON,
    RESETTLEMENT_REFERRAL,
    TASK,
    VULNERABILITY,
)

NULL_MARK = "\u2400"
HEX_DIGITS = 8  # of one field hash
LOW28 = (1 << 28) - 1
FINGERPRINT_SEED = 0
BUCKET_WIDTH = 256
PER_ROW_ENTITIES = frozenset({PERSON.name})  # recorded one digest row each; the others in buckets
CASE_TABLES = (cid.CASE_HDR, cid.CASE_PERSON, cid.APPOINTMENT, cid.CASE_NOTE, cid.DECISION, cid.CASE_FLAG,
               cid.UNHCR_REFERRAL)
# Each business table's numeric range key (its own legacy key, or its case's).
RANGE_KEYS: dict[str, tuple[sa.Table, str]] = {
    CASE.name: (CASE, "legacy_case_id"), TASK.name: (CASE, "legacy_case_id"),
    PERSON.name: (PERSON, "legacy_person_id"), ADDRESS.name: (ADDRESS, "legacy_address_id"),
    CASE_PARTY.name: (CASE_PARTY, "legacy_case_person_id"), APPOINTMENT.name: (APPOINTMENT, "legacy_appt_id"),
    CASE_NOTE.name: (CASE_NOTE, "legacy_note_id"), DECISION.name: (DECISION, "legacy_decision_id"),
    VULNERABILITY.name: (VULNERABILITY, "legacy_flag_id"),
    RESETTLEMENT_REFERRAL.name: (RESETTLEMENT_REFERRAL, "legacy_referral_id"),
}


def _blake64(text: str | None, seed: int) -> int | None:
    if text is None:
        return None
    salted = hashlib.blake2b(str(text).encode(), digest_size=8, salt=seed.to_bytes(16, "little"))
    return int.from_bytes(salted.digest(), "little", signed=True)


def _md5_hex(text: str | None) -> str | None:
    return None if text is None else hashlib.md5(str(text).encode()).hexdigest()


def _md5_32(text: str | None) -> int | None:
    return None if text is None else int(hashlib.md5(str(text).encode()).digest()[:4].hex(), 16)


def prepare(conn: Connection) -> None:
    """Give a SQLite connection reconciliation's hash functions (PostgreSQL has its own built in)."""
    _backend(conn).prepare(conn)


def _text_of(parts: Sequence[sa.ColumnElement[Any]], separator: str) -> sa.ColumnElement[str]:
    joined: sa.ColumnElement[str] = sa.cast(parts[0], sa.Text)
    for part in parts[1:]:
        joined = joined.concat(separator).concat(sa.cast(part, sa.Text))
    return joined


def _row_hash64(conn: Connection, table: sa.Table) -> sa.ColumnElement[Any]:
    return _backend(conn).row_hash64(conn, table)


def _slice_sums(hashed: sa.ColumnElement[Any]) -> list[sa.ColumnElement[Any]]:
    """SUM() of the hash's bits 0-27, 28-55 and 56-63, each non-negative, so no sum overflows."""
    low = hashed.op("&")(LOW28)
    middle = hashed.op(">>")(sa.literal_column("28")).op("&")(LOW28)
    high = hashed.op(">>")(sa.literal_column("56")).op("&")(0xFF)
    return [sa.func.sum(low), sa.func.sum(middle), sa.func.sum(high)]


def _table_totals(conn: Connection, case_id: sa.ColumnElement[Any], table: sa.Table,
                  source: sa.FromClause) -> sa.Subquery:
    # OFFSET 0 keeps the planner from hashing each row once per sum.
    rows = sa.select(case_id.label("case_id"), _row_hash64(conn, table).label("h")).select_from(source).offset(0)
    hashed = rows.subquery()
    total = _text_of([sa.func.count(), *_slice_sums(hashed.c.h)], ":")
    return sa.select(hashed.c.case_id, total.label("total")).group_by(hashed.c.case_id).subquery()


def legacy_fingerprints(conn: Connection, among: sa.FromClause) -> Iterator[tuple[int, str]]:
    """(CASE_ID, fingerprint) of the CID cases in `among` (a table of case_id), in key order, streamed."""
    prepare(conn)
    chosen = sa.select(among.c.case_id).cte("chosen")

    def of_chosen(source: sa.FromClause, case_id: sa.ColumnElement[Any]) -> sa.FromClause:
        return source.join(chosen, chosen.c.case_id == case_id)

    totals = [_table_totals(conn, t.c.CASE_ID, t, of_chosen(t, t.c.CASE_ID)) for t in CASE_TABLES]
    parties = of_chosen(cid.CASE_PERSON, cid.CASE_PERSON.c.CASE_ID)
    totals.append(_table_totals(conn, cid.CASE_PERSON.c.CASE_ID, cid.PERSON,
                                parties.join(cid.PERSON, cid.PERSON.c.PERSON_ID == cid.CASE_PERSON.c.PERSON_ID)))
    totals.append(_table_totals(conn, cid.CASE_PERSON.c.CASE_ID, cid.ADDRESS,
                                parties.join(cid.ADDRESS, cid.ADDRESS.c.PERSON_ID == cid.CASE_PERSON.c.PERSON_ID)))
    cases: sa.FromClause = of_chosen(cid.CASE_HDR, cid.CASE_HDR.c.CASE_ID)
    for part in totals:
        cases = cases.outerjoin(part, part.c.case_id == cid.CASE_HDR.c.CASE_ID)
    text = _text_of([sa.func.coalesce(part.c.total, "0") for part in totals], "/")
    md5 = _backend(conn).md5(text)
    query = sa.select(cid.CASE_HDR.c.CASE_ID, md5).select_from(cases).order_by(cid.CASE_HDR.c.CASE_ID)
    for case_id, fingerprint in conn.execute(query, execution_options={"yield_per": 20_000}):
        yield int(case_id), fingerprint


def _field_hash(conn: Connection, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return _backend(conn).field_hash(sa.func.coalesce(sa.cast(column, sa.Text), NULL_MARK))


def _hex(conn: Connection, value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return _backend(conn).hex(value)


class _PostgresHashes:
    """Reconciliation's hashes on PostgreSQL: its built-in functions."""

    @staticmethod
    def prepare(conn: Connection) -> None:
        """Nothing to register: PostgreSQL has the functions built in."""

    @staticmethod
    def row_hash64(conn: Connection, table: sa.Table) -> sa.ColumnElement[Any]:
        """hash_record_extended of the whole row under the fingerprint seed."""
        whole_row: sa.ColumnElement[object] = sa.literal_column(conn.dialect.identifier_preparer.format_table(table))
        return sa.func.hash_record_extended(whole_row, FINGERPRINT_SEED, type_=sa.BigInteger)

    @staticmethod
    def md5(text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """md5 of a text, as hex."""
        return sa.func.md5(text)

    @staticmethod
    def field_hash(text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """The low 32 bits of hashtextextended under seed 0."""
        return sa.func.hashtextextended(text, 0).op("&")(sa.literal(0xFFFFFFFF, sa.BigInteger))

    @staticmethod
    def hex(value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """A field hash as HEX_DIGITS hex digits."""
        return sa.func.lpad(sa.func.to_hex(value), HEX_DIGITS, "0")


class _SqliteHashes:
    """Reconciliation's hashes on SQLite: its own functions, registered on each connection."""

    @staticmethod
    def prepare(conn: Connection) -> None:
        """Register BLAKE2b-64, md5 and md5's first 32 bits on the connection."""
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.create_function("reconcile_hash64", 2, _blake64, deterministic=True)
        raw.create_function("reconcile_md5", 1, _md5_hex, deterministic=True)
        raw.create_function("reconcile_md5_32", 1, _md5_32, deterministic=True)

    @staticmethod
    def row_hash64(conn: Connection, table: sa.Table) -> sa.ColumnElement[Any]:
        """BLAKE2b-64 of the row's columns as `length:text` (NULL as U+2400) joined by `|`."""
        columns = []
        for column in table.columns:
            text = sa.cast(column, sa.Text)
            columns.append(sa.func.coalesce(sa.cast(sa.func.length(text), sa.Text).concat(":").concat(text),
                                            NULL_MARK))
        return sa.func.reconcile_hash64(_text_of(columns, "|"), FINGERPRINT_SEED, type_=sa.BigInteger)

    @staticmethod
    def md5(text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """md5 of a text, as hex."""
        return sa.func.reconcile_md5(text)

    @staticmethod
    def field_hash(text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """The first 8 hex digits of the text's md5, as an integer."""
        return sa.func.reconcile_md5_32(text, type_=sa.BigInteger)

    @staticmethod
    def hex(value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """A field hash as HEX_DIGITS hex digits."""
        return sa.func.printf(f"%0{HEX_DIGITS}x", value)


# One table per backend, looked up by the dialect's name (reconciliation keeps its own, apart from core/dialects).
_HASHES: dict[str, type[_PostgresHashes] | type[_SqliteHashes]] = {
    "postgresql": _PostgresHashes, "sqlite": _SqliteHashes}


def _backend(conn: Connection) -> type[_PostgresHashes] | type[_SqliteHashes]:
    return _HASHES[conn.dialect.name]


def range_key(table: sa.Table) -> sa.ColumnElement[Any]:
    """The column a business table's rows are ranged by (on the table itself or its case)."""
    key_table, key_column = RANGE_KEYS[table.name]
    return key_table.c[key_column]


def target_digests(conn: Connection, table: sa.Table, *where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    """SELECT range_key, row_key, field_hashes, row_h28 of a business table's rows (those
    matching `where`), as the database computes them now."""
    prepare(conn)
    key_table, _ = RANGE_KEYS[table.name]
    primary = next(iter(table.primary_key))
    hashes = [_field_hash(conn, column).label(f"f{n}") for n, column in enumerate(table.columns)]
    inner = sa.select(range_key(table).label("range_key"), primary.label("row_key"), *hashes)
    if key_table is not table:
        inner = inner.join_from(table, key_table, key_table.c.case_id == table.c.case_id)
    # OFFSET 0: each field is hashed once, though its hex digits and the row total both use it.
    rows = inner.where(*where).offset(0).subquery()
    values = [rows.c[f"f{n}"] for n in range(len(hashes))]
    fields = functools.reduce(lambda a, b: a.concat(b), [_hex(conn, v) for v in values])
    weighted = functools.reduce(lambda a, b: a + b,
                                [v * sa.literal(2 * n + 1, sa.BigInteger) for n, v in enumerate(values)])
    return sa.select(rows.c.range_key, rows.c.row_key, fields.label("field_hashes"),
                     weighted.op("&")(sa.literal(LOW28, sa.BigInteger)).label("row_h28"))
