"""The dated lexicon of anachronisms (05_evaluation/tasks/data/lexicon.jsonl) and the count of its
words in generated text.

An entry: {"term": "telephone", "year": 1876, "kind": "word"|"phrase"|"sense"|"name",
"note": "...", "source": "...", "exact_case": true?}. `year` is when the word (or, for kind
"sense", this sense of an older word) came into use. A term found in a text is an anachronism
when its year is after the text's reference year (the model's cutoff, 1913, unless the prompt
says otherwise). Matching is on whole words: lower-case terms match in any capitalisation unless
`exact_case` is set; terms with capitals (names) match exactly as written.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from london_llm.evaluation.errors import EvaluationError

CUTOFF_YEAR = 1913
KINDS = ("word", "phrase", "sense", "name")
_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'\u2019][A-Za-z0-9]+)*")  # e-mail, don't: one word each


@dataclass(frozen=True)
class Entry:
    term: str
    year: int
    kind: str
    note: str
    source: str
    exact_case: bool = False


@dataclass(frozen=True)
class Hit:
    term: str
    year: int
    start: int
    kind: str = "word"

    @property
    def definite(self) -> bool:
        """False for a "sense" entry: a whole-word match cannot tell the later sense from the older
        one ("the computers of the Navy Board" were clerks), so such a hit is only a possible one."""
        return self.kind != "sense"


def read_lexicon(path: Path) -> list[Entry]:
    entries: list[Entry] = []
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvaluationError(f"cannot read the lexicon {path}: {exc}") from None
    for line_no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            entry = Entry(term=str(raw["term"]), year=int(raw["year"]), kind=str(raw["kind"]),
                          note=str(raw.get("note", "")), source=str(raw.get("source", "")),
                          exact_case=bool(raw.get("exact_case", False)))
        except (ValueError, KeyError, TypeError) as exc:
            raise EvaluationError(f"{path} line {line_no}: not a lexicon entry ({exc})") from None
        if entry.kind not in KINDS or not entry.term.strip():
            raise EvaluationError(f"{path} line {line_no}: kind must be one of {', '.join(KINDS)} and term non-empty")
        entries.append(entry)
    if not entries:
        raise EvaluationError(f"the lexicon {path} is empty")
    return entries


class Matcher:
    """Finds lexicon terms in text: one compiled pattern for case-insensitive terms, one for the rest."""

    def __init__(self, entries: Iterable[Entry]):
        self.entries = list(entries)
        self.by_key: dict[str, Entry] = {}
        loose, exact = [], []
        for e in self.entries:
            is_exact = e.exact_case or e.term != e.term.lower()
            key = e.term if is_exact else e.term.lower()
            self.by_key.setdefault(key, e)
            (exact if is_exact else loose).append(e.term)
        self._loose = self._compile(loose, re.IGNORECASE)
        self._exact = self._compile(exact, 0)

    @staticmethod
    def _compile(terms: list[str], flags: int) -> Optional[re.Pattern]:
        if not terms:
            return None
        # longest first, so "motor car" wins over "car"; whole words only
        alternatives = "|".join(re.escape(t).replace(r"\ ", r"\s+") for t in sorted(set(terms), key=len, reverse=True))
        return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", flags)

    def find(self, text: str, reference_year: int = CUTOFF_YEAR) -> list[Hit]:
        """Terms in `text` whose year is after `reference_year`, in order of appearance."""
        hits: dict[int, Hit] = {}  # by start: a span both patterns match counts once
        for pattern, exact in ((self._exact, True), (self._loose, False)):
            if pattern is None:
                continue
            for m in pattern.finditer(text):
                found = re.sub(r"\s+", " ", m.group(0))
                entry = self.by_key.get(found if exact else found.lower())
                if entry is None and not exact:  # an exact-case term also matched loosely: skip
                    continue
                if entry is not None and entry.year > reference_year and m.start() not in hits:
                    hits[m.start()] = Hit(entry.term, entry.year, m.start(), entry.kind)
        return [hits[k] for k in sorted(hits)]


def count_words(text: str) -> int:
    return len(_WORD.findall(text))
