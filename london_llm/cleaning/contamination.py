"""Modern contamination: text that must never reach a corpus of period English.

Categories (each counted in the statistics):
  url        web addresses (`http://…`, `www.…`, `pgdp.net`)
  email      e-mail addresses
  licence    Project Gutenberg / licence / copyright boilerplate
  scanner    digitisation boilerplate (`Digitized by Google`, `Internet Archive`)
  editorial  modern editorial apparatus (transcriber's and producer's notes, illustration markers)
URLs and e-mail addresses are cut out of their line; a line with any other category is dropped.
The classes of editorial apparatus that `editorial.strip` removes from books (producer_note,
modern_title_page, contents, editor_text, footnote, footnote_marker) are counted beside these, and
`residue` finds the traces of every class left in a cleaned text, so the statistics can show that
none survived.
Speed: a Python regex with many alternatives is tried at every position of a 2 MB novel (about
a second). Every pattern contains one of a few literal TRIGGERS, so the lower-cased text is
scanned for those with str.find (C speed) and the regex runs only on the lines they fall in, and
only on those where an exact literal test (`_may_match`) says a match is possible. A cleaned text
whose source had no trigger is scanned again for the few triggers re-spacing can create only.
"""
from __future__ import annotations

import bisect
import re
from collections import Counter
from typing import Optional

from .editorial import CLASSES as EDITORIAL_CLASSES
from .editorial import residue as editorial_residue

PATTERNS = {
    "url": r"(?:https?://|ftp://|www\.)\S+|\b(?:[a-z0-9-]+\.)+(?:org|com|net|edu|gov|info|io)\b(?:/\S*)?",
    "email": r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b",
    "licence": r"project\s+gutenberg|gutenberg[- ]tm|\be-?texts?\b|\be-?books?\b|creative\s+commons|"
               r"\bcc[- ]by\b|all\s+rights\s+reserved|copyright\s+(?:\(c\)\s*)?(?:19|20)\d\d|"
               r"public\s+domain\s+(?:in\s+the\s+u|dedication|etext|ebook|work)|terms\s+of\s+use|"
               r"world\s+library,\s+inc",
    "scanner": r"digiti[sz]ed\s+(?:by|for|with)|internet\s+archive|google\s+books|with\s+funding\s+from|"
               r"scanned\s+(?:by|from|and\s+proofed)",
    "editorial": r"transcriber['’]?s?\s+notes?|\bhtml\b|\bpdf\b|\bmidi\b|^[ \t]*produced\s+by\b|proofreading\s+team|distributed\s+proofreaders|"
                 r"\[\s*illustration|\bthis\s+(?:e-?text|file)\s+(?:was|is)\s+(?:prepared|produced|made)",
}
_ANY = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in PATTERNS.items()), re.I | re.M)
_INLINE = ("url", "email")
CATEGORIES = tuple(PATTERNS) + EDITORIAL_CLASSES
_NEWLINE = re.compile("\n")


# Every match of PATTERNS contains one of these (lower-cased) literals.
TRIGGERS = ("://", "www.", ".org", ".com", ".net", ".edu", ".gov", ".info", ".io", "@", "gutenberg", "etext",
            "e-text", "ebook", "e-book", "commons", "cc-by", "cc by", "reserved", "copyright", "public domain", "terms of use", "library, inc",
            "digiti", "archive", "google", "funding", "scanned", "transcriber", "produced", "proofread",
            "illustration", "html", "pdf", "midi")
# The triggers a change of spacing alone can create ("public\tdomain" -> "public domain"): a text
# re-spaced (tidy_whitespace) from one with no trigger can hold only these.
SPACED_TRIGGERS = tuple(t for t in TRIGGERS if " " in t)


