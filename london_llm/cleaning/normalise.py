"""Character and spacing normalisation shared by every parser.

Long-s and ligature rule (option `long_s`):
  "normalise" (default): ſ -> s, and the typographic ligatures ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ -> their letters
      (what a modern reader and a tokenizer expect; the spelling itself is untouched, so æ, œ,
      vnto, Iohn stay as printed).
  "keep": leave ſ and the ligatures as keyed (for a diplomatic corpus).
EEBO-TCP's `▪` (a keyed punctuation glyph of uncertain value) and the zero-width/soft
characters that typesetting leaves behind are removed in both modes.
"""
from __future__ import annotations

import re
import unicodedata

LONG_S_MODES = ("normalise", "keep")
_LIGATURES = {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st", "ſ": "s"}
# Invisible or typesetting-only characters: zero-width joiners (Standard Ebooks' word joiner
# before dashes), soft hyphen, BOMs left in the middle of text, EEBO's ▪.
_INVISIBLE = {c: "" for c in "\u200b\u200c\u200d\u2060\ufeff\u00ad▪"}
_NBSP = {"\u00a0": " ", "\u2009": " ", "\u202f": " ", "\t": " "}


class _CharMap:
    """Replace single characters by strings. A compiled character class finds them at C speed;
    str.translate would walk every character of a megabyte text through Python dict lookups."""

    def __init__(self, mapping: dict[str, str]):
        self.mapping = mapping
        self.pattern = re.compile("[" + re.escape("".join(mapping)) + "]")

    def __call__(self, text: str) -> str:
        return self.pattern.sub(lambda m: self.mapping[m.group()], text)


_LIGATURE_TABLE = _CharMap(_LIGATURES)
_INVISIBLE_TABLE = _CharMap(_INVISIBLE)
_NBSP_TABLE = _CharMap(_NBSP)
_SPACES = re.compile(r"[ ]{2,}")
_TRAILING = re.compile(r"[ ]+\n")
_LEADING = re.compile(r"\n[ ]+")
_BLANKS = re.compile(r"\n{3,}")
_SPACE_BEFORE_PUNCT = re.compile(r" +([,;:.!?)\]])")
_SPACE_AFTER_OPEN = re.compile(r"([(\[]) +")


def apply_long_s(text: str, mode: str = "normalise") -> str:
    if mode not in LONG_S_MODES:
        raise ValueError(f"long_s must be one of {', '.join(LONG_S_MODES)}, not {mode!r}")
    text = _INVISIBLE_TABLE(text)
    return _LIGATURE_TABLE(text) if mode == "normalise" else text


def tidy_whitespace(text: str) -> str:
    """Single spaces, no trailing or leading spaces on lines, at most one blank line in a row."""
    text = _NBSP_TABLE(text)
    text = _SPACES.sub(" ", text)
    text = _TRAILING.sub("\n", text)
    text = _LEADING.sub("\n", text)
    text = _BLANKS.sub("\n\n", text)
    return text.strip()


def fix_tag_spacing(text: str) -> str:
    """Remove the space that markup boundaries leave before punctuation (`Oliver Smith ,`)."""
    return _SPACE_AFTER_OPEN.sub(r"\1", _SPACE_BEFORE_PUNCT.sub(r"\1", text))


def collapse_inline(text: str) -> str:
    """All whitespace runs -> one space (for markup text where line breaks are layout only)."""
    return " ".join(text.split())


# Folding for dedup: apostrophes vanish (kiss'd / kiss’d / kissd), ligature letters spelt out.
_FOLD = {"'": "", "’": "", "‘": "", "ʼ": "", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ſ": "s",
         "ø": "o", "Ø": "O", "þ": "th", "ð": "d"}
_FOLD_TABLE = _CharMap(_FOLD)


def ascii_fold(text: str) -> str:
    """Lower-case ASCII letters and digits only, one space between words (for dedup hashing).

    The ASCII, Latin-1 and UTF-8 files of one Gutenberg book fold to (almost) the same string.
    """
    folded = unicodedata.normalize("NFKD", _FOLD_TABLE(text))
    folded = folded.encode("ascii", "ignore").decode("ascii").lower()
    return " ".join(re.findall(r"[a-z0-9]+", folded))
