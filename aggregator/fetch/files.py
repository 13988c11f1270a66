"""EDGE: read the local files a source's absolute path or glob names, only those changed.

    glob       the matching paths, sorted; a link leading out of the pattern's folder is
               refused (a folder of saved pages must not publish /etc/passwd)
    | stat     (mtime_ns, size) equal to the stored stamp -> unchanged, not even read
    | settle   a file changed moments ago is stat'ed again after a quiet spell; one still
               growing or shrinking is left for the next poll (an editor or a sync tool
               writing in place would otherwise be read half-written)
    | read     capped at max_bytes; a file that fails is a problem, not the source's failure
    | compare  sha256 equal to the stored one -> unchanged, only the stamp moves on

The fetch fails with a FetchError only when nothing matches or every match failed.
"""

from __future__ import annotations

import glob
import hashlib
import itertools
import logging
import os
import stat
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePath

from aggregator.core.errors import FetchError
from aggregator.core.types import Document, Fetched, FetchState, FileStamp, SourceSpec
from aggregator.fetch.limits import FetchLimits

log = logging.getLogger("aggregator.fetch.files")
CONTENT_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".md": "text/markdown",
    ".txt": "text/plain",
    ".xml": "application/xml",
    ".rss": "application/xml",
    ".atom": "application/xml",
}
# Opened without following a last-component link (the path is already resolved, so a
# link swapped in after the check is refused) and without blocking on a FIFO.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


@dataclass(frozen=True)
class Settling:
    """A changed file is read once its size and mtime stay the same for `quiet` seconds,
    waiting `patience` seconds at most per fetch. A file last written longer than
    `recent` seconds ago is taken as still (`recent` covers file systems whose mtime
    ticks in whole seconds)."""

    quiet: float = 0.1
    patience: float = 2.0
    recent: float = 3.0


SETTLING = Settling()
_Stamp = tuple[int, int]  # (mtime_ns, size)


class _InFlux(Exception):
    """The file changed while it was being read."""


class _Unreadable(Exception):
    """One file could not be used; the message says why, without the path."""


def fetch_files(
    source: SourceSpec,
    state: FetchState,
    *,
    now: datetime,
    limits: FetchLimits,
    settling: Settling = SETTLING,
) -> Fetched:
    """Read the files matching `source.path` that changed since `state`."""
    pattern = source.path or ""
    paths = sorted(glob.glob(pattern))
    if not paths:
        raise FetchError(source.name, f"no file matches {pattern}")
    stamps: dict[str, FileStamp] = {}
    problems: list[str] = []
    changed: dict[str, tuple[str, _Stamp]] = {}
    folder = _folder_of(pattern)
    for path in paths:
        try:
            real = _check_inside(path, folder)
            info = _stat_regular(real)
        except _Unreadable as e:
            problems.append(f"{path}: {e}")
            continue
        known = state.files.get(path)
        if known is not None and (known.mtime_ns, known.size) == _stamp_of(info):
            stamps[path] = known
        else:
            changed[path] = (real, _stamp_of(info))
    documents = _read_settled(changed, state, stamps, problems, now, limits, settling)
    if problems and not stamps:
        raise FetchError(source.name, f"no readable file matches {pattern}: {'; '.join(problems)}")
    files = dict(sorted(stamps.items()))
    return Fetched(tuple(documents), FetchState(files=files), tuple(sorted(problems)))


def _read_settled(
    changed: dict[str, tuple[str, _Stamp]],
    state: FetchState,
    stamps: dict[str, FileStamp],
    problems: list[str],
    now: datetime,
    limits: FetchLimits,
    settling: Settling,
) -> list[Document]:
    """Read the changed files once they have settled, filling `stamps` and `problems`.
    A file still moving keeps what was known of it, so the next poll reads it."""
    documents: list[Document] = []
    still = _settle(changed, settling)
    for path in sorted(changed):
        real = changed[path][0]
        try:
            if path not in still:
                raise _InFlux
            found, document = _read(path, real, still[path], state.files.get(path), now, limits)
        except _Unreadable as e:
            problems.append(f"{path}: {e}")
            continue
        except _InFlux:
            log.info("file still being written; read on the next poll", extra={"path": path})
            if path in state.files:
                stamps[path] = state.files[path]
            continue
        stamps[path] = found
        if document is not None:
            documents.append(document)
    return documents


