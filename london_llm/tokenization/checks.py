"""Measurements and checks on a tokenizer: exact round trips, special-token hygiene, compression.

They take any encoder with `encode(text) -> ids` and `decode(ids) -> text` callables, so the same
checks run on the transformers tokenizer, the backend `tokenizers.Tokenizer`, and the comparison.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence

Encode = Callable[[str], list[int]]
Decode = Callable[[list[int]], str]

# Text the training data is unlikely to hold: typography of old print, accents in both Unicode
# normal forms, scripts and symbols far from English, control characters and odd whitespace.
UNSEEN_TEXTS = (
    "Mrs. Pepys's ſtrange ſuſpicion of the ﬁne ﬂower: Æsop, œconomy, & ye olde ſhoppe.",
    "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 vs Cafe\u0301 nai\u0308ve (composed vs decomposed accents)",
    "Windows line\r\nendings\r\n\r\nand a lone\rcarriage return, tabs\tand\u000bvertical tab, nul \x00 byte",
    "   leading spaces, trailing spaces   \n\n\n\n  and   runs    of  spaces  ",
    "\u0394\u03b9\u03bf\u03b3\u03ad\u03bd\u03b7\u03c2 \u00b7 \u041c\u043e\u0441\u043a\u0432\u0430 \u00b7 \u4f26\u6566 \u00b7 "
    "\u0644\u0646\u062f\u0646 \u00b7 \U0001F3F0\U0001F451\u200d\U0001F9D1 \u00b7 \U0001D50F\U0001D51E\U0001D52B\U0001D521\U0001D52C\U0001D52B",
    "\u00a3 5 s. 6 d. \u2014 \u2018quoted\u2019 \u201cdouble\u201d \u2026 \u00bd \u2153 \u2020 \u2021 \u00a7 \u00b6 \ufeffBOM mid-text",
    "zero\u200bwidth\u200cjoiners\u2060and soft\u00adhyphen, private use \ue000, noncharacter \ufffe",
    "",
    " ",
    "\n",
)


def first_difference(a: str, b: str) -> Optional[int]:
    """Index of the first character where a and b differ (None when equal)."""
    if a == b:
        return None
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


@dataclass
class RoundTripFailure:
    label: str
    position: int
    expected: str
    got: str

    def __str__(self) -> str:
        p = self.position
        return (f"{self.label}: differs at character {p}: expected {self.expected[max(0, p - 20):p + 20]!r}, "
                f"got {self.got[max(0, p - 20):p + 20]!r}")


def round_trip_failures(encode: Encode, decode: Decode,
                        labelled_texts: Iterable[tuple[str, str]]) -> list[RoundTripFailure]:
    failures = []
    for label, text in labelled_texts:
        got = decode(encode(text))
        position = first_difference(text, got)
        if position is not None:
            failures.append(RoundTripFailure(label, position, text, got))
    return failures


def special_token_problems(encode: Encode, token_to_id: Callable[[str], Optional[int]],
                           special_tokens: Sequence[str]) -> list[str]:
    """Each special token must have one id, and text containing its string must never produce it."""
    problems = []
    ids = {}
    for token in special_tokens:
        token_id = token_to_id(token)
        if token_id is None:
            problems.append(f"{token} has no id")
        else:
            ids[token] = token_id
    special_ids = set(ids.values())
    for token in special_tokens:
        for text in (token, f"text {token} text", f"{token}{token}\n{token}"):
            leaked = special_ids.intersection(encode(text))
            if leaked:
                problems.append(f"ordinary text {text!r} produced special id(s) {sorted(leaked)}")
    return problems


@dataclass
class Compression:
    chars: int
    words: int
    tokens: int

    @property
    def chars_per_token(self) -> float:
        return self.chars / self.tokens if self.tokens else 0.0

    @property
    def tokens_per_word(self) -> float:
        return self.tokens / self.words if self.words else 0.0

    def as_dict(self) -> dict:
        return {"chars": self.chars, "words": self.words, "tokens": self.tokens,
                "chars_per_token": round(self.chars_per_token, 3),
                "tokens_per_word": round(self.tokens_per_word, 3)}


def compression(encode_batch: Callable[[list[str]], list[list[int]]], texts: Sequence[str]) -> Compression:
    """Characters per token and tokens per whitespace-separated word over `texts`."""
    tokens = sum(len(ids) for ids in encode_batch(list(texts)))
    return Compression(chars=sum(len(t) for t in texts), words=sum(len(t.split()) for t in texts), tokens=tokens)
