"""The field check reads the target as one sorted stream cut into chunks: what it finds does not
depend on the chunk size, and a change in the last chunk is found."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import reconciliation.fields as fields
from core.db import create_engine
from migration.target_schema import APPOINTMENT


def _check(legacy: str, target: str) -> list[tuple[str, str, int | None, str | None]]:
    with create_engine(legacy).connect() as l_conn, create_engine(target).connect() as t_conn:
        return [(d.kind, d.entity, d.legacy_key, d.field) for d in fields.check_fields(l_conn, t_conn)]


def test_a_changed_field_is_found_whatever_the_chunk(migrated_copy, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    legacy, target = migrated_copy(300, seed=61, batch_size=100)
    assert _check(legacy, target) == []
    with create_engine(target).begin() as conn:
        last = conn.execute(sa.select(sa.func.max(APPOINTMENT.c.legacy_appt_id))).scalar_one()
        kind = conn.execute(sa.select(APPOINTMENT.c.kind).where(APPOINTMENT.c.legacy_appt_id == last)).scalar_one()
        other = "reporting" if kind != "reporting" else "screening"
        conn.execute(sa.update(APPOINTMENT).where(APPOINTMENT.c.legacy_appt_id == last).values(kind=other))
        rows = conn.execute(sa.select(sa.func.count()).select_from(APPOINTMENT)).scalar_one()
    whole = _check(legacy, target)
    assert whole == [("field_mismatch", "appointment", last, "kind")]
    monkeypatch.setattr(fields, "CHUNK", 7)
    assert rows > 7 * 3  # several chunks
    assert _check(legacy, target) == whole
