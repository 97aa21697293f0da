"""Join the hard line wraps of books, so every kind has one line per paragraph.

Books from Project Gutenberg break lines at ~70 characters inside paragraphs; every other source
has one line per paragraph. A break is a wrap, and is joined, when the next line's first word
would not have fitted on the line (greedy filling stopped there because the margin came), or the
line reaches 80% of the margin: the book's margin is measured from its own line lengths (the 95th
percentile), not taken from a table.
A break is kept when the line ends early although the next word would have fitted (verse, the
address and signature lines of a letter, headings, a dramatic speaker's name), when the next line
is indented deeper (verse, quotation), when the paragraph is verse (three lines or more, nearly
all opening with a capital), when the next line opens a speech (`Rich. `), when either line looks like a table (runs of 3+ spaces)
or the next opens a list item. A line ending in a hyphen or dash joins without a space.
"""
from __future__ import annotations

import re

_LIST_ITEM = re.compile(r"^\s*(?:[-*•·]\s|\(?\d{1,3}[.)]\s|\(?[a-z][.)]\s|[ivxlc]{1,5}\.\s)", re.I)
_TABLE = re.compile(r"\S {3,}\S|\t")
_MIN_MARGIN = 45
_FULL_SHARE = 0.8
_SAMPLE_LINES = 20_000


def margin(lines: list[str]) -> int:
    """The book's right margin: the 95th percentile of its non-blank line lengths."""
    lengths = sorted(len(line.rstrip()) for line in lines[:_SAMPLE_LINES] if line.strip())
    if len(lengths) < 20:
        return 0
    return lengths[int(0.95 * (len(lengths) - 1))]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_wrap(line: str, following: str, width: int) -> bool:
    if not line.strip() or not following.strip():
        return False
    if _TABLE.search(line.strip()) or _TABLE.search(following.strip()) or _LIST_ITEM.match(following):
        return False
    if _indent(following) > _indent(line) + 1:
        return False
    next_word = following.split(None, 1)[0]
    # greedy filling: the next word (and its space) would have crossed the margin; or the line runs
    # within a fifth of the margin (wrapping programs leave slack: the margin is a percentile)
    length = len(line.rstrip())
    return length + 1 + len(next_word) > width - 1 or length >= _FULL_SHARE * width


_CAPITAL_START = re.compile(r"^\s*[\"'‘“(\[_]*[A-Z]")
_SPEAKER = re.compile(r"^\s+[A-Z][A-Za-z]{0,14}\.(?:[A-Z][a-z]*\.)?\s")  # "Rich. ", "1.Cit. "
_VERSE_SHARE = 0.75  # verse: (nearly) every line opens with a capital; wrapped prose does by chance
_PARAGRAPHS = re.compile(r"(\n[ \t]*\n)")


def is_verse(lines: list[str]) -> bool:
    lines = [line for line in lines if line.strip()]
    return len(lines) >= 3 and sum(bool(_CAPITAL_START.match(line)) for line in lines) >= _VERSE_SHARE * len(lines)


def _join_lines(lines: list[str], width: int) -> list[str]:
    out: list[str] = []
    current = last = lines[0]  # the paragraph so far, and its last physical line
    for following in lines[1:]:
        if _is_wrap(last, following, width) and not _SPEAKER.match(following):
            head = current.rstrip()
            joiner = "" if head.endswith("-") and not head.endswith(" -") else " "
            current = head + joiner + following.strip()
        else:
            out.append(current)
            current = following
        last = following
    out.append(current)
    return out


def unwrap(text: str) -> str:
    """`text` with wrapped lines inside paragraphs joined (see the module doc)."""
    width = margin(text.split("\n", _SAMPLE_LINES)[:_SAMPLE_LINES])
    if width < _MIN_MARGIN:
        return text
    parts = _PARAGRAPHS.split(text)
    for i in range(0, len(parts), 2):
        lines = parts[i].split("\n")
        if len(lines) > 1 and not is_verse(lines):
            parts[i] = "\n".join(_join_lines(lines, width))
    return "".join(parts)
