"""The story page in a real browser (headless Chromium, driven by Selenium).

The service runs as a user runs it (`run.py`, a watched live page on disk); a post added
to the file appears on the open page, in its place and marked, without a reload; an
edited post is replaced in place and marked; dark mode and the reader's own time zone
are honoured. Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them);
without them the tests skip, except under CI=true, where they fail.

`AGGREGATOR_SCREENSHOTS=DIR` also saves the page at desktop and phone widths into DIR
(README's screenshots are made this way).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support.processes import (
    free_port,
    kill_all,
    save_like_an_editor,
    start_service,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
POSTS = [
    ("Inquiry report published", "The independent inquiry published its final report today."),
    ("Council leader to respond", "The council leader will respond to the report at noon."),
    ("Victims' groups welcome findings", "Groups representing survivors said they were heard."),
]
NEW_TITLE = "Police commissioner resigns"
NEW_TEXT = "The police and crime commissioner resigned this afternoon after the report."
# Bare clock times an hour apart, all before the tests start in the story's zone: a clock
# later than now reads as yesterday's, so fixed times would make the order depend on
# the hour the suite runs.
_STARTED = datetime.now(ZoneInfo("America/New_York"))
CLOCKS = [f"{_STARTED - timedelta(hours=4 - i):%H:%M}" for i in range(4)]
CONFIG = """
[service]
database_url = "sqlite:///{db}"
port = {port}

[[stories]]
id = "inquiry"
title = "The inquiry"
timezone = "America/New_York"

[[sources]]
name = "town-live"
title = "Town Hall live page"
kind = "liveblog"
path = "live.txt"
interval = "1s"
"""


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is not installed (pip install -e '.[test]')"
    if CHROMIUM is None or DRIVER is None:
        return "chromium and chromedriver are needed (apt-get install chromium chromium-driver)"
    return None


def _need_browser() -> None:
    missing = _missing()
    if missing is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests must run in CI: {missing}")
    pytest.skip(missing)


def _page_text(posts: list[tuple[str, str]]) -> str:
    """A saved live page, newest post first, each with a clock time."""
    blocks = [f"{CLOCKS[i]} {title}\n\n{text}" for i, (title, text) in enumerate(posts)]
    return "Live updates\n\n" + "\n\n".join(reversed(blocks)) + "\n"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    _need_browser()
    live = tmp_path / "live.txt"
    live.write_text(_page_text(POSTS), encoding="utf-8")
    port = free_port()
    config = tmp_path / "aggregator.toml"
    config.write_text(CONFIG.format(db=tmp_path / "var" / "agg.sqlite", port=port))
    process = start_service(config, tmp_path / "service.log")
    base = f"http://127.0.0.1:{port}"
    try:

        def stored() -> bool:
            return "Victims" in httpx.get(f"{base}/stories/inquiry.atom", timeout=5).text

        wait_for(stored)
        yield base, live
    finally:
        kill_all([process])


@pytest.fixture
def browser() -> Iterator[Any]:
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1280,900")
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _titles(driver: Any) -> list[str]:
    script = "return Array.from(document.querySelectorAll('main article h2'), h => h.innerText)"
    return list(driver.execute_script(script))


def test_a_new_post_appears_in_place_without_a_reload(
    service: tuple[str, Path], browser: Any
) -> None:
    base, live = service
    browser.get(f"{base}/stories/inquiry")
    assert _titles(browser)[:3] == [t for t, _ in reversed(POSTS)]
    browser.execute_script("window.stillTheSamePage = true")

    save_like_an_editor(live, _page_text([*POSTS, (NEW_TITLE, NEW_TEXT)]))

    def shown() -> bool:
        return NEW_TITLE in _titles(browser)

    wait_for(shown)
    assert browser.execute_script("return window.stillTheSamePage") is True
    assert _titles(browser)[0] == NEW_TITLE  # the newest time goes on top
    marker = browser.execute_script(
        "return document.querySelector('main article').querySelector('.marker').innerText"
    )
    assert marker == "new"
    meta = browser.execute_script("return document.querySelector('main article .meta').innerText")
    # Written by the script in the story's zone, as the server writes the others.
    assert " EST" in meta or " EDT" in meta
    assert meta.endswith("Town Hall live page")
    status = browser.execute_script("return document.getElementById('live').innerText")
    assert status.startswith("1 update arrived since you opened this page")

    edited = [*POSTS[:2], (POSTS[2][0], POSTS[2][1] + " A second statement followed.")]
    save_like_an_editor(live, _page_text([*edited, (NEW_TITLE, NEW_TEXT)]))

    def edit_shown() -> bool:
        return "A second statement" in browser.execute_script(
            "return document.querySelector('main').innerText"
        )

    wait_for(edit_shown)
    assert browser.execute_script("return window.stillTheSamePage") is True
    titles = _titles(browser)
    assert titles.count(POSTS[2][0]) == 1 and titles.index(POSTS[2][0]) == 1
    _screenshots(browser, base)


def test_dark_mode_and_the_readers_time_zone(service: tuple[str, Path], browser: Any) -> None:
    base, _ = service
    dark = {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", dark)
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Tokyo"})
    browser.get(f"{base}/stories/inquiry")
    background = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(22, 24, 28)"
    text = browser.execute_script("return document.querySelector('main').innerText")
    # The story's zone on the server's text, the reader's own beside it.
    assert " EST" in text or " EDT" in text
    assert "your time)" in text and ("GMT+9" in text or "JST" in text)
    light = {"features": [{"name": "prefers-color-scheme", "value": "light"}]}
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", light)
    background = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(255, 255, 255)"


def _screenshots(browser: Any, base: str) -> None:
    folder = os.environ.get("AGGREGATOR_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for name, (width, height) in {"desktop": (1280, 900), "phone": (390, 844)}.items():
        browser.set_window_size(width, height)
        browser.save_screenshot(str(Path(folder) / f"page-{name}.png"))
