"""Fixtures every tier shares: a store on SQLite and on PostgreSQL. A test that needs the
PostgreSQL server (its fixtures, or the postgresql case of `database_url`) is marked
`postgres`; where there is no server it skips, except under CI=true, where it fails."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import make_url

from aggregator.store import Store, open_store

PG_URL = os.environ.get(
    "AGGREGATOR_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL server URL. Skips where there is none, but fails under CI=true."""
    try:
        with psycopg.connect(_libpq(PG_URL), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as e:
        reason = f"PostgreSQL not reachable at {PG_URL}: {str(e).strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI requires PostgreSQL for the storage tests. {reason}")
        pytest.skip(reason)
    return PG_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the PostgreSQL server, dropped after the test."""
    name = f"aggregator_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(postgres_server), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(_libpq(postgres_server), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'var' / 'test.sqlite'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = open_store(database_url)
    yield opened
    opened.engine.dispose()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # By fixture, not by hand: a test that starts using PostgreSQL is marked with it.
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        callspec = getattr(item, "callspec", None)
        case = callspec.params.get("database_url") if callspec is not None else None
        if "postgres_server" in item.fixturenames or case == "postgresql":
            item.add_marker(pytest.mark.postgres)