# What a match of each pattern must contain, lower-cased (a line without any cannot match): one per
# alternative, longer than the trigger where a trigger is a common word ("produced" counts only at
# a line's start, as `^produced by` needs it; "this file was made" needs "this" and "file").
_NEEDED = ("://", "www.", ".org", ".com", ".net", ".edu", ".gov", ".info", ".io", "@", "gutenberg", "etext",
           "e-text", "ebook", "e-book", "commons", "cc-by", "cc by", "reserved", "copyright", "domain", "terms",
           "library,", "digiti", "archive", "google", "funding", "scanned", "transcriber", "html", "pdf", "midi",
           "proofreading", "proofreaders", "illustration")


# The only characters that re.I lets match an ASCII letter besides its two cases (İ ı ſ K).
_FOLDS_TO_ASCII = ("\u0130", "\u0131", "\u017f", "\u212a")


def _may_match(line: str) -> bool:
    """False only when no pattern can match `line`: a cheap exact test before the regex, which is
    slow on long lines (a trial is a few long paragraphs, and "produced" is common in them).
    Exact because each needed literal is ASCII, and re.I matches an ASCII letter only as its two
    cases or one of _FOLDS_TO_ASCII (a line with one of those always goes to the regex)."""
    if not line.isascii() and any(c in line for c in _FOLDS_TO_ASCII):
        return True
    lowered = line.lower()
    if any(needed in lowered for needed in _NEEDED):
        return True
    if lowered.lstrip(" \t").startswith("produced"):
        return True
    return "this" in lowered and "file" in lowered  # (e-?text is needed above)


def suspect_lines(text: str, triggers: tuple = TRIGGERS) -> set[int]:
    """Indexes of the lines that contain a trigger (candidates for the full patterns)."""
    lowered = text.lower()
    starts: set[int] = set()
    for trigger in triggers:
        pos = lowered.find(trigger)
        while pos != -1:
            starts.add(lowered.rfind("\n", 0, pos) + 1)
            pos = lowered.find(trigger, pos + len(trigger))
    if not starts:
        return set()
    newlines = [m.start() for m in _NEWLINE.finditer(text)]
    return {bisect.bisect_left(newlines, start) for start in starts}


def find(text: str):
    """The first contamination match in `text`, or None."""
    for number in sorted(suspect_lines(text)):
        line = text.split("\n")[number]
        match = _ANY.search(line) if _may_match(line) else None
        if match:
            return match
    return None


def strip(text: str, suspects: Optional[set] = None) -> tuple[str, Counter]:
    """`text` without contamination, and the characters removed per category (`suspects`: its
    suspect_lines, when the caller has them)."""
    removed: Counter = Counter()
    if suspects is None:
        suspects = suspect_lines(text)
    if not suspects:
        return text, removed
    kept = []
    for number, line in enumerate(text.split("\n")):
        match = _ANY.search(line) if number in suspects and _may_match(line) else None
        if not match:
            kept.append(line)
            continue
        categories = {m.lastgroup for m in _ANY.finditer(line)}
        if categories <= set(_INLINE):
            for m in _ANY.finditer(line):
                removed[m.lastgroup] += len(m.group(0))
            line = _ANY.sub("", line)
            if line.strip(" .,;:()[]<>-"):
                kept.append(line)
            continue
        blame = next(c for c in CATEGORIES if c in categories and c not in _INLINE)
        removed[blame] += len(line) + 1
    return "\n".join(kept), removed


def residue(text: str, triggers: tuple = TRIGGERS) -> Counter:
    """Traces of every category left in a cleaned text: matches per contamination pattern, and the
    apparatus traces `editorial.residue` finds (an empty Counter for a clean text).

    `triggers`: fewer, when the caller knows no match can contain the others (clean.process_item:
    SPACED_TRIGGERS for a re-spaced text that had no trigger; none for the very text `strip` found
    no match in). Fewer scans of the text, the same result.
    """
    found: Counter = Counter()
    suspects = suspect_lines(text, triggers) if triggers else set()
    if suspects:
        lines = text.split("\n")
        for number in suspects:
            if not _may_match(lines[number]):
                continue
            for match in _ANY.finditer(lines[number]):
                found[match.lastgroup] += 1
    found.update(editorial_residue(text))
    return +found
