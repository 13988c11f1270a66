"""/healthz stays the liveness check and lists failing sources without turning
unhealthy; /readyz says whether a node should get traffic: the store answers and holds
every migration this code needs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from starlette.testclient import TestClient

from aggregator.config import LiveSettings, Settings
from aggregator.store import Store
from aggregator.store.migrate import MIGRATIONS, load_chain
from aggregator.web.routes import Live, create_app
from tests.support.builders import T0, one_live_page


@pytest.fixture
def settings(store: Store, tmp_path: Path) -> Settings:
    return one_live_page(store, tmp_path)


@pytest.fixture
def client(store: Store, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(store, LiveSettings(settings, {}), Live())) as test_client:
        yield test_client


def test_a_failing_source_is_listed_and_the_node_stays_healthy(
    store: Store, settings: Settings, client: TestClient
) -> None:
    assert client.get("/healthz").json()["failing"] == []
    store.record_failure(settings.sources[0], "HTTP 500", T0, T0 + timedelta(minutes=1))
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["ok"] is True and health.json()["failing"] == ["live"]


def test_ready_on_a_current_store(store: Store, client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["ready"] is True and response.json()["revision"]


def test_not_ready_while_an_expand_migration_is_pending(store: Store, client: TestClient) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    newest_expand = [m.revision for m in load_chain(config) if m.phase == "expand"][-1]
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, f"{newest_expand}-1")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["ready"] is False
    assert "migrations pending" in response.json()["reason"]
    assert client.get("/healthz").status_code == 200  # alive all the same
