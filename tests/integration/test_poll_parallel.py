"""`aggregator poll` runs the worker's engine: several sources at once, each host kept
within its share ([fetch] per_host, [[hosts]]), and one report per source in config
order."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.cli.main import main
from tests.support.httpserver import Route, serve

RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
    b"<item><title>Vote tonight</title><guid>{n}</guid>"
    b"<description>Councillors vote tonight on report {n}.</description></item>"
    b"</channel></rss>"
)


@pytest.mark.parametrize(
    ("hosts", "most"), [("", 2), ('[[hosts]]\nname = "127.0.0.1"\nper_host = 3\n', 3)]
)
def test_sources_are_polled_together_within_the_hosts_share(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], hosts: str, most: int
) -> None:
    routes = {
        f"/f{n}": Route(body=RSS.replace(b"{n}", str(n).encode()), delay=0.3) for n in range(6)
    }
    with serve(routes) as server:
        sources = "".join(
            f'\n[[sources]]\nname = "wire-{n}"\nkind = "feed"\nurl = "{server.url(f"/f{n}")}"\n'
            for n in range(6)
        )
        config = tmp_path / "aggregator.toml"
        config.write_text(
            f'[service]\ndatabase_url = "sqlite:///agg.sqlite"\n{hosts}'
            f'[[stories]]\nid = "s"\ntitle = "S"\n{sources}',
            encoding="utf-8",
        )
        assert main(["--config", str(config), "poll"]) == 0
        assert server.concurrency.most == most  # together, never past the share
        assert len(server.requests) == 6
    summary = capsys.readouterr().err
    assert all(f"wire-{n}" in summary for n in range(6))
