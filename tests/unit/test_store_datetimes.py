"""The store's timestamps on SQLite: the one-call binding writes exactly the text that
SQLAlchemy's two layers (UTCDateTime, then SQLite's DATETIME) write, so rows stored
before and after it compare, sort and match alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, create_engine, insert, select
from sqlalchemy.dialects import sqlite

from aggregator.store.schema import UTCDateTime

MOMENTS = [
    datetime(2026, 12, 7, 12, 30, tzinfo=UTC),
    datetime(2026, 12, 7, 12, 30, 5, 120, tzinfo=UTC),
    datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=ZoneInfo("Europe/London")),
    datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=ZoneInfo("America/New_York")),
    datetime(1970, 1, 1, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    datetime(999, 5, 4, 3, 2, 1, tzinfo=UTC),
]


@pytest.mark.parametrize("moment", MOMENTS)
def test_the_text_bound_is_the_two_layers_text(moment: datetime) -> None:
    dialect = sqlite.dialect()
    fused = UTCDateTime().bind_processor(dialect)
    assert fused is not None
    inner = DateTime().dialect_impl(dialect).bind_processor(dialect)  # SQLite's DATETIME
    assert inner is not None
    assert fused(moment) == inner(UTCDateTime().process_bind_param(moment, dialect))
    assert fused(None) is None


def test_a_naive_time_is_refused() -> None:
    fused = UTCDateTime().bind_processor(sqlite.dialect())
    assert fused is not None
    with pytest.raises(ValueError, match="naive"):
        fused(datetime(2026, 12, 7, 12, 30))


def test_a_time_stored_reads_back_the_same_instant() -> None:
    table = Table(
        "t", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime)
    )
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine)
    with engine.begin() as c:
        c.execute(insert(table), [{"at": m} for m in MOMENTS])
        read = c.execute(select(table.c.at).order_by(table.c.id)).scalars().all()
        earliest = c.execute(select(table.c.id).order_by(table.c.at).limit(1)).scalar()
    assert read == [m.astimezone(UTC) for m in MOMENTS] and all(r.tzinfo is UTC for r in read)
    assert earliest == 6
