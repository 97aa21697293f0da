"""Any other plain text: decoded, line endings normalised, nothing else assumed."""
from __future__ import annotations

from .document import ParseError, RawDocument, looks_like_html
from .encoding import decode_bytes


def parse(data: bytes, meta: dict) -> list[RawDocument]:
    text = decode_bytes(data).text
    if looks_like_html(text):
        raise ParseError("an HTML page, not plain text")
    return [RawDocument(text=text)]
