"""Stores stopped inside the renumbering of the chain (store/renumbered.py), on SQLite
and PostgreSQL: at 0004-0006 the version row old code wrote names another migration
than the schema is at; `status` reads the schema, a start or `migrate` re-stamps it."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect, text

from aggregator.core.errors import StoreError
from aggregator.store.database import create_store_engine, status, upgrade
from aggregator.store.migrate import code_head
from aggregator.store.renumbered import restamp
from tests.support.migrations import CHAIN, to

# The schema a store is at, and the id that code before the renumbering recorded for it.
STOPPED = [("0004", "0005"), ("0005", "0006"), ("0006", "0004")]


def recorded(engine: Engine) -> str | None:
    with engine.connect() as c:
        found: str | None = c.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return found


def stamp(engine: Engine, revision: str) -> None:
    with engine.begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


@pytest.mark.parametrize(("schema_at", "old_id"), STOPPED)
def test_a_store_stopped_at_an_old_id_is_restamped_then_migrated(
    database_url: str, schema_at: str, old_id: str
) -> None:
    engine = create_store_engine(database_url)
    try:
        to(engine, schema_at)
        stamp(engine, old_id)
        assert status(engine)[0].current == schema_at
        assert recorded(engine) == old_id  # status changes nothing
        outcome = upgrade(engine, contract=True, confirmed=True)
        assert outcome.restamped == (old_id, schema_at)
        assert outcome.report()[0] == (
            f"re-stamped: version row {old_id} -> {schema_at} (the chain was renumbered)"
        )
        after = [m.revision for m in CHAIN[int(schema_at) :]]
        assert [m.revision for m in outcome.applied] == after
        assert recorded(engine) == code_head()
        with engine.connect() as c:
            found = inspect(c)
            assert found.has_table("websub_subscriptions")
            assert found.has_table("band_changes") and not found.has_table("entry_bands")
    finally:
        engine.dispose()


def test_a_store_numbered_after_the_renumbering_is_left_alone(database_url: str) -> None:
    engine = create_store_engine(database_url)
    try:
        for revision in ("0003", "0004", "0005", "0006", "0007"):
            to(engine, revision)
            with engine.begin() as c:
                assert restamp(c) is None
            assert recorded(engine) == revision
    finally:
        engine.dispose()


def test_a_schema_that_matches_no_migration_is_refused(database_url: str) -> None:
    engine = create_store_engine(database_url)
    try:
        to(engine, "0006")
        with engine.begin() as c:
            c.execute(text("DROP TABLE websub_subscriptions"))
        with pytest.raises(StoreError, match=r"schema matches no migration .*restore a backup"):
            upgrade(engine)
        assert recorded(engine) == "0006"
    finally:
        engine.dispose()
