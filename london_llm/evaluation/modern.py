"""Modern English passages for the period-versus-modern comparison, gathered offline.

The source is the one the tokenizer stage compares against (london_llm.tokenization.modern_english):
the Python standard library's own prose on this machine, modern technical English, the opposite
register to the corpus. Passages are cut and sampled like the held-out ones.
"""
from __future__ import annotations

import random

from london_llm.evaluation.heldout import Document, Passage, segments
from london_llm.tokenization.modern_english import SOURCE_DESCRIPTION, modern_english_sources


def modern_passages(n: int, max_chars: int, seed: int) -> list[Passage]:
    """n passages from sources drawn in a seeded order; only the sources drawn are read (reading
    every module's docstrings took 10-20 s of a quick run)."""
    rng = random.Random(seed)
    sources = modern_english_sources()
    rng.shuffle(sources)
    out: list[Passage] = []
    for name, read in sources:
        text = read()
        if len(text) < max_chars // 2:
            continue
        pieces = list(segments(Document(name, "modern", None, text), max_chars))
        if pieces:
            out.append(rng.choice(pieces))
        if len(out) >= n:
            break
    return out


def description() -> str:
    import sys

    return SOURCE_DESCRIPTION.format(version=".".join(map(str, sys.version_info[:3])))
