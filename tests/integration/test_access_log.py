"""The web role's access log: one combined-format line per request, nothing a client
sends can break a line, and event streams are logged when they end."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import Scope

from aggregator.config import load
from aggregator.web.access_log import AccessLog, combined_line, open_access_log
from aggregator.web.responses import Answer

WHEN = datetime(2026, 12, 6, 21, 4, 5, tzinfo=UTC)
COMBINED = re.compile(
    r'^(\S+) - - \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "([^"\\]*(?:\\.[^"\\]*)*)" '
    r'(\d{3}) (\d+|-) "([^"\\]*(?:\\.[^"\\]*)*)" "([^"\\]*(?:\\.[^"\\]*)*)"$'
)


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


async def stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[str]:
        for i in range(3):
            yield f"data: {i}\n\n"

    return StreamingResponse(chunks(), media_type="text/event-stream")


def logged_app() -> tuple[TestClient, list[str]]:
    lines: list[str] = []
    app = Starlette(routes=[Route("/hello", hello), Route("/events", stream)])
    return TestClient(AccessLog(app, lines.append, clock=lambda: WHEN)), lines


def test_one_combined_line_per_request() -> None:
    client, lines = logged_app()
    client.get(
        "/hello?x=1", headers={"User-Agent": "newsboat/2.36", "Referer": "https://r.example/"}
    )
    client.get("/missing")
    assert lines[0] == (
        'testclient - - [06/Dec/2026:21:04:05 +0000] "GET /hello?x=1 HTTP/1.1" 200 5 '
        '"https://r.example/" "newsboat/2.36"'
    )
    assert re.match(r'.*"GET /missing HTTP/1.1" 404 \d+ "-" "testclient"$', lines[1])
    assert all(COMBINED.match(line) for line in lines)


def test_a_request_answered_early_is_logged_as_the_apps_are() -> None:
    lines: list[str] = []
    logged = AccessLog(Starlette(), lines.append, clock=lambda: WHEN)

    def early(scope: Scope) -> Answer | None:
        return (304, [], b"") if scope["path"] == "/kept" else None

    answering = logged.answering(early)
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/kept",
        "raw_path": b"/kept",
        "query_string": b"",
        "http_version": "1.1",
        "client": ("127.0.0.1", 5000),
        "headers": [(b"user-agent", b"newsboat/2.36")],
    }
    assert answering(scope) == (304, [], b"")
    assert answering({**scope, "path": "/other"}) is None  # the app answers and logs it
    assert lines == [
        '127.0.0.1 - - [06/Dec/2026:21:04:05 +0000] "GET /kept HTTP/1.1" 304 - "-" "newsboat/2.36"'
    ]


def test_a_stream_is_logged_when_it_ends_with_its_bytes() -> None:
    client, lines = logged_app()
    with client.stream("GET", "/events") as response:
        assert lines == []  # nothing until the stream is over
        body = b"".join(response.iter_bytes())
    assert (
        lines[0].endswith(f'200 {len(body)} "-" "testclient"') or f" 200 {len(body)} " in lines[0]
    )


@pytest.mark.parametrize(
    ("agent", "shown"),
    [
        ('evil" 200 1 "-" "forged', 'evil\\" 200 1 \\"-\\" \\"forged'),
        ("back\\slash", "back\\\\slash"),
        ("tab\there", "tab\\x09here"),
        ("caf\u00e9", "caf\\xC3\\xA9"),
    ],
)
def test_nothing_a_client_sends_can_forge_or_break_a_line(agent: str, shown: str) -> None:
    line = combined_line("10.0.0.1", WHEN, "GET / HTTP/1.1", 200, 0, "", agent)
    assert line.endswith(f'"-" "{shown}"')
    assert COMBINED.match(line) and "\n" not in line
    assert " 200 - " in line  # no body: "-", as the format writes it


def test_off_by_default_and_relative_to_the_config(tmp_path: Path) -> None:
    path = tmp_path / "aggregator.toml"
    path.write_text('[[stories]]\nid = "s"\ntitle = "S"\n', encoding="utf-8")
    assert load(path, {}).service.access_log is None
    assert open_access_log(None) is None
    path.write_text(
        '[service]\naccess_log = "logs/access.log"\n[[stories]]\nid = "s"\ntitle = "S"\n'
    )
    target = load(path, {}).service.access_log
    assert target == tmp_path / "logs" / "access.log"
    write = open_access_log(target)
    assert write is not None
    write("one line")
    write("another")
    assert (tmp_path / "logs" / "access.log").read_text() == "one line\nanother\n"
