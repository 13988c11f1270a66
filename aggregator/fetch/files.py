"""EDGE: read the local files a source's absolute path or glob names, only those changed.

    glob       the matching paths, sorted; a link leading out of the pattern's folder is
               refused (a folder of saved pages must not publish /etc/passwd)
    | stat     (mtime_ns, size) equal to the stored stamp -> unchanged, not even read
    | read     capped at max_bytes; a file that fails is a problem, not the source's failure
    | compare  sha256 equal to the stored one -> unchanged, only the stamp moves on

The fetch fails with a FetchError only when nothing matches or every match failed.
"""

from __future__ import annotations

import glob
import hashlib
import itertools
import os
import stat
from datetime import UTC, datetime
from pathlib import PurePath

from aggregator.errors import FetchError
from aggregator.fetch.limits import FetchLimits
from aggregator.types import Document, Fetched, FetchState, FileStamp, SourceSpec

CONTENT_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".md": "text/markdown",
    ".txt": "text/plain",
    ".xml": "application/xml",
    ".rss": "application/xml",
    ".atom": "application/xml",
}


class _InFlux(Exception):
    """The file changed while it was being read."""


class _Unreadable(Exception):
    """One file could not be used; the message says why, without the path."""


def fetch_files(
    source: SourceSpec, state: FetchState, *, now: datetime, limits: FetchLimits
) -> Fetched:
    """Read the files matching `source.path` that changed since `state`."""
    pattern = source.path or ""
    paths = sorted(glob.glob(pattern))
    if not paths:
        raise FetchError(source.name, f"no file matches {pattern}")
    documents: list[Document] = []
    stamps: dict[str, FileStamp] = {}
    problems: list[str] = []
    folder = _folder_of(pattern)
    for path in paths:
        try:
            _check_inside(path, folder)
            stamp, document = _read_if_changed(path, state.files.get(path), now, limits)
        except _Unreadable as e:
            problems.append(f"{path}: {e}")
            continue
        except _InFlux:
            if path in state.files:
                stamps[path] = state.files[path]
            continue
        stamps[path] = stamp
        if document is not None:
            documents.append(document)
    if problems and not stamps:
        raise FetchError(source.name, f"no readable file matches {pattern}: {'; '.join(problems)}")
    return Fetched(tuple(documents), FetchState(files=stamps), tuple(problems))


def _read_if_changed(
    path: str, known: FileStamp | None, now: datetime, limits: FetchLimits
) -> tuple[FileStamp, Document | None]:
    try:
        info = os.stat(path)
        _check_regular(info)
        if known is not None and (known.mtime_ns, known.size) == (info.st_mtime_ns, info.st_size):
            return known, None
        with open(path, "rb") as file:
            info = os.fstat(file.fileno())
            body = file.read(limits.max_bytes + 1)
            after = os.fstat(file.fileno())
    except OSError as e:
        raise _Unreadable((e.strerror or type(e).__name__).lower()) from e
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


def _check_inside(path: str, folder: str) -> None:
    real = os.path.realpath(path)
    if os.path.commonpath([real, folder]) != folder:
        raise _Unreadable(f"a link leading out of {folder} (to {real}); refused")


def _stamp_of(info: os.stat_result) -> tuple[int, int]:
    return (info.st_mtime_ns, info.st_size)


def _check_regular(info: os.stat_result) -> None:
    # Opening a FIFO or a device that matches the glob would block or never end.
    if stat.S_ISDIR(info.st_mode):
        raise _Unreadable("is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise _Unreadable("not a regular file")
