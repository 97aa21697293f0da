"""Prompts as training documents begin: `<|endoftext|>`, the conditioning tags, then the text.

Every training document starts with its kind tag and, when its date is known, its period tag
(london_llm.tags.document_tags). A prompt without them is out of distribution, so the default is
the kind `book` (novels and other books) with no period, when the model knows that tag; pass
kind="none" for no tag at all. Tags are only ever tokens: `split_prompt` turns the leading tags of
a prompt string back into ids, since the tokenizer encodes the text "<|kind:book|>" as characters.
"""
from __future__ import annotations

import re
from typing import Optional, Sequence

from london_llm import tags
from london_llm.inference.errors import InferenceError

DEFAULT_KIND = "book"
NO_TAG = ("none", "")
_LEADING_TAG = re.compile(r"<\|(?:kind|period):[^|<>]{1,40}\|>")


def known_kinds(known_tags: Sequence[str]) -> list[str]:
    return [t[len("<|kind:"):-2] for t in known_tags if t.startswith("<|kind:")]


def known_periods(known_tags: Sequence[str]) -> list[str]:
    return sorted(t[len("<|period:"):-2] for t in known_tags if t.startswith("<|period:"))


def describe_tags(known_tags: Sequence[str]) -> str:
    """The valid --kind and --period values, for --list_tags and for an error message."""
    if not known_tags:
        return "This model's tokenizer has no conditioning tags (prompts are used as given)."
    kinds = known_kinds(known_tags)
    lines = ["--kind (default: book when known, 'none' for no tag):"]
    lines += [f"  {k:<10} {tags.KINDS.get(k, '')}" for k in kinds]
    periods = known_periods(known_tags)
    lines.append("--period (or --year, any year inside one; default: none):")
    lines.append("  " + (", ".join(periods) if periods else "(none: the training documents had no dates)"))
    return "\n".join(lines)


def default_kind(known_tags: Sequence[str]) -> Optional[str]:
    kinds = known_kinds(known_tags)
    return DEFAULT_KIND if DEFAULT_KIND in kinds else None


def conditioning_tags(*, kind: Optional[str] = None, period: Optional[str] = None, year: Optional[int] = None,
                      known_tags: Sequence[str] = ()) -> list[str]:
    """The tag tokens for these choices, checked against the tags the tokenizer knows."""
    known = set(known_tags)
    chosen: list[str] = []
    if kind is None:
        kind = default_kind(known_tags)
    elif kind.strip().lower() in NO_TAG:
        kind = None
    if kind is not None:
        tag = f"<|kind:{kind.strip()}|>"
        if tag not in known:
            raise InferenceError(f"unknown --kind {kind!r} for this model. {describe_tags(known_tags)}")
        chosen.append(tag)
    if period is not None and year is not None:
        raise InferenceError("give --period or --year, not both")
    if year is not None:
        tag = tags.period_tag(year)
        if tag is None or tag not in known:
            raise InferenceError(f"--year {year} falls in no period this model knows. {describe_tags(known_tags)}")
        chosen.append(tag)
    elif period is not None and period.strip().lower() not in NO_TAG:
        value = period.strip()
        tag = f"<|period:{value}|>"
        if tag not in known and value.isdigit():  # "--period 1750" is the period starting (or holding) 1750
            tag = tags.period_tag(int(value)) or tag
        if tag not in known:
            raise InferenceError(f"unknown --period {period!r} for this model. {describe_tags(known_tags)}")
        chosen.append(tag)
    return chosen


def build_prompt(text: str, *, kind: Optional[str] = None, period: Optional[str] = None,
                 year: Optional[int] = None, known_tags: Sequence[str] = ()) -> str:
    """`<|kind:K|><|period:S-E|>text`; a value whose tag the tokenizer lacks raises InferenceError.
    A text that already begins with known tags keeps them and gets no default added."""
    if kind is None and period is None and year is None and split_prompt(text, known_tags)[0]:
        return text
    return "".join(conditioning_tags(kind=kind, period=period, year=year, known_tags=known_tags)) + text


def split_prompt(prompt: str, known_tags: Sequence[str]) -> tuple[list[str], str]:
    """(leading tag tokens the tokenizer knows, the rest of the text). Unknown tag-like text stays text."""
    known = set(known_tags)
    found: list[str] = []
    pos = 0
    while True:
        m = _LEADING_TAG.match(prompt, pos)
        if not m or m.group(0) not in known:
            break
        found.append(m.group(0))
        pos = m.end()
    return found, prompt[pos:]
