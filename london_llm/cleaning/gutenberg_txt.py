"""Project Gutenberg plain text: keep the book, drop every header, footer and licence variant.

Markers (see ../shared/corpus/FORMATS.md §1): `*** START OF THE/THIS PROJECT GUTENBERG EBOOK ..`
with or without spaces or a title; the 1990s "SMALL PRINT" block (the body follows its
`*END*THE SMALL PRINT` line); end lines `*** END OF THE/THIS PROJECT GUTENBERG EBOOK`,
`End of (the) Project Gutenberg('s) ...`, `End of this Etext ...`. Only those count as an end:
a chapter line such as `END OF THE FIRST EPOCH.` is book text. Producer and transcriber credits,
transcriber's notes and `[Illustration]` / `[Footnote ..]` insertions are removed.
"""
from __future__ import annotations

import re
from typing import Optional

from .document import ParseError, RawDocument, looks_like_html
from .encoding import decode_bytes

RESTRICTED_MARK = "WORLD LIBRARY, INC."

_START = re.compile(
    r"^[^\n\w]*\*{3}\s*START\s+OF\s+(?:THE|THIS)\s+(?:COPYRIGHTED\s+)?PROJECT\s+GUTENBERG[^\n]*$", re.I | re.M)
_WRAPPED_TITLE = re.compile(r"(?:[^\n*]*\n){0,2}[^\n*]*\*{3}[ \t]*$", re.M)
_SMALL_PRINT_END = re.compile(r"^\*+\s*END\*?\s*THE SMALL PRINT[^\n]*$", re.I | re.M)
_END = re.compile(
    r"^[^\n\w]*(?:\*{3}\s*END\s+OF\s+(?:THE|THIS)\s+(?:COPYRIGHTED\s+)?PROJECT\s+GUTENBERG"
    r"|End\s+of\s+(?:the\s+|this\s+)?Project\s+Gutenberg"
    r"|End\s+of\s+(?:the\s+|this\s+)(?:Project\s+Gutenberg\s+)?E-?text\b)", re.I | re.M)
_TITLE = re.compile(r"^\s*Title:\s*(.+)$", re.M)
_AUTHOR = re.compile(r"^\s*Author:\s*(.+)$", re.M)
_CREDIT = re.compile(
    r"^(?:Produced\s+by|Transcribed\s+(?:from|by)|This\s+e-?text\s+was\s+(?:prepared|produced)|"
    r"E-?text\s+(?:prepared|produced|scanned)|Scanned\s+(?:and\s+proofed\s+)?by|Prepared\s+by|"
    r"\[?Transcriber['’]?s?\s+Notes?|\[?Note:\s+Project Gutenberg|Proofreading Team)", re.I)
_TRANSCRIBER_BLOCK = re.compile(r"\[\s*Transcriber['’]?s?\s+Notes?:?.*?\][ \t]*(?:\n|$)", re.I | re.S)
_ILLUSTRATION = re.compile(r"\[(?:Illustration|Frontispiece|Picture|Decoration)[^\]]*\]", re.I)
_FOOTNOTE = re.compile(r"\[Footnote[^\]]*\]", re.I)
_ITALICS = re.compile(r"(?<![\w_])_([^_\n][^_]*?)_(?![\w_])")
_GAP = re.compile(r"(\n[ \t]*\n(?:[ \t]*\n)*)")
_SECTION_BREAK = re.compile(r"^[ \t]*(?:(?:\*[ \t]*){3,}|[-=_~]{5,}[ \t]*)$", re.M)


