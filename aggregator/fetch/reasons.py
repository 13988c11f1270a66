"""EDGE: httpx's errors as FetchError, with reasons fit to show.

The reasons end up in logs, in /healthz and on the story page, so they are short and
say what kind of failure it was: no text a server sent is quoted (a protocol error's
message can hold bytes of the response, a hub's error page anything), and URLs are shown
without credentials and cut short (a redirect's Location is the server's to choose).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx

from aggregator.core.errors import FetchError
from aggregator.fetch.destinations import Refused
from aggregator.fetch.limits import FetchLimits


@contextmanager
def translated_errors(
    name: str, url: str, limits: FetchLimits, max_redirects: int
) -> Iterator[None]:
    """Around one exchange with `url`: every httpx error leaves as FetchError."""
    where = shown(url)
    try:
        yield
    except Refused as e:
        raise FetchError(name, f"refused: {e} (from {where})") from e
    except httpx.ConnectTimeout as e:
        reason = f"timed out after {limits.connect_timeout:g}s connecting to {where}"
        raise FetchError(name, reason) from e
    except httpx.TimeoutException as e:
        reason = f"timed out after {limits.total_timeout:g}s fetching {where}"
        raise FetchError(name, reason) from e
    except httpx.TooManyRedirects as e:
        raise FetchError(name, f"too many redirects (over {max_redirects}) from {where}") from e
    except httpx.ConnectError as e:
        raise FetchError(name, _describe_connect_error(e, where)) from e
    except httpx.ProtocolError as e:
        reason = f"the server at {where} broke the HTTP protocol ({type(e).__name__})"
        raise FetchError(name, reason) from e
    except (httpx.HTTPError, httpx.InvalidURL) as e:
        raise FetchError(name, f"fetching {where} failed: {type(e).__name__}: {gist(e)}") from e


def _describe_connect_error(error: httpx.ConnectError, where: str) -> str:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, Refused):
            return f"refused: {cause} (from {where})"
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused by {where}"
        cause = cause.__cause__ or cause.__context__
    return f"cannot connect to {where}: {gist(error)}"


_SHOWN_URL = 200
_GIST = 120


def shown(url: object) -> str:
    """A URL as a reason shows it: without user:password, cut at _SHOWN_URL characters
    (a redirect's Location is the server's to choose, and can be long)."""
    text = str(url)
    parts = urlsplit(text) if len(text) < 10_000 else None
    if parts is not None and parts.password is not None and "@" in parts.netloc:
        text = text.replace(parts.netloc, parts.netloc.rpartition("@")[2], 1)
    return text if len(text) <= _SHOWN_URL else text[:_SHOWN_URL] + "..."


def gist(error: BaseException) -> str:
    """The first line of a foreign error's message, up to its first quote (where quoted
    data, sometimes bytes it choked on, follows), at most _GIST characters."""
    lines = str(error).strip().splitlines()
    line = lines[0][:_GIST] if lines else ""
    cut = min((i for i in (line.find("'"), line.find('"')) if i >= 0), default=len(line))
    return line[:cut].rstrip(" :(") or type(error).__name__
