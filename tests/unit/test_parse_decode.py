"""decode_body: BOM, then Content-Type charset, then declarations, then UTF-8, then cp1252."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime

import pytest

from aggregator.core.types import Document
from aggregator.parse.decode import decode_body, sniff_format

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
TEXT = "Caf\u00e9 \u2013 \u201cquoted\u201d \u00a34m"


def doc(body: bytes, content_type: str | None = None, location: str = "/x/page") -> Document:
    return Document(location, body, content_type, NOW)


def test_cp1252_body_without_any_declaration_falls_back_to_cp1252() -> None:
    assert decode_body(doc(TEXT.encode("cp1252"))) == TEXT


def test_latin1_label_in_the_header_is_read_as_windows_1252() -> None:
    body = TEXT.encode("cp1252")
    assert decode_body(doc(body, "text/plain; charset=ISO-8859-1")) == TEXT


def test_latin1_body_with_bytes_undefined_in_cp1252_still_decodes() -> None:
    assert decode_body(doc(b"caf\xe9 \x81")) == "caf\u00e9 \x81"


def test_utf8_without_declaration() -> None:
    assert decode_body(doc(TEXT.encode("utf-8"))) == TEXT


@pytest.mark.parametrize("bom", [codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE])
def test_bom_wins_over_a_wrong_header(bom: bytes) -> None:
    encoding = {codecs.BOM_UTF8: "utf-8", codecs.BOM_UTF16_LE: "utf-16-le"}.get(bom, "utf-16-be")
    body = bom + TEXT.encode(encoding)
    assert decode_body(doc(body, "text/plain; charset=iso-8859-2")) == TEXT


def test_header_charset_wins_over_the_meta_declaration() -> None:
    body = '<meta charset="windows-1252"><p>\u0161\u010d</p>'.encode("iso-8859-2")
    assert decode_body(doc(body, 'text/html; charset="iso-8859-2"')) == (
        '<meta charset="windows-1252"><p>\u0161\u010d</p>'
    )


def test_xml_declaration_is_used_when_the_header_has_none() -> None:
    xml = '<?xml version="1.0" encoding="iso-8859-15"?><t>\u20ac</t>'
    assert decode_body(doc(xml.encode("iso-8859-15"), "application/xml")) == xml


def test_html_meta_http_equiv_is_used() -> None:
    page = (
        '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">'
        "<p>\u043c\u0438\u0440</p>"
    )
    assert decode_body(doc(page.encode("koi8-r"))) == page


XML_LATIN1 = '<?xml version="1.0" encoding="iso-8859-1"?>'
META_KOI8 = '<meta charset="koi8-r">'


@pytest.mark.parametrize(
    ("prefix", "text_encoding", "content_type"),
    [
        # Header charset over the XML declaration (RFC 7303 §3.2: the MIME charset wins).
        (XML_LATIN1, "utf-8", "application/xml; charset=utf-8"),
        # BOM over the header and the XML declaration (WHATWG Encoding "decode": BOM sniff).
        (codecs.BOM_UTF8.decode("latin-1") + XML_LATIN1, "utf-8", "text/xml; charset=koi8-r"),
        # XML declaration over a meta charset further in (XHTML served as XML).
        (XML_LATIN1 + META_KOI8, "iso-8859-1", "application/xhtml+xml"),
        # Meta charset alone, no header charset.
        (META_KOI8, "koi8-r", "text/html"),
    ],
)
def test_declaration_precedence_bom_header_xml_meta(
    prefix: str, text_encoding: str, content_type: str
) -> None:
    # Each wrong guess would turn the Cyrillic or accented text into mojibake.
    text = "<p>caf\u00e9</p>" if text_encoding == "iso-8859-1" else "<p>\u043c\u0438\u0440</p>"
    body = prefix.encode("latin-1") + text.encode(text_encoding)
    expected = prefix.removeprefix(codecs.BOM_UTF8.decode("latin-1")) + text
    assert decode_body(doc(body, content_type)) == expected


def test_a_declared_charset_that_does_not_fit_falls_through_to_cp1252() -> None:
    assert decode_body(doc(TEXT.encode("cp1252"), "text/plain; charset=utf-8")) == TEXT


def test_an_unknown_charset_label_is_ignored() -> None:
    assert decode_body(doc(TEXT.encode("utf-8"), "text/plain; charset=x-made-up")) == TEXT


@pytest.mark.parametrize(
    ("text", "content_type", "location", "expected"),
    [
        ("Title\n\nBody.", "text/plain", "/p.txt", "text"),
        ("## 14:05 Title\n\nBody.", "text/plain", "/p.txt", "markdown"),
        ("Title\n\nBody.", None, "/p.md", "markdown"),
        ("<!doctype html><p>Body.</p>", "text/plain", "/p.txt", "html"),
        ("Title", "text/html; charset=utf-8", "/p", "html"),
        ("#MeToo trends again\n\nBody.", None, "/p.txt", "text"),
    ],
)
def test_sniff_format(text: str, content_type: str | None, location: str, expected: str) -> None:
    assert sniff_format(doc(b"", content_type, location), text) == expected
