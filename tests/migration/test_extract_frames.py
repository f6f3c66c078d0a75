"""Extract into frames: each CID table of a batch is one frame of CID's column names and types,
holding the batch's cases only (PERSON and ADDRESS: the persons their parties name), with each
case's fingerprint; a value its frame cannot hold quarantines its case only."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from core.db import create_engine, int_table
from legacy.schema import ADDRESS, CASE_HDR, CASE_PERSON, UNHCR_REFERRAL
from migration.extract.batch import BATCH_TABLES, extract_batch, legacy_schema
from migration.extract.unreadable import read_readable
from reconciliation.hashing import legacy_fingerprints
from tests.conftest import Databases
from tests.helpers import generate


def test_each_table_of_a_batch_is_one_frame_of_its_cases(databases: Databases) -> None:
    url = databases.new("cid")
    generate(url, 60, seed=21)
    engine = create_engine(url)
    with engine.connect() as conn:
        every = sorted(conn.execute(sa.select(CASE_HDR.c.CASE_ID)).scalars())
        chosen = every[::3] + [max(every) + 1000]  # and one CASE_ID CID does not have
        batch = extract_batch(conn, chosen)
        parties = conn.execute(sa.select(CASE_PERSON.c.PERSON_ID).where(CASE_PERSON.c.CASE_ID.in_(chosen))).scalars()
        named = {p for p in parties if p is not None}
        fingerprints = dict(legacy_fingerprints(conn, int_table(conn, "chosen", {"case_id": every[::3]})))
    engine.dispose()
    assert batch.case_ids == every[::3]
    for table, key in BATCH_TABLES:
        frame = batch[table.name]
        assert frame.schema == legacy_schema(table.name), table.name
        assert frame[key].to_list() == sorted(frame[key].to_list()), table.name
        if "CASE_ID" in frame.columns:
            assert set(frame["CASE_ID"].to_list()) <= set(batch.case_ids), table.name
    assert set(batch["PERSON"]["PERSON_ID"].to_list()) <= named
    assert set(batch["ADDRESS"]["PERSON_ID"].to_list()) <= set(batch["PERSON"]["PERSON_ID"].to_list())
    assert batch["CASE_NOTE"].height > 0 and batch["ADDRESS"].height > 0
    assert batch.fingerprints == fingerprints


def test_text_in_an_integer_column_quarantines_its_case_only(tmp_path: Path) -> None:
    # Only SQLite keeps text in an INTEGER column: PostgreSQL refuses it on write.
    url = f"sqlite:///{tmp_path / 'cid.db'}"
    generate(url, 80, seed=22)
    engine = create_engine(url)
    with engine.begin() as conn:
        referral, case_id = conn.execute(sa.select(UNHCR_REFERRAL.c.REFERRAL_ID, UNHCR_REFERRAL.c.CASE_ID)
                                         .order_by(UNHCR_REFERRAL.c.REFERRAL_ID).limit(1)).one()
        conn.execute(sa.text('UPDATE "UNHCR_REFERRAL" SET "FAMILY_SIZE" = \'SECRET\' WHERE "REFERRAL_ID" = :r'),
                     {"r": referral})
    with engine.connect() as conn:
        every = sorted(conn.execute(sa.select(CASE_HDR.c.CASE_ID)).scalars())
        batch, unreadable = read_readable(conn, every, extract_batch)
    engine.dispose()
    (bad,) = unreadable
    assert (bad.case_id, bad.table, bad.column, bad.legacy_key) == (case_id, "UNHCR_REFERRAL", "FAMILY_SIZE", referral)
    assert "SECRET" not in bad.fault
    assert batch.case_ids == [c for c in every if c != case_id]


def test_fingerprints_totalled_from_the_rows_read_equal_reconciliation_s_totals_in_sql(databases: Databases) -> None:
    url = databases.new("cid")
    generate(url, 120, seed=23)
    engine = create_engine(url)
    with engine.begin() as conn:  # the shapes a batch's frames must total as SQL's joins do
        every = sorted(conn.execute(sa.select(CASE_HDR.c.CASE_ID)).scalars())
        party = conn.execute(sa.select(CASE_PERSON).filter_by(CASE_ID=every[0])).mappings().first()
        top = conn.execute(sa.select(sa.func.max(CASE_PERSON.c.CASE_PERSON_ID))).scalar()
        conn.execute(CASE_PERSON.insert(), [
            {**party, "CASE_PERSON_ID": top + 1},  # the same person named twice by one case
            {**party, "CASE_PERSON_ID": top + 2, "CASE_ID": every[1]},  # and by another case
            {**party, "CASE_PERSON_ID": top + 3, "CASE_ID": every[2], "PERSON_ID": None},  # a party naming nobody
            {**party, "CASE_PERSON_ID": top + 4, "CASE_ID": every[3], "PERSON_ID": 10**9},  # nobody CID holds
        ])
        address = conn.execute(sa.select(ADDRESS).limit(1)).mappings().one()
        top_address = conn.execute(sa.select(sa.func.max(ADDRESS.c.ADDRESS_ID))).scalar()
        conn.execute(ADDRESS.insert(), [{**address, "ADDRESS_ID": top_address + 1, "PERSON_ID": 10**9}])  # theirs
        for table in (CASE_PERSON, UNHCR_REFERRAL):  # a case with no parties and no referral
            conn.execute(sa.delete(table).filter_by(CASE_ID=every[4]))
    with engine.connect() as conn:
        in_sql = dict(legacy_fingerprints(conn, int_table(conn, "chosen", {"case_id": every})))  # reconciliation's SQL
        for size in (1, 7, 120):
            for start in range(0, len(every), size):
                chosen = every[start:start + size]
                batch = extract_batch(conn, chosen)
                assert batch.fingerprints == {c: in_sql[c] for c in chosen}
                assert 10**9 not in batch["ADDRESS"]["PERSON_ID"].to_list()  # only the persons read keep theirs
    engine.dispose()
