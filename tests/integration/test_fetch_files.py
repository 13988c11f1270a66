"""fetch_files against real files in a temporary directory."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.core.errors import FetchError
from aggregator.core.types import Fetched, FetchState, SourceSpec
from aggregator.fetch.files import fetch_files
from aggregator.fetch.limits import FetchLimits

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
LIMITS = FetchLimits(max_bytes=1024)


def spec(path: Path | str) -> SourceSpec:
    return SourceSpec(
        name="desk",
        story="s",
        kind="article",
        url=None,
        path=str(path),
        interval=60,
        timezone="UTC",
    )


def fetch(path: Path | str, state: FetchState | None = None) -> Fetched:
    return fetch_files(spec(path), state or FetchState(), now=NOW, limits=LIMITS)


def shift_mtime(path: Path, seconds: int) -> None:
    info = path.stat()
    shifted = info.st_mtime_ns + seconds * 1_000_000_000
    os.utime(path, ns=(shifted, shifted))


def test_a_new_file_becomes_a_document(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_bytes(b"<p>hello</p>")
    fetched = fetch(page)
    [document] = fetched.documents
    assert document.location == str(page)
    assert document.body == b"<p>hello</p>"
    assert document.content_type == "text/html"
    assert document.fetched_at == NOW
    info = page.stat()
    assert document.modified_at == datetime.fromtimestamp(info.st_mtime_ns / 1e9, tz=UTC)
    stamp = fetched.state.files[str(page)]
    assert (stamp.mtime_ns, stamp.size) == (info.st_mtime_ns, info.st_size)


def test_an_edited_file_is_changed(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_bytes(b"one")
    first = fetch(page)
    page.write_bytes(b"two, longer")
    second = fetch(page, first.state)
    assert second.documents[0].body == b"two, longer"
    assert second.state.files[str(page)].sha256 != first.state.files[str(page)].sha256


def test_an_equal_stamp_is_trusted_without_reading(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_bytes(b"one")
    first = fetch(page)
    # Same size and same mtime: only a read could notice, and the stamp says no read.
    before = page.stat().st_mtime_ns
    page.write_bytes(b"two")
    os.utime(page, ns=(before, before))
    second = fetch(page, first.state)
    assert not second.changed
    assert second.state == first.state


def test_a_touched_file_with_the_same_content_is_unchanged_by_hash(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_bytes(b"# same")
    first = fetch(page)
    shift_mtime(page, 60)
    second = fetch(page, first.state)
    assert not second.changed
    new, old = second.state.files[str(page)], first.state.files[str(page)]
    assert new.sha256 == old.sha256
    assert new.mtime_ns == old.mtime_ns + 60 * 1_000_000_000


def test_a_glob_returns_only_the_changed_files_in_order(tmp_path: Path) -> None:
    for name in ("c.xml", "a.xml", "b.xml"):
        (tmp_path / name).write_bytes(name.encode())
    first = fetch(tmp_path / "*.xml")
    assert [Path(d.location).name for d in first.documents] == ["a.xml", "b.xml", "c.xml"]
    (tmp_path / "b.xml").write_bytes(b"b, edited")
    (tmp_path / "c.xml").unlink()
    second = fetch(tmp_path / "*.xml", first.state)
    assert [Path(d.location).name for d in second.documents] == ["b.xml"]
    assert sorted(Path(p).name for p in second.state.files) == ["a.xml", "b.xml"]


def broken_symlink(path: Path) -> None:
    path.symlink_to(path.parent / "missing")


def directory(path: Path) -> None:
    path.mkdir()


def no_permission(path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads a file whatever its mode")
    path.write_bytes(b"secret")
    path.chmod(0)


@pytest.mark.parametrize(
    ("make_unreadable", "problem"),
    [
        (broken_symlink, "no such file or directory"),
        (directory, "is a directory"),
        (no_permission, "permission denied"),
    ],
)
def test_one_unreadable_file_among_three_is_a_problem(
    tmp_path: Path, make_unreadable: Callable[[Path], None], problem: str
) -> None:
    (tmp_path / "a.html").write_bytes(b"a")
    make_unreadable(tmp_path / "b.html")
    (tmp_path / "c.html").write_bytes(b"c")
    fetched = fetch(tmp_path / "*.html")
    assert [Path(d.location).name for d in fetched.documents] == ["a.html", "c.html"]
    assert fetched.problems == (f"{tmp_path / 'b.html'}: {problem}",)
    assert str(tmp_path / "b.html") not in fetched.state.files


def test_every_matched_file_failing_is_a_fetch_error(tmp_path: Path) -> None:
    broken_symlink(tmp_path / "a.html")
    directory(tmp_path / "b.html")
    with pytest.raises(FetchError, match="no readable file matches") as caught:
        fetch(tmp_path / "*.html")
    assert caught.value.source == "desk"
    assert "a.html: no such file" in caught.value.reason
    assert "b.html: is a directory" in caught.value.reason


def test_no_match_is_a_fetch_error(tmp_path: Path) -> None:
    pattern = tmp_path / "*.rss"
    with pytest.raises(FetchError, match=re.escape(f"no file matches {pattern}")):
        fetch(pattern)


def test_an_oversized_file_alone_fails_naming_the_cap(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_bytes(b"x" * (LIMITS.max_bytes + 1))
    with pytest.raises(FetchError, match="1024-byte size cap"):
        fetch(tmp_path / "big.txt")


def test_an_oversized_file_among_others_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_bytes(b"x" * (LIMITS.max_bytes + 1))
    (tmp_path / "small.txt").write_bytes(b"x" * LIMITS.max_bytes)
    fetched = fetch(tmp_path / "*.txt")
    assert [Path(d.location).name for d in fetched.documents] == ["small.txt"]
    assert "1024-byte size cap" in fetched.problems[0]


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("a.htm", "text/html"),
        ("a.HTML", "text/html"),
        ("a.md", "text/markdown"),
        ("a.txt", "text/plain"),
        ("a.rss", "application/xml"),
        ("a.atom", "application/xml"),
        ("a.json", None),
    ],
)
def test_content_type_is_guessed_from_the_extension(
    tmp_path: Path, name: str, content_type: str | None
) -> None:
    (tmp_path / name).write_bytes(b"x")
    assert fetch(tmp_path / name).documents[0].content_type == content_type


def test_a_link_out_of_the_folder_is_refused_and_one_inside_is_read(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("db_password=hunter2\n")
    (pages / "a.txt").write_text("A page\n")
    (pages / "b.txt").symlink_to(secret)
    (pages / "c.txt").symlink_to(pages / "a.txt")
    fetched = fetch(pages / "*.txt")
    assert sorted(Path(d.location).name for d in fetched.documents) == ["a.txt", "c.txt"]
    assert not any(b"hunter2" in d.body for d in fetched.documents)
    [problem] = fetched.problems
    assert "b.txt: a link leading out of" in problem and "refused" in problem
    with pytest.raises(FetchError, match="a link leading out of"):
        fetch(pages / "b.txt")
