"""Conditioning tags: the special tokens that put a document's kind and period at its head.

The tokenizer stage derives the tag set from the documents it is trained on (only tags that
really occur become tokens) and records it in the tokenizer folder; pretokenization puts
`document_tags(kind, year)` before each document's text; inference lets a user pick them.
"""
from __future__ import annotations

from typing import Iterable, Optional

END_OF_TEXT = "<|endoftext|>"  # document separator, end of sequence, and bos
PAD = "<|pad|>"
CONTROL_TOKENS = (END_OF_TEXT, PAD)

# Document kinds (the `kind` field of a cleaned document) and what they mean.
KINDS = {
    "trial": "Old Bailey Proceedings: trial accounts",
    "ordinary": "Ordinary of Newgate's Accounts: criminal biographies and last dying speeches",
    "book": "novels and other books (Project Gutenberg, Standard Ebooks)",
    "diary": "diaries and journals (e.g. Pepys)",
    # all of London Lives: its name stays "parish" so that tokenizers and models already trained keep
    # their <|kind:parish|> token; the record series (sessions papers ...) is each document's `series`
    "parish": "London Lives manuscripts: parish, sessions and coroners' records (examinations, removals, inquests)",
    "pamphlet": "early modern print transcribed by hand (EEBO-TCP)",
    "ocr": "OCR'd print (Internet Archive)",
    "other": "anything else",
}

FIRST_YEAR, LAST_YEAR = 1500, 1924
PERIOD_YEARS = 25  # quarter-centuries: fine enough to steer, coarse enough to be well populated


def kind_tag(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}; known: {', '.join(KINDS)}")
    return f"<|kind:{kind}|>"


def period_tag(year: Optional[int]) -> Optional[str]:
    """`<|period:1750-1774|>` for any year in 1750..1774; None for an unknown or out-of-range year."""
    if year is None or not FIRST_YEAR <= int(year) <= LAST_YEAR:
        return None
    start = FIRST_YEAR + (int(year) - FIRST_YEAR) // PERIOD_YEARS * PERIOD_YEARS
    return f"<|period:{start}-{start + PERIOD_YEARS - 1}|>"


def document_tags(kind: str, year: Optional[int]) -> list[str]:
    """Tags that head a document: its kind, then its period when the date is known."""
    tags = [kind_tag(kind)]
    period = period_tag(year)
    if period:
        tags.append(period)
    return tags


def tag_set(documents: Iterable[tuple[str, Optional[int]]]) -> list[str]:
    """The sorted set of tags that the given (kind, year) pairs really carry."""
    found: set[str] = set()
    for kind, year in documents:
        found.update(document_tags(kind, year))
    return sorted(found)


def is_tag(token: str) -> bool:
    return token.startswith(("<|kind:", "<|period:")) and token.endswith("|>")
