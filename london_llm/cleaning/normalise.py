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

import numpy as np

LONG_S_MODES = ("normalise", "keep")
_LIGATURES = {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st", "ſ": "s"}
# Invisible or typesetting-only characters: zero-width joiners (Standard Ebooks' word joiner
# before dashes), soft hyphen, BOMs left in the middle of text, EEBO's ▪.
_INVISIBLE = {c: "" for c in "\u200b\u200c\u200d\u2060\ufeff\u00ad▪"}


class _CharMap:
    """Replace single characters by strings with one C-speed str.replace per character present;
    str.translate walks every character of a megabyte text through Python dict lookups, and a
    regex substitution calls back into Python for every match (every apostrophe)."""

    def __init__(self, mapping: dict[str, str]):
        self.mapping = mapping

    def __call__(self, text: str) -> str:
        for old, new in self.mapping.items():
            if old in text:
                text = text.replace(old, new)
        return text


_LIGATURE_TABLE = _CharMap(_LIGATURES)
_INVISIBLE_TABLE = _CharMap(_INVISIBLE)
_BLANKS = re.compile(r"\n{3,}")
_TAG_SPACING = [(f" {p}", p) for p in ",;:.!?)]"] + [(f"{p} ", p) for p in "(["]


def apply_long_s(text: str, mode: str = "normalise") -> str:
    if mode not in LONG_S_MODES:
        raise ValueError(f"long_s must be one of {', '.join(LONG_S_MODES)}, not {mode!r}")
    text = _INVISIBLE_TABLE(text)
    return _LIGATURE_TABLE(text) if mode == "normalise" else text


# Every character str.isspace() (and so str.split()) calls whitespace except " " and "\n": ASCII
# ones, then the rest (tests/cleaning/test_fast_paths.py checks the list against Unicode).
ODD_ASCII_SPACE = ("\t", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")
ODD_OTHER_SPACE = ("\x85", "\xa0", "\u1680", *map(chr, range(0x2000, 0x200B)), "\u2028", "\u2029", "\u202f",
                   "\u205f", "\u3000")
_UNTIDY = ("  ", " \n", "\n ", "\n\n\n")


def _is_tidy(text: str) -> bool:
    """True when tidy_whitespace would return `text` unchanged (most texts reach it tidy already):
    a dozen C-speed substring tests instead of splitting and joining every line."""
    if not text or text[0].isspace() or text[-1].isspace():
        return False
    if any(s in text for s in _UNTIDY) or any(c in text for c in ODD_ASCII_SPACE):
        return False
    return text.isascii() or not any(c in text for c in ODD_OTHER_SPACE)


def tidy_whitespace(text: str) -> str:
    """Single spaces, no trailing or leading spaces on lines, at most one blank line in a row.

    str.split() per line (C speed; it knows tabs and no-break spaces) instead of regexes that
    start with a space, which Python's engine tries at every one of a text's spaces.
    """
    if _is_tidy(text):
        return text
    text = "\n".join(" ".join(line.split()) for line in text.split("\n"))
    return _BLANKS.sub("\n\n", text).strip()


def fix_tag_spacing(text: str) -> str:
    """Remove the space that markup boundaries leave before punctuation (`Oliver Smith ,`).

    Expects single spaces (collapse first); plain replacements run at C speed. The mark alone is
    looked for first: a one-character search (memchr) settles most absent pairs faster.
    """
    for old, new in _TAG_SPACING:
        if new in text and old in text:
            text = text.replace(old, new)
    return text


def collapse_inline(text: str) -> str:
    """All whitespace runs -> one space (for markup text where line breaks are layout only)."""
    return " ".join(text.split())


# Folding for dedup: apostrophes vanish (kiss'd / kiss’d / kissd), ligature letters spelt out.
_FOLD = {"'": "", "’": "", "‘": "", "ʼ": "", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ſ": "s",
         "ø": "o", "Ø": "O", "þ": "th", "ð": "d"}
_FOLD_TABLE = _CharMap(_FOLD)


# Byte table: ASCII letters lower-cased, digits kept, every other byte a space.
_ALNUM_BYTES = bytes(b + 32 if 65 <= b <= 90 else b if 97 <= b <= 122 or 48 <= b <= 57 else 32
                     for b in range(256))


_NUMPY_COLLAPSE = 2048  # bytes: below this the split/join is the faster of the two (numpy's call overhead)


def _collapse_spaces(data: bytes) -> bytes:
    """b" ".join(data.split()) for bytes whose only whitespace is b" ": a space is kept where the byte
    before it is not one (the first of each run), then the one space a run at the end leaves is
    stripped. In numpy, about three times faster than splitting a long text into words."""
    if len(data) < _NUMPY_COLLAPSE:
        return b" ".join(data.split())
    array = np.frombuffer(data, dtype=np.uint8)
    space = array == 32
    keep = ~space
    keep[1:] |= keep[:-1].copy()
    return array[keep].tobytes().strip(b" ")


def ascii_fold(text: str) -> str:
    """Lower-case ASCII letters and digits only, one space between words (for dedup hashing).

    The ASCII, Latin-1 and UTF-8 files of one Gutenberg book fold to (almost) the same string.
    Speed: pure-ASCII text (most of the corpus) skips NFKD; then one bytes.translate and a C-level
    collapse of the spaces, about ten times faster than a regex substitution of every non-word run.
    """
    if text.isascii():
        data = text.replace("'", "").encode("ascii")
    else:
        data = unicodedata.normalize("NFKD", _FOLD_TABLE(text)).encode("ascii", "ignore")
    return _collapse_spaces(data.translate(_ALNUM_BYTES)).decode("ascii")