def _settle(changed: dict[str, tuple[str, _Stamp]], settling: Settling) -> dict[str, _Stamp]:
    """The changed files whose (mtime, size) held still for a quiet spell, with that
    stamp. One wait serves every file of the fetch."""
    wall = time.time_ns()
    recent_ns = int(settling.recent * 1e9)
    moving = {p: s for p, (_, s) in changed.items() if wall - s[0] < recent_ns}
    still = {p: s for p, (_, s) in changed.items() if p not in moving}
    deadline = time.monotonic() + settling.patience
    while moving and time.monotonic() + settling.quiet <= deadline:
        time.sleep(settling.quiet)
        for path, before in list(moving.items()):
            try:
                after = _stamp_of(os.stat(changed[path][0]))
            except OSError:
                after = before  # gone or unreadable: the read says why
            if after == before:
                still[path] = moving.pop(path)
            else:
                moving[path] = after
    return still


def _read(
    path: str,
    real: str,
    settled: _Stamp,
    known: FileStamp | None,
    now: datetime,
    limits: FetchLimits,
) -> tuple[FileStamp, Document | None]:
    try:
        descriptor = os.open(real, _OPEN_FLAGS)
        with open(descriptor, "rb") as file:
            info = os.fstat(file.fileno())
            _check_regular(info)
            if _stamp_of(info) != settled:
                raise _InFlux  # changed again since it settled
            body = file.read(limits.max_bytes + 1)
            after = os.fstat(file.fileno())
    except OSError as e:
        raise _Unreadable(_reason(e)) from e
    if len(body) > limits.max_bytes:
        raise _Unreadable(f"larger than the {limits.max_bytes}-byte size cap (max_bytes)")
    if _stamp_of(after) != _stamp_of(info) or len(body) != info.st_size:
        # Caught mid-save: parsing half a file would invent edits. Keep what we knew, so
        # the next poll reads it again once the writer is done.
        raise _InFlux
    stamp = FileStamp(info.st_mtime_ns, info.st_size, hashlib.sha256(body).hexdigest())
    if known is not None and known.sha256 == stamp.sha256:
        return stamp, None
    return stamp, Document(
        location=path,
        body=body,
        content_type=CONTENT_TYPES.get(PurePath(path).suffix.lower()),
        fetched_at=now,
        modified_at=datetime.fromtimestamp(info.st_mtime_ns / 1e9, tz=UTC),
    )


def _folder_of(pattern: str) -> str:
    """The real folder a glob's matches must stay in: its leading part without wildcards
    (for a plain path, the file's own folder)."""
    parts = PurePath(pattern).parts
    fixed = list(itertools.takewhile(lambda p: not glob.has_magic(p), parts))
    if len(fixed) == len(parts):
        fixed = fixed[:-1]
    return os.path.realpath(os.path.join(*fixed) if fixed else ".")


def _check_inside(path: str, folder: str) -> str:
    """The path with every link resolved, when that stays inside `folder`."""
    real = os.path.realpath(path)
    if os.path.commonpath([real, folder]) != folder:
        raise _Unreadable(f"a link leading out of {folder} (to {real}); refused")
    return real


def _stat_regular(path: str) -> os.stat_result:
    try:
        info = os.stat(path)
    except OSError as e:
        raise _Unreadable(_reason(e)) from e
    _check_regular(info)
    return info


def _reason(error: OSError) -> str:
    return (error.strerror or type(error).__name__).lower()


def _stamp_of(info: os.stat_result) -> _Stamp:
    return (info.st_mtime_ns, info.st_size)


def _check_regular(info: os.stat_result) -> None:
    # Opening a FIFO or a device that matches the glob would block or never end.
    if stat.S_ISDIR(info.st_mode):
        raise _Unreadable("is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise _Unreadable("not a regular file")
