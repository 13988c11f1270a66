"""While the store cannot be reached, readers keep the last copy this process rendered,
and whatever has no copy is answered 503 with Retry-After, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from aggregator.config import LiveSettings, Settings
from aggregator.core.errors import StoreError
from aggregator.store import Store
from aggregator.web.routes import Live, create_app
from tests.support.builders import one_live_page, post, store_posts


class Unreachable:
    """The store, until `down` is set; then every read fails as a lost database does."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.down = False

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.store, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                raise StoreError("cannot read the store: connection refused")
            return attribute(*args, **kwargs)

        return call


@pytest.fixture
def settings(store: Store, tmp_path: Path) -> Settings:
    settings = one_live_page(store, tmp_path)
    store_posts(store, settings.sources[0], [post("Vote tonight", "Councillors vote tonight.")])
    return settings


@pytest.fixture
def flaky(store: Store) -> Unreachable:
    return Unreachable(store)


@pytest.fixture
def client(flaky: Unreachable, settings: Settings) -> Iterator[TestClient]:
    app = create_app(flaky, LiveSettings(settings, {}), Live(fresh_seconds=0))
    with TestClient(app) as test_client:
        yield test_client


def test_a_feed_read_before_stays_readable(flaky: Unreachable, client: TestClient) -> None:
    before = client.get("/stories/story.atom")
    assert before.status_code == 200
    flaky.down = True
    during = client.get("/stories/story.atom")
    assert during.status_code == 200 and during.content == before.content
    assert during.headers["warning"] == '110 aggregator "Response is Stale"'
    again = client.get("/stories/story.atom", headers={"If-None-Match": before.headers["etag"]})
    assert again.status_code == 304


def test_what_has_no_copy_is_503_with_retry_after(flaky: Unreachable, client: TestClient) -> None:
    flaky.down = True
    for path in ("/stories/story.json", "/stories/story", "/", "/stories/story/events"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.headers["retry-after"] == "30"
        assert "connection refused" not in response.text
    page = client.get("/stories/story", headers={"Accept": "text/html"})
    assert page.status_code == 503 and "<h1>Unavailable</h1>" in page.text
    assert client.get("/healthz").status_code == 503
