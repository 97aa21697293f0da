"""What a paragraph of a book is, by its look: a heading, and which kind (a producer's note, an
introduction or preface, a table of contents, a notes block). editorial.strip's passes ask these.

Heading words are matched fuzzily ("Transcribers Note", "Contributer's note"): modern editions
misspell and vary them, and a book repeats its words, so each is compared once (lru_cache).
"""
from __future__ import annotations

import difflib
import re
from functools import lru_cache
from itertools import islice
from typing import Optional

from .editorial_paragraphs import Para

# A line of initials only ("H. M."): a signature, never a heading.
INITIALS = re.compile(r"^\s*[\[(]?(?:[A-Z]\.\s*){1,4}[\])]?\s*$")
_NOTES_HEADING = ("notes", "footnotes", "endnotes", "annotations")


@lru_cache(maxsize=65536)  # a book repeats its words: each is compared with a vocabulary once
def _fuzzy(word: str, vocabulary: tuple[str, ...], cutoff: float = 0.8) -> Optional[str]:
    word = re.sub(r"['’]s?$|s['’]$", "", word.lower())
    if len(word) < 4:
        return None
    if word in vocabulary:
        return word
    close = difflib.get_close_matches(word, vocabulary, n=1, cutoff=cutoff)
    return close[0] if close else None


_PRODUCER_WORDS = ("transcriber", "transcribers", "contributor", "contributors", "producer", "producers",
                   "proofreader", "digitizer", "digitiser", "scanner", "etext", "e-text", "encoder")
_NOTE_WORDS = ("note", "notes", "notice", "remarks", "comment", "comments")
_CONTENTS_WORDS = ("contents", "illustrations", "index", "plates")
_SECTION_WORDS = ("introduction", "preface", "prefatory", "foreword", "memoir", "biographical", "note",
                  "notes", "editor", "editorial", "introductory", "bibliography", "chronology")
_QUALIFIERS = ("critical", "biographical", "introductory", "prefatory", "general", "short", "editor", "editors",
               "editorial", "publisher", "publishers", "translator", "translators", "special", "historical")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def producer_heading(para: Para) -> bool:
    """`Transcriber's Note:`, `[Transcribers notes`, `Note from the contributer`, `Producer's Note.`"""
    first = para.lines[0].strip().lstrip("[(").strip() if para.lines else ""
    words = [m.group() for m in islice(_WORD.finditer(first), 5)]  # _words(first)[:5], not the whole line
    if not words:
        return False
    lowered = [w.lower() for w in words]
    starts = lowered[0] in ("note", "notes", "a", "the") or bool(_fuzzy(words[0], _PRODUCER_WORDS, 0.78))
    if not starts:
        return False
    has_note = any(w in ("by", "from") for w in lowered) or any(_fuzzy(w, _NOTE_WORDS, 0.75) for w in words)
    return has_note and any(_fuzzy(w, _PRODUCER_WORDS, 0.78) for w in words)


_NOT_LETTER = re.compile(r"[^A-Za-zÀ-ÖØ-öø-ÿ]+")
_NOT_UPPER = re.compile(r"[^A-ZÀ-ÖØ-Þ]+")


def is_heading(para: Para) -> bool:
    """A heading: one or two short lines, mostly capitals, not a signature of initials."""
    if len(para.text) > 160:
        return False
    lines = para.lines
    if not 1 <= len(lines) <= 2 or max(len(line.strip()) for line in lines) > 70:
        return False
    text = " ".join(line.strip() for line in lines)
    if INITIALS.match(text):
        return False
    letters = len(_NOT_LETTER.sub("", text))  # counted in C, not character by character
    return letters >= 4 and len(_NOT_UPPER.sub("", text)) >= 0.7 * letters


def _heading_words(para: Para) -> list[str]:
    return [w.lower().strip("'’") for w in _words(" ".join(para.lines))]


def section_heading(para: Para) -> bool:
    if not is_heading(para):
        return False
    words = [w for w in _heading_words(para) if w not in ("the", "a", "an", "to", "of")]
    if not 0 < len(words) <= 12:
        return False
    if any(w.startswith("editor") for w in words):  # "GENERAL EDITOR", "ADVISORY EDITORS", "EDITOR'S NOTE"
        return True
    first = words[1:2] if words[0] in _QUALIFIERS and len(words) > 1 else words[:1]  # "CRITICAL INTRODUCTION"
    return any(_fuzzy(w, _SECTION_WORDS, 0.82) for w in first)


def opens_section(para: Para) -> bool:
    """A heading followed by its own text: an introduction, preface or note, or a table of contents
    (not a line of a title page such as "WITH INTRODUCTION AND NOTES")."""
    return (section_heading(para) or contents_heading(para)) and not _MODERN_TITLE_LINE.search(para.text)


_MODERN_TITLE_LINE = re.compile(r"^\s*(?:with|edited|and)\b", re.I)


def contents_heading(para: Para) -> bool:
    if not is_heading(para):
        return False
    words = _heading_words(para)
    return 0 < len(words) <= 6 and any(_fuzzy(w, _CONTENTS_WORDS, 0.8) for w in words) and \
        not any(w in ("index",) for w in words[1:2])


def notes_heading(para: Para) -> bool:
    if not is_heading(para):
        return False
    words = _heading_words(para)
    return 0 < len(words) <= 5 and any(w in _NOTES_HEADING for w in words[:2])
