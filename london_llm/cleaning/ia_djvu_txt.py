"""Internet Archive `_djvu.txt` OCR text.

Pages are blocks separated by blank lines; the OCR keeps every printed line. Removed: running
heads (short lines repeated on several pages), page numbers and catchword-only lines, scanner
boilerplate (`Digitized by Google`, `Digitized by the Internet Archive ...`), lines that are mostly
not words (decorative headings, contents leaders). Words hyphenated across a line break are
joined (`unin-`/`telligible` -> `unintelligible`) unless the document itself spells the word with
a hyphen elsewhere (`street-folk`). Lines of a paragraph are joined with spaces.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Optional

from .document import ParseError, RawDocument, looks_like_html
from .encoding import decode_bytes

_PAGE_NUMBER = re.compile(r"^[\s\[(]*(?:\d{1,4}|[ivxlcdm]{1,7})[\s.\])]*$", re.I)
_BOILERPLATE = re.compile(r"digiti[sz]ed\s+by|internet\s*archive|archive\.org|google|with\s+funding\s+from", re.I)
_WORD = re.compile(r"[A-Za-z][a-z]+|[A-Z]{2,}|\b(?:a|I|A)\b")
_HYPHEN_BREAK = re.compile(r"([A-Za-z]+)-[ \t]*\n[ \t]*([a-z]+)")
_RUNNING_HEAD_MAX = 70


def _wordiness(line: str) -> float:
    """Share of a line's non-space characters that belong to plausible words."""
    chars = len(line.replace(" ", ""))
    return sum(len(w) for w in _WORD.findall(line)) / chars if chars else 0.0


def _head_key(line: str) -> str:
    return re.sub(r"[^A-Z]", "", line.upper())


def clean_ocr(text: str, removed: Optional[Counter] = None) -> str:
    """OCR text without page furniture; scanner boilerplate cut is counted in `removed`."""
    removed = Counter() if removed is None else removed
    lines = [line.strip() for line in text.split("\n")]
    # A running head is a short line that recurs on several pages (OCR may vary the digits).
    heads = Counter(_head_key(line) for line in lines if 0 < len(line) <= _RUNNING_HEAD_MAX)
    repeated = {key for key, n in heads.items() if n >= 3 and len(key) >= 4}
    kept = []
    for line in lines:
        if not line:
            kept.append("")
            continue
        if _BOILERPLATE.search(line):
            removed["scanner"] += len(line) + 1
            continue
        if _PAGE_NUMBER.match(line):
            continue
        if len(line) <= _RUNNING_HEAD_MAX and _head_key(line) in repeated:
            continue
        if _wordiness(line) < 0.5:
            continue
        kept.append(line)
    joined = "\n".join(kept)
    hyphenated = set(re.findall(r"\b([A-Za-z]+-[a-z]+)\b", joined))

    def _join(match: re.Match) -> str:
        left, right = match.group(1), match.group(2)
        return f"{left}-{right}" if f"{left}-{right}" in hyphenated else left + right

    joined = _HYPHEN_BREAK.sub(_join, joined)
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", joined)]
    return "\n\n".join(p for p in paragraphs if p)


def parse(data: bytes, meta: dict) -> list[RawDocument]:
    text = decode_bytes(data).text
    if looks_like_html(text):
        raise ParseError("an HTML page (the archive.org /stream/ viewer?), not _djvu.txt")
    removed: Counter = Counter()
    cleaned = clean_ocr(text, removed)
    return [RawDocument(text=cleaned, removed=dict(removed))]
