"""A store that can be read but not written (a full disk) is not healthy: /healthz
answers 503 "not writable" and a worker's heartbeat stops, until a write works again.
The full disk is SQLite's own: `PRAGMA max_page_count` at the pages the file has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from starlette.testclient import TestClient

from aggregator.config import LiveSettings
from aggregator.core.errors import StoreError
from aggregator.store import Store, open_store
from aggregator.web.routes import Live, create_app
from tests.support.builders import one_live_page, post, store_posts

BODY = "Councillors will vote on the inquiry's findings tonight, the leader said. " * 40


def cap_pages(store: Store, pages: int) -> None:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(store.engine, "connect", on_connect)
    store.engine.dispose()  # new connections take the cap


def test_a_full_disk_makes_the_node_unhealthy_until_writes_work(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'agg.sqlite'}")
    settings = one_live_page(store, tmp_path)
    spec = settings.sources[0]
    with store.engine.connect() as c:
        pages = int(c.execute(text("PRAGMA page_count")).scalar_one())
    cap_pages(store, pages)
    with TestClient(create_app(store, LiveSettings(settings, {}), Live())) as client:
        assert client.get("/healthz").status_code == 200
        with pytest.raises(StoreError, match="full"):
            store_posts(store, spec, [post(f"Post {i}", f"{BODY} {i}", i) for i in range(50)])
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["store"] == "not writable"
        assert "database or disk is full" in health.json()["error"]
        assert client.get("/stories/story.atom").status_code == 200  # reads go on

        cap_pages(store, 1_000_000)  # room again: the next write clears it
        store_posts(store, spec, [post("Vote tonight", BODY)])
        assert client.get("/healthz").status_code == 200
    store.engine.dispose()
