"""Engine creation and migrations: the store's connection to the outside world."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from aggregator.errors import StoreError
from aggregator.store.repository import Store

MIGRATIONS = Path(__file__).parent / "migrations"
# Serialises concurrent `upgrade`s from several processes starting at once on PostgreSQL.
_MIGRATION_LOCK_ID = 0x616767


def open_store(database_url: str, *, migrate: bool = True) -> Store:
    """Connect, create the SQLite folder if needed, and bring the schema up to date."""
    engine = create_store_engine(database_url)
    if migrate:
        upgrade(engine)
    return Store(engine)


def create_store_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    try:
        if url.get_backend_name() == "sqlite":
            return _sqlite_engine(database_url)
        return create_engine(database_url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    except (SQLAlchemyError, ImportError) as e:
        raise StoreError(f"cannot open database {url.render_as_string()}: {e}") from e


def upgrade(engine: Engine) -> None:
    """Apply every Alembic migration not yet applied (`alembic upgrade head`)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_ID})"))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as e:
        raise StoreError(f"cannot migrate {engine.url.render_as_string()}: {e}") from e


def _sqlite_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
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
        cursor.close()

    return engine
