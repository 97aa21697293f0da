"""Tables of contents and lists of illustrations (class contents): the heading and the entries after
it, and unheaded lists in the front matter whose entries come back later as headings. The passes of
editorial.strip that drop them.
"""
from __future__ import annotations

import re

from .editorial_headings import contents_heading
from .editorial_paragraphs import FRONT_SHARE, Para

_ENTRY_START = re.compile(r"^\s*(?:[-*•]\s*)?(?:chapter|chap\.|book|part|letter|vol\.?|volume|act|scene|canto|section|"
                          r"epistle|essay|no\.|[IVXLC]+\.?\s|\d+\.?\s)", re.I)
_TRAILING_NUMBER = re.compile(r"(?:\s|\.)(\d{1,4}|[ivxlc]{1,6})\s*$", re.I)


def _entry(para: Para) -> bool:
    """A line of a table of contents: chapter-like, numbered, indented or short, not prose."""
    lines = para.lines
    if not lines:
        return False
    first = lines[0]
    if _ENTRY_START.match(first) or _TRAILING_NUMBER.search(first):
        return True
    short = sum(len(line.strip()) <= 60 for line in lines)
    if first.startswith((" ", "\t")) and (len(lines) <= 12 or short >= 0.9 * len(lines)):
        return True
    return short == len(lines) and (len(lines) <= 12 or sum(bool(_ENTRY_START.match(x)) for x in lines) >= 0.5 * len(lines))


_ENTRY_NUMBER = re.compile(r"^\s*(?:(?:chapter|chap\.|book|part|letter|no\.)\s*)?(?:[ivxlc]+|\d+)\b\.?\s*[-—:.]*\s*", re.I)


def _entry_key(para: Para) -> str:
    first = para.lines[0] if para.lines else ""
    first = _ENTRY_NUMBER.sub("", _TRAILING_NUMBER.sub("", first))
    return re.sub(r"[^a-z0-9]+", "", first.lower())[:30]


def drop_contents(paras: list[Para], drop: dict[int, str], total: int) -> None:
    """Tables of contents."""
    offset = 0
    for i, para in enumerate(paras):
        if offset > total * FRONT_SHARE:
            break
        offset += len(para.text)
        if i in drop or not contents_heading(para):
            continue
        drop[i] = "contents"
        seen: set[str] = set()
        for j in range(i + 1, len(paras)):
            key = _entry_key(paras[j])
            wide_gap_heading = seen and paras[j].gap >= 3 and len(paras[j].lines) == 1  # "CHAPTER I", the title
            if key in seen or not _entry(paras[j]) or wide_gap_heading:
                break
            seen.add(key)
            drop.setdefault(j, "contents")


def drop_unheaded_contents(paras: list[Para], drop: dict[int, str], total: int) -> None:
    """Tables of contents without a heading: a numbered or paged list in the front matter whose
    entries come back later as headings."""
    offset = 0
    headings = None
    for i, para in enumerate(paras):
        if offset > total * FRONT_SHARE:
            break
        offset += len(para.text)
        lines = para.lines
        if i in drop or len(lines) < 4 or \
                sum(bool(_ENTRY_START.match(x) or _TRAILING_NUMBER.search(x)) for x in lines) < 0.7 * len(lines):
            continue
        if headings is None:
            headings = {_entry_key(Para(p.text, 0)) for p in paras if len(p.lines) <= 2 and len(p.text) <= 120}
        keys = {_entry_key(Para(x, 0)) for x in lines}
        if len((keys - {""}) & headings) >= 2:
            drop[i] = "contents"
