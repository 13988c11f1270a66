"""Engine creation and migrations: the store's connection to the outside world."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from aggregator.core.errors import StoreError
from aggregator.store import migrate as migrations
from aggregator.store.migrate import MIGRATIONS, VERSIONS, Plan, Process, Upgrade
from aggregator.store.renumbered import restamp
from aggregator.store.store import Store

__all__ = ["MIGRATIONS", "Upgrade", "create_store_engine", "open_store", "status", "upgrade"]
log = logging.getLogger("aggregator.store")
# Serialises concurrent `upgrade`s from several processes starting at once on PostgreSQL.
_MIGRATION_LOCK_ID = 0x616767


def open_store(database_url: str, *, migrate: bool = True) -> Store:
    """Connect, create the SQLite folder if needed, and apply the pending expand
    migrations: a process starting beside older ones never drops what they use."""
    engine = create_store_engine(database_url)
    if migrate:
        upgrade(engine)
    return Store(engine)


def create_store_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    try:
        if url.get_backend_name() == "sqlite":
            return _sqlite_engine(database_url)
        # The tag lets `migrate --contract` see which code the live processes run.
        tag = {} if "application_name" in url.query else {"application_name": _tag()}
        return create_engine(
            database_url, pool_pre_ping=True, pool_size=10, max_overflow=10, connect_args=tag
        )
    except (SQLAlchemyError, ImportError) as e:
        raise StoreError(f"cannot open database {url.render_as_string()}: {e}") from e


def upgrade(
    engine: Engine,
    *,
    contract: bool = False,
    confirmed: bool = False,
    versions: Sequence[Path] = (VERSIONS,),
) -> Upgrade:
    """Apply the pending expand migrations, stopping before the first contract one; with
    `contract`, apply them all once no live process runs code that predates them
    (`confirmed`: the operator stopped them, skip the check)."""
    config = migrations.alembic_config(versions)
    try:
        with engine.begin() as connection:
            _lock(connection)
            restamped = restamp(connection)
            plan = migrations.plan(connection, config)
            applying = plan.applying(contract=contract)
            if contract and not confirmed:
                migrations.check_contract(connection, plan, applying)
            if applying:
                config.attributes["connection"] = connection
                command.upgrade(config, applying[-1].revision)
    except (SQLAlchemyError, CommandError) as e:
        raise StoreError(f"cannot migrate {engine.url.render_as_string()}: {e}") from e
    outcome = Upgrade(plan, applying, restamped)
    _log(outcome)
    return outcome


def status(engine: Engine, versions: Sequence[Path] = (VERSIONS,)) -> tuple[Plan, list[Process]]:
    """Where the database stands on the chain, and the tagged processes using it."""
    config = migrations.alembic_config(versions)
    try:
        with engine.connect() as connection:
            return migrations.plan(connection, config), migrations.live_processes(connection)
    except (SQLAlchemyError, CommandError) as e:
        raise StoreError(f"cannot read {engine.url.render_as_string()}: {e}") from e


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_ID})"))


def _log(outcome: Upgrade) -> None:
    plan = outcome.plan
    if outcome.restamped:
        old, new = outcome.restamped
        log.warning(
            "re-stamped the version row: the chain was renumbered",
            extra={"recorded": old, "revision": new},
        )
    if not plan.known:
        log.warning(
            "database is ahead of this code; not migrating",
            extra={"revision": plan.current, "code_head": plan.head},
        )
    for migration in outcome.applied:
        log.info("migrated", extra={"revision": migration.revision, "phase": migration.phase})
    if outcome.held_back:
        log.warning(
            "contract migrations pending: `aggregator migrate --contract` once old code is gone",
            extra={"revisions": ",".join(m.revision for m in outcome.held_back)},
        )


def _tag() -> str:
    try:
        return migrations.process_tag(migrations.code_head())
    except (StoreError, CommandError):
        return migrations.process_tag("unknown")


WAL_CHECKPOINT_PAGES = 10_000


def _sqlite_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.database and url.database != ":memory:":
        folder = Path(url.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            reason = e.strerror or type(e).__name__
            raise StoreError(f"cannot create the SQLite folder {folder}: {reason}") from e
    engine = create_engine(database_url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets the web server read while the poller writes; the busy timeout makes
        # concurrent writers wait instead of failing.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Checkpoint every ~40 MB of WAL instead of ~4 MB: the band index's hot pages are
        # copied back once per checkpoint, not once per few polls (cold cycle -13 %).
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        cursor.close()

    return engine
