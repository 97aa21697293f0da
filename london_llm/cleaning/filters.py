"""Document filters. Each returns True when a document must be removed; the build counts them.

  too_short     a fragment: a document under `min_chars` characters or `min_words` words that is not
                a complete record (fewer than `min_record_words` words; or cut mid-sentence, its last
                character no sentence end; or, for a trial, no verdict or sentence in it). Brevity
                alone removes nothing: "Bridget Floyd, was indicted for stealing a riding Hood, but
                was acquitted." is a whole trial and is kept.
  out_of_range  a known year outside [min_year, max_year]
  not_english   more Latin/French/German/Dutch function words than English ones, or (long
                texts) too few English function words (period spellings included)
  ocr_garbage   too little of the text is made of plausible words
Thresholds were set on ../shared/corpus: every real English document there scores well clear
of them (see docs/data_cleaning.md); Latin, French and OCR noise fall below.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import repeat
from typing import Optional

# Function words of English from 1500 to 1913, with period forms (vnto, hath, doth, thee, ye).
_FUNCTION_WORDS = frozenset("""
a an the and or but nor of to in on at by for from with without into upon unto vnto as than then that this
these those there here where when which who whom whose what why how not no yes all any some every each
i me my mine we us our you your ye thou thee thy thine he him his she her it its they them their
is are was were be been being am hath has have had doth does did do shall should will would may might must
can could so if also very such being said same other own after before about against between through
""".split())
# Function words of the other languages met in these sources (Latin, French, German, Dutch);
# words shared with English ("in", "a", "die") are left out.
_FOREIGN_WORDS = frozenset("""
et est non ad cum quod sed qui quae ut per ex sunt enim autem vel atque nec ab esse eius hoc
le la les des du une que dans pour pas sur avec ce cette sont mais nous vous il ils elle leur
der und das ist nicht ein eine zu den mit sich auf dem des auch es von sie ich
het een van niet zijn voor ook maar wij
""".split())
_TOKEN = re.compile(r"[a-zà-ÿ]+")
_SAMPLE = 20_000  # characters examined from the start, middle and end of long documents


@dataclass(frozen=True)
class FilterSettings:
    min_year: int = 1500
    max_year: int = 1913
    min_chars: int = 100
    min_words: int = 20
    min_record_words: int = 3  # the shortest complete record ("Guilty." alone is a fragment)
    min_english: float = 0.05  # share of tokens that are English function words (long texts)
    min_wordiness: float = 0.70  # share of non-space characters inside plausible words


def _sample(text: str) -> str:
    if len(text) <= 3 * _SAMPLE:
        return text
    mid = len(text) // 2
    return text[:_SAMPLE] + " " + text[mid:mid + _SAMPLE] + " " + text[-_SAMPLE:]


@dataclass(frozen=True)
class TextStats:
    """What the filters look at, measured in one tokenisation of (a sample of) the text."""

    chars: int
    words: int
    english: float  # share of tokens that are English function words
    foreign: float  # share that are Latin/French/German/Dutch function words
    wordiness: float  # share of non-space characters inside letter tokens
    ends_sentence: bool = True  # the last character closes a sentence (. ! ? or a bracket/quote after one)
    verdict: bool = True  # (short texts only) a verdict or sentence is named


# The end of a complete sentence: terminal punctuation, then any closing quotes or brackets.
_SENTENCE_END = re.compile(r"[.!?][\"'’”)\]]*\s*$")
# What closes a trial record: a verdict, a plea, a sentence, or the prosecution's failing.
_VERDICT = re.compile(r"\b(?:guilty|acquit|discharg|transport|death|imprison|confin|fined?\b|whipp|brand|hang|"
                      r"pardon|respit|recogni[sz]|sentence|judgment|no evidence|not prosecuted|no prosecutor|"
                      r"bill (?:was )?ignored|ignoramus|penal servitude|hard labour)", re.I)
_SHORT_CHARS = 2_000  # verdicts and sentence ends are looked for only in texts this short


# Latin-1 bytes of the letters _TOKEN matches (a-z, à-ÿ) kept, every other byte a space.
_LETTER_BYTES = bytes(b if 97 <= b <= 122 or 224 <= b <= 255 else 32 for b in range(256))


def _lowered_letters() -> bytes:
    """_LETTER_BYTES after lower-casing: for Latin-1 text, translating its bytes through this table is
    translating the bytes of text.lower(). Made from str.lower itself, so it cannot disagree with it
    (every Latin-1 character lower-cases to one Latin-1 character)."""
    lowered = [chr(b).lower() for b in range(256)]
    assert all(len(c) == 1 and ord(c) < 256 for c in lowered)
    return bytes(_LETTER_BYTES[ord(c)] for c in lowered)


_LOWERED_LETTER_BYTES = _lowered_letters()
# English function words count 1 and foreign ones 1 << 32, so one pass of dict lookups counts both
# (a sample has far fewer than 2**32 tokens); a word in both lists would count in both.
_WEIGHTS = {w.encode("ascii"): (w in _FUNCTION_WORDS) + ((w in _FOREIGN_WORDS) << 32)
            for w in _FUNCTION_WORDS | _FOREIGN_WORDS}
_LOW32 = (1 << 32) - 1


def _letters(sample: str) -> bytes:
    """The lower-cased sample as Latin-1 bytes with every byte _TOKEN cannot match a space; its
    split() is _TOKEN's matches: one encode and translate, in C, several times faster than the
    regex. Exact: every character the pattern can match is Latin-1, and any other character
    becomes "?" (not a letter) in the encoding of the lower-cased text. Latin-1 text (nearly all)
    skips the lower-casing: the table does it."""
    try:
        return sample.encode("latin-1").translate(_LOWERED_LETTER_BYTES)
    except UnicodeEncodeError:  # lower() first: U+212A, the Kelvin sign, lower-cases to the letter k
        return sample.lower().encode("latin-1", "replace").translate(_LETTER_BYTES)


def _tidy_words(text: str) -> int:
    """len(text.split()) for a text tidy_whitespace leaves unchanged (its only whitespace single spaces
    and newlines, none at either end, no line of spaces, at most one blank line in a row): the
    spaces plus the lines that are not blank, counted without making a list of the words."""
    if not text:
        return 0
    return text.count(" ") + text.count("\n") + 1 - text.count("\n\n")


def measure(text: str, tidy: bool = False) -> TextStats:
    """`tidy`: the caller knows text == normalise.tidy_whitespace(text) (the words are then counted
    faster, to the same number)."""
    sample = _sample(text)
    letters = _letters(sample)
    tokens = letters.split()
    nonspace = len(sample) - sample.count(" ") - sample.count("\n")
    n = len(tokens) or 1
    short = len(text) <= _SHORT_CHARS
    # a trial's verdict is at its end: looked for there first (search from `pos` sees the real
    # text before it, so \b is judged as in a search of the whole text)
    verdict = bool(_VERDICT.search(text, max(0, len(text) - 400)) or _VERDICT.search(text)) if short else True
    weights = sum(map(_WEIGHTS.get, tokens, repeat(0)))  # counted in C
    return TextStats(chars=len(text), words=_tidy_words(text) if tidy else len(text.split()),
                     english=(weights & _LOW32) / n, foreign=(weights >> 32) / n,
                     # the letters in tokens: every byte of `letters` that is not a space
                     wordiness=(len(letters) - letters.count(b" ")) / nonspace if nonspace > 0 else 0.0,
                     ends_sentence=bool(_SENTENCE_END.search(text[-40:])) if short else True,
                     verdict=verdict)


def english_score(text: str) -> float:
    return measure(text).english


def wordiness(text: str) -> float:
    return measure(text).wordiness


def _stats(text_or_stats) -> TextStats:
    return text_or_stats if isinstance(text_or_stats, TextStats) else measure(text_or_stats)


def too_short(text, s: FilterSettings, kind: Optional[str] = None) -> bool:
    """A fragment (see the module doc); a short but complete record is not too short."""
    m = _stats(text)
    if m.chars >= s.min_chars and m.words >= s.min_words:
        return False
    if m.words < s.min_record_words or not m.ends_sentence:
        return True
    return kind == "trial" and not m.verdict


def out_of_range(year: Optional[int], s: FilterSettings) -> bool:
    return year is not None and not s.min_year <= year <= s.max_year


def not_english(text, s: FilterSettings) -> bool:
    """More foreign than English function words; or, in a long text, almost no English ones.

    Telegraphic English (`JOHN BARRY (25), PLEADED GUILTY to uttering counterfeit coin`) has few
    function words, so a low English share alone only counts in texts of 200 words or more.
    """
    m = _stats(text)
    if m.foreign > m.english:
        return True
    return m.english < s.min_english and m.words >= 200


def ocr_garbage(text, s: FilterSettings) -> bool:
    return _stats(text).wordiness < s.min_wordiness
