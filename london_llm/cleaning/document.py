"""What a parser hands back: one source document's text and what it knows about it."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from ..errors import LondonLLMError


class ParseError(LondonLLMError, ValueError):
    """A file that cannot be read as its declared format (truncated XML, HTML instead of text ...)."""


@dataclass
class RawDocument:
    text: str
    title: Optional[str] = None
    author: Optional[str] = None
    date: Optional[str] = None  # ISO date or year as text, when the source gives one
    year: Optional[int] = None
    part: Optional[str] = None  # which part of the file (trial id, TSV row id), appended to origin
    kind: Optional[str] = None  # overrides the sidecar's kind (an Ordinary's Account in OBO XML)
    series: Optional[str] = None  # the record series within its kind (London Lives: "sessions papers" ...)
    rejected: Optional[str] = None  # filter name when the parser already knows it must not be used
    removed: dict = field(default_factory=dict)  # contamination category -> chars the parser cut out


_YEAR = re.compile(r"(?<!\d)(1[0-9]{3}|20[0-9]{2})(?!\d)")


def year_of(value) -> Optional[int]:
    """The first plausible four-digit year (1000-2099) in a date string, or None."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    match = _YEAR.search(str(value))
    return int(match.group(1)) if match else None


def looks_like_html(text: str) -> bool:
    """An HTML page (error page, search page) where text or XML was expected."""
    head = text[:2000].lstrip().lower()
    return head.startswith(("<!doctype html", "<html")) or ("<html" in head and "<body" in head)
