"""Ordinary of Newgate's Accounts as plain text (one account a file, `OA{yyyymmdd}[A].txt`).

The text was extracted from the OBO XML with one line per paragraph; the same markup-boundary
spacing (`Robert Ladbroke , Knt .`) is fixed here. The date comes from the file name.
"""
from __future__ import annotations

import re

from .document import ParseError, RawDocument, looks_like_html
from .encoding import decode_bytes
from .normalise import fix_tag_spacing

_OA_NAME = re.compile(r"OA(\d{4})(\d{2})(\d{2})")


def parse(data: bytes, meta: dict) -> list[RawDocument]:
    text = decode_bytes(data).text
    if looks_like_html(text):
        raise ParseError("an HTML page, not an Ordinary's Account text")
    name = str(meta.get("origin") or meta.get("url") or meta.get("title") or "")
    match = _OA_NAME.search(name)
    date = f"{match.group(1)}-{match.group(2)}-{match.group(3)}" if match else None
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return [RawDocument(text=fix_tag_spacing("\n".join(line for line in lines if line)), date=date,
                        year=int(match.group(1)) if match else None, kind="ordinary")]
