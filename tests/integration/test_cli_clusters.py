"""`aggregator explain` and `aggregator split` as a user types them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.processes import aggregator
from tests.support.samples import FLOOD_POSTS

pytestmark = pytest.mark.slow

CONFIG = """
[service]
database_url = "sqlite:///{db}"
[[stories]]
id = "idris"
[[sources]]
name = "echo"
kind = "article"
path = "echo.txt"
[[sources]]
name = "wire"
kind = "article"
path = "wire.txt"
"""


def test_explain_then_split_a_merged_entry(tmp_path: Path) -> None:
    title, text = FLOOD_POSTS["evac"]
    (tmp_path / "echo.txt").write_text(f"{title}\n\n{text}\n", encoding="utf-8")
    copy = f"Flood chaos: 400 forced from homes\n\nBy Tom Reed, PA\n\n{text}\n"
    (tmp_path / "wire.txt").write_text(copy, encoding="utf-8")
    config = tmp_path / "aggregator.toml"
    config.write_text(CONFIG.format(db=tmp_path / "agg.sqlite"), encoding="utf-8")
    assert aggregator("--config", str(config), "poll", "--once").returncode == 0
    atom = aggregator("--config", str(config), "export", "idris").stdout
    [entry_id] = re.findall(r"<entry>\s*<id>(urn:uuid:[^<]+)</id>", atom)

    explained = aggregator("--config", str(config), "explain", entry_id)
    assert explained.returncode == 0, explained.stderr
    # The two files are read together, so either may be stored first.
    first = re.search(r"(echo|wire) \[first copy\]", explained.stdout)
    assert first is not None, explained.stdout
    other = "wire" if first[1] == "echo" else "echo"
    assert re.search(rf"{other} \[near 0\.\d\d\] '", explained.stdout), explained.stdout

    split = aggregator("--config", str(config), "split", entry_id, other)
    assert split.returncode == 0 and "kept apart" in split.stdout, split.stderr
    after = aggregator("--config", str(config), "explain", entry_id).stdout
    assert f"{other} [" not in after and "1 cop" in after
    missing = aggregator("--config", str(config), "explain", "urn:uuid:nope")
    assert missing.returncode == 2


def test_explain_never_sends_publisher_control_codes_to_the_terminal(tmp_path: Path) -> None:
    # \x9b is the one-byte CSI some terminals act on; normalize keeps it (it is not C0).
    (tmp_path / "echo.txt").write_text("Red \x9b31m alert\n\nA line of text.\n", encoding="utf-8")
    (tmp_path / "wire.txt").write_text("Other\n\nOther text.\n", encoding="utf-8")
    config = tmp_path / "aggregator.toml"
    config.write_text(CONFIG.format(db=tmp_path / "agg.sqlite"), encoding="utf-8")
    assert aggregator("--config", str(config), "poll", "--once").returncode == 0
    atom = aggregator("--config", str(config), "export", "idris").stdout
    ids = re.findall(r"<entry>\s*<id>(urn:uuid:[^<]+)</id>", atom)
    shown = "".join(aggregator("--config", str(config), "explain", i).stdout for i in ids)
    assert "\x9b" not in shown and "\\x9b31m alert" in shown