def body_span(text: str) -> tuple[int, int]:
    """(start, end) character offsets of the book inside a Gutenberg file."""
    start = 0
    match = _START.search(text)
    if match:
        start = match.end()
        if not match.group(0).rstrip().endswith("***"):  # the title wrapped onto the next line(s)
            wrapped = _WRAPPED_TITLE.match(text, start)
            if wrapped:
                start = wrapped.end()
    else:
        small = None
        for small in _SMALL_PRINT_END.finditer(text, 0, len(text) // 2 + 1):
            pass
        if small:
            start = small.end()
    end_match = _END.search(text, start)
    return start, end_match.start() if end_match else len(text)


# Producers' notes about the e-text itself, met among the opening paragraphs of a body.
_PRODUCER_NOTE = re.compile(r"\b(?:html|pdf|midi|underscores?|e-?texts?|e-?books?|this file|transcriber|"
                            r"proofread|scanner['’]?s? notes?|ascii|version of this|project gutenberg|"
                            r"executive director|Michael S\. Hart)\b", re.I)
_OPENING_CHARS = 12_000
_NOTE_GAP = 10  # paragraphs without a note word that may sit inside one notes block
_SIGNATURE = re.compile(r"^[A-Z][\w.]*(?: [A-Z][\w.]*){0,3}$")  # "David Reed" under a scanner's note


def _notes_block(paragraphs: list[str]) -> tuple[int, int]:
    """(first, last) paragraph of the producers' notes block among the opening paragraphs, or (0, -1)."""
    first, offset = None, 0
    for index, paragraph in enumerate(paragraphs):
        if offset > _OPENING_CHARS:
            break
        offset += len(paragraph) + 2
        if _PRODUCER_NOTE.search(paragraph):
            first = index
            break
    if first is None:
        return 0, -1
    last = first
    for index in range(first + 1, len(paragraphs)):
        if index - last > _NOTE_GAP or offset > _OPENING_CHARS:
            break
        offset += len(paragraphs[index]) + 2
        if _PRODUCER_NOTE.search(paragraphs[index]):
            last = index
    if last + 1 < len(paragraphs) and _SIGNATURE.match(paragraphs[last + 1].strip()):
        last += 1
    return first, last


# Transcribers' errata and change lists at the end of a book: cut from there to the end.
_END_NOTES = re.compile(r"^\W*(?:errata\b|transcriber|the transcriber|corrections? made|notes? by (?:the )?transcriber|"
                        r"changes made)", re.I)
_TRANSCRIBER = re.compile(r"\btranscri(?:ber|bers|bed by)\b|\bdespeckled\b", re.I)
_TAIL_SHARE = 0.2


def _drop_end_notes(paragraphs: list[str]) -> list[str]:
    total = sum(len(p) + 2 for p in paragraphs)
    offset, cut = 0, len(paragraphs)
    for index, paragraph in enumerate(paragraphs):
        if offset >= total * (1 - _TAIL_SHARE) and _END_NOTES.match(paragraph.strip()):
            cut = index
            break
        offset += len(paragraph) + 2
    return [p for p in paragraphs[:cut] if not _TRANSCRIBER.search(p)]


def _drop_credit_paragraphs(body: str) -> str:
    """Remove producer/transcriber paragraphs anywhere (a credit line and its continuation
    lines), and the block of notes about the e-text among the opening paragraphs (the First
    Folio files open with pages of Executive Director's and Scanner's notes)."""
    parts = _GAP.split(body)  # paragraphs and the blank lines between them (kept: layout tells pages apart)
    paragraphs, gaps, gap = [], [], "\n\n"
    for i, part in enumerate(parts):
        if i % 2:
            gap = part
        elif part.strip():
            paragraphs.append(part)
            gaps.append(gap)
    first, last = _notes_block(paragraphs)
    kept_index = [i for i, p in enumerate(paragraphs) if not first <= i <= last and not _CREDIT.match(p.strip())]
    kept = _drop_end_notes([paragraphs[i] for i in kept_index])
    index_of = {id(paragraphs[i]): i for i in kept_index}
    return "".join((gaps[index_of[id(p)]] if n else "") + p for n, p in enumerate(kept))


def _header_field(pattern: re.Pattern, header: str) -> Optional[str]:
    match = pattern.search(header)
    return match.group(1).strip() if match else None


def parse(data: bytes, meta: dict) -> list[RawDocument]:
    text = decode_bytes(data).text
    if looks_like_html(text):
        raise ParseError("an HTML page, not Gutenberg plain text")
    if RESTRICTED_MARK in text:  # World Library Shakespeare: personal use only
        return [RawDocument(text="", rejected="licence_restricted")]
    start, end = body_span(text)
    header = text[:start]
    body = text[start:end]
    body = _TRANSCRIBER_BLOCK.sub("", body)
    body = _ILLUSTRATION.sub("", body)
    body = _FOOTNOTE.sub("", body)
    if "_" in body:  # the italics pattern has no literal prefix: skip the scan when it cannot match
        body = _ITALICS.sub(r"\1", body)
    body = _SECTION_BREAK.sub("", body)
    body = _drop_credit_paragraphs(body)
    return [RawDocument(text=body, title=_header_field(_TITLE, header), author=_header_field(_AUTHOR, header))]
