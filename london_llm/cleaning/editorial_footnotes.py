"""Footnotes and endnotes (class footnote) and their in-text and page markers (footnote_marker): the
passes of editorial.strip that drop note bodies, and the cut of the markers from the kept text.

A note body is a paragraph opening with a marker the text used before (`[12]`, `{12a}`, `*`), an
endnote block under a NOTES heading late in the book, or a run of notes by line reference.
"""
from __future__ import annotations

import re

from .editorial_headings import is_heading, notes_heading
from .editorial_paragraphs import BACK_SHARE, Para

CURLY_MARKER = re.compile(r"[ \t]?\{(?:[0-9]{1,4}[a-z]?|[a-z]|p\.\s?\d+)\}")
_BRACKET_MARKER = re.compile(r"(?<=[\w.,;:!?’”\"')\]])\[(\d{1,3}|[A-Z])\]|(?<=\s)\[(\d{1,3})\](?=\s)")
_PAGE_MARKER_AT_START = re.compile(r"^\[(\d{1,4})\][ \t]+(?=\S)", re.M)
_STAR_MARKER = re.compile(r"(?<=[\w.,;:!?’”\"')])(\*{1,4}|†|‡)(?=[\s.,;:!?)’”\"]|$)", re.M)
_NOTE_START = re.compile(r"^[ \t]*(\[\d{1,3}\]|\[[A-Z]\]|\{[0-9]{1,4}[a-z]?\}|\*{1,4}(?=\s)|†|‡|Footnote\s+\d+)", re.I)
_LINE_REF = re.compile(r"^\s*(?:(?:l\.|ll\.|line|lines|p\.|page|v\.|ver\.)\s*\d+|[IVX]+\.\s*[ivx]+\.\s*\d+)", re.I)


def _marker_key(marker: str) -> str:
    return re.sub(r"\s+", "", marker).lower()


def drop_endnotes(paras: list[Para], drop: dict[int, str], total: int) -> None:
    """Endnote blocks: a NOTES heading late in the book whose paragraphs are mostly notes."""
    offset = 0
    for i, para in enumerate(paras):
        offset += len(para.text)
        if i in drop or offset < total * (1 - BACK_SHARE) or not notes_heading(para):
            continue
        following = [p for p in paras[i + 1:i + 21]]
        if following and sum(bool(_NOTE_START.match(p.text) or _LINE_REF.match(p.text)) for p in following) \
                >= 0.4 * len(following):
            for k in range(i, len(paras)):
                if is_heading(paras[k]) and k > i and not notes_heading(paras[k]) and \
                        not _NOTE_START.match(paras[k + 1].text if k + 1 < len(paras) else ""):
                    break
                drop.setdefault(k, "footnote")


def drop_line_reference_notes(paras: list[Para], drop: dict[int, str]) -> None:
    """Editors' notes by line reference set between the acts or chapters ("I. i. 105. Flower-de-luce ..."):
    runs of three or more paragraphs that each open with one."""
    i = 0
    while i < len(paras):
        j = i
        while j < len(paras) and _LINE_REF.match(paras[j].text):
            j += 1
        if j - i >= 3:
            for k in range(i, j):
                drop.setdefault(k, "footnote")
        i = max(j, i + 1)


def drop_footnote_bodies(paras: list[Para], drop: dict[int, str]) -> None:
    """Footnote bodies: a paragraph opening with a marker the text has already used."""
    used: set[str] = set()
    for i, para in enumerate(paras):
        match = _NOTE_START.match(para.text)
        if match and i not in drop and _marker_key(match.group(1)) in used and len(para.text) < 3000:
            drop[i] = "footnote"
        body = para.text[match.end():] if match else para.text
        if "{" in body:  # each marker pattern only where its literal occurs
            for m in CURLY_MARKER.finditer(body):
                used.add(_marker_key(m.group(0).strip()))
        if "[" in body:
            for m in _BRACKET_MARKER.finditer(body):
                used.add(f"[{(m.group(1) or m.group(2)).lower()}]")
        if "*" in body or "†" in body or "‡" in body:
            for m in _STAR_MARKER.finditer(body):
                used.add(m.group(1))


def cut_markers(text: str) -> tuple[str, int]:
    """`text` without its note and page markers, and the characters cut (`text` itself when none)."""
    marker_chars = 0
    # markers: each pattern only where its literal occurs (a regex with a look-behind is tried at
    # every position of a 2 MB novel otherwise)
    if "{" in text:
        text, marker_chars = _count_sub(CURLY_MARKER, text, marker_chars)
    if "[" in text:
        text, marker_chars = _count_sub(_BRACKET_MARKER, text, marker_chars)
        text, marker_chars = _count_sub(_PAGE_MARKER_AT_START, text, marker_chars)
    if "*" in text or "†" in text or "‡" in text:
        text, marker_chars = _count_sub(_STAR_MARKER, text, marker_chars)
    return text, marker_chars


def _count_sub(pattern: re.Pattern, text: str, count: int) -> tuple[str, int]:
    total = [count]

    def cut(match: re.Match) -> str:
        total[0] += len(match.group(0))
        return ""

    return pattern.sub(cut, text), total[0]
