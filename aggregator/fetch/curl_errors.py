"""PURE: a libcurl error code as the httpx exception httpx's own transport would raise,
so fetch/reasons.py reads one family of errors whichever transport ran.

Codes: https://curl.se/libcurl/c/libcurl-errors.html
"""

from __future__ import annotations

import errno

import httpx

_RESOLVE = {5, 6}  # COULDNT_RESOLVE_PROXY, COULDNT_RESOLVE_HOST
_CONNECT = {7, 97}  # COULDNT_CONNECT, PROXY
# SSL_CONNECTERROR, SSL_ENGINE_*, SSL_CERTPROBLEM, SSL_CIPHER, PEER_FAILED_VERIFICATION,
# SSL_CACERT_BADFILE, SSL_SHUTDOWN_FAILED, SSL_CRL_BADFILE, SSL_ISSUER_ERROR,
# SSL_PINNEDPUBKEYNOTMATCH, SSL_INVALIDCERTSTATUS, SSL_CLIENTCERT
_TLS = {35, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98}
# WEIRD_SERVER_REPLY, HTTP2, PARTIAL_FILE, GOT_NOTHING, BAD_CONTENT_ENCODING,
# HTTP2_STREAM, HTTP3, TOO_LARGE; UNSUPPORTED_PROTOCOL is also what an HTTP/0.9 reply gets
_PROTOCOL = {1, 8, 16, 18, 52, 61, 92, 95, 100}
_TIMEOUT = 28


def as_httpx_error(
    code: int, message: str, request: httpx.Request, connected: bool, os_errno: int
) -> httpx.HTTPError:
    """The httpx error for libcurl's `code`; `connected` says whether the request had got
    past connecting (and TLS) when it failed, `os_errno` the system's error, if any."""
    text = f"{message} (curl error {code})"
    if code == _TIMEOUT:
        late = httpx.ReadTimeout if connected else httpx.ConnectTimeout
        return late(text, request=request)
    if code in _RESOLVE or code in _CONNECT or code in _TLS:
        error = httpx.ConnectError(text, request=request)
        if os_errno == errno.ECONNREFUSED:
            error.__cause__ = ConnectionRefusedError(os_errno, message)
        return error
    if code in _PROTOCOL:
        return httpx.RemoteProtocolError(text, request=request)
    if code == 55:  # SEND_ERROR
        return httpx.WriteError(text, request=request)
    if code == 56:  # RECV_ERROR
        return httpx.ReadError(text, request=request)
    if code == 3:  # URL_MALFORMAT
        return httpx.UnsupportedProtocol(text, request=request)
    return httpx.TransportError(text, request=request)
