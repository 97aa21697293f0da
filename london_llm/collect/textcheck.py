"""Is a downloaded body really the text we asked for? Rejects what servers send instead.

Real failures this guards against: an HTML error or rate-limit page served with status 200,
an empty body, a truncated XML or JSON file, a binary (PDF/zip) where text was expected, and
texts whose licence forbids use (Gutenberg's "World Library" Shakespeare, personal use only).
"""
from __future__ import annotations

import fnmatch
import json
import re
import zipfile
from pathlib import Path
from typing import Sequence

from lxml import etree

from ..errors import LondonLLMError


class NotText(LondonLLMError, ValueError):
    """The body is not the text the source promised (worth retrying: the next answer may be right)."""


class LicenceRefused(LondonLLMError, ValueError):
    """The text's own licence forbids our use; the item is skipped, not retried."""


# The root element each XML format must have: an error page that happens to be well-formed XML
# (many are: `<!DOCTYPE html><html>...</html>`) is still not the document we asked for.
XML_ROOTS = {"oldbailey_tei": {"TEI.2", "TEI"}, "eebo_tei": {"{http://www.tei-c.org/ns/1.0}TEI", "TEI", "TEI.2"},
             "standardebooks_xhtml": {"{http://www.w3.org/1999/xhtml}html"}}
# Formats whose root varies (London Lives: a page `<div1>` from the site, a document file in bulk):
# the element every such file holds instead.
XML_HOLDS = {"londonlives_xml": "div1"}
XML_FORMATS = set(XML_ROOTS) | set(XML_HOLDS)
JSON_FORMATS = {"oldbailey_api_json"}
_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])", re.I)
_HTML_ANYWHERE = re.compile(rb"<html[\s>].*?<(head|body)[\s>]", re.I | re.S)
_BINARY_MAGIC = {b"%PDF": "a PDF", b"PK\x03\x04": "a zip archive", b"\x1f\x8b": "gzip data",
                 b"\x89PNG": "a PNG image", b"GIF8": "a GIF image", b"\xff\xd8\xff": "a JPEG image"}
# Restrictive licences met in real files (FORMATS.md 1.3): match anywhere, case-insensitively.
RESTRICTED_MARKERS = (b"WORLD LIBRARY, INC.",)


def check_body(data: bytes, fmt: str, what: str = "download") -> None:
    """Raise NotText or LicenceRefused when `data` is not usable text of format `fmt`."""
    if not data.strip():
        raise NotText(f"{what}: empty body")
    head = data[:4096].lstrip(b"\xef\xbb\xbf")
    for magic, name in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise NotText(f"{what}: got {name}, expected text ({fmt})")
    if fmt != "standardebooks_xhtml" and (_HTML_START.match(head) or _HTML_ANYWHERE.search(head[:2048])):
        title = re.search(rb"<title[^>]*>(.*?)</title>", data[:8192], re.I | re.S)
        shown = title.group(1).decode("utf-8", "replace").strip()[:80] if title else "no title"
        raise NotText(f"{what}: got an HTML page ({shown!r}), expected {fmt}")
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise NotText(f"{what}: binary data (NUL bytes), expected text ({fmt})")
    if fmt in XML_FORMATS:
        _check_xml(data, fmt, what)
    elif fmt in JSON_FORMATS:
        try:
            payload = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise NotText(f"{what}: not complete JSON ({exc})") from None
        if not payload:
            raise NotText(f"{what}: empty JSON answer (unknown record?)")
    upper = data.upper()
    for marker in RESTRICTED_MARKERS:
        if marker in upper:
            raise LicenceRefused(f"{what}: marked {marker.decode()!r}: licensed for personal use only, skipped")


def _check_xml(data: bytes, fmt: str, what: str) -> None:
    """Parse fully: a truncated file fails with 'Premature end of data' or an unclosed tag."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, recover=False,
                             load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise NotText(f"{what}: truncated or malformed XML ({exc})") from None
    if fmt in XML_HOLDS:
        if root.tag != XML_HOLDS[fmt] and root.find(f".//{XML_HOLDS[fmt]}") is None:
            raise NotText(f"{what}: XML <{root.tag}> holds no <{XML_HOLDS[fmt]}>, so it is not {fmt}")
        return
    if root.tag not in XML_ROOTS[fmt]:
        raise NotText(f"{what}: XML root <{root.tag}> is not that of {fmt} ({' or '.join(sorted(XML_ROOTS[fmt]))})")


def check_file(path: Path, fmt: str, what: str = "download") -> None:
    check_body(Path(path).read_bytes(), fmt, what)


MAX_MEMBER_CHECK_BYTES = 64 * 1024 * 1024


def check_archive(path: Path, fmt: str, members: Sequence[str] = ("*",), what: str = "download") -> int:
    """A bulk zip: its central directory reads (a truncated download fails here), some member matches
    `members`, and the first such member is complete text of format `fmt`. Returns the number of
    matching members."""
    try:
        with zipfile.ZipFile(path) as archive:
            matching = [i for i in archive.infolist() if not i.is_dir()
                        and any(fnmatch.fnmatchcase(i.filename, p) for p in members)]
            if not matching:
                names = ", ".join(i.filename for i in archive.infolist()[:5])
                raise NotText(f"{what}: no member of the archive matches {', '.join(members)} (it holds {names} ...)")
            first = min(matching, key=lambda i: i.file_size)
            if first.file_size > MAX_MEMBER_CHECK_BYTES:
                raise NotText(f"{what}: member {first.filename} is {first.file_size:,} bytes, over the "
                              f"{MAX_MEMBER_CHECK_BYTES:,}-byte limit for one member")
            with archive.open(first) as fh:
                check_body(fh.read(), fmt, what=f"{what}!/{first.filename}")
            return len(matching)
    except zipfile.BadZipFile as exc:
        raise NotText(f"{what}: not a complete zip archive ({exc})") from None
