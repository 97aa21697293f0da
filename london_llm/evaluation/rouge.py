"""ROUGE-1/2/L between generated and true continuations, with text normalised for period print.

rouge-score's default tokenizer lower-cases and replaces every character outside [a-z0-9] with a
space, so "ſeaſon" becomes "eaon" and "café" becomes "caf": period text loses words. We normalise
first (long s to s, ligatures opened, accents folded, curly quotes straightened, lower case) and
tokenize into words ourselves, keeping period spellings as they are (no stemming: "shew" stays
"shew"). rouge-score is called directly (evaluate.load would need the Hub).
"""
from __future__ import annotations

import re
import unicodedata
from typing import Sequence

from london_llm.evaluation.stats import mean_stderr

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
_FOLD = str.maketrans({"ſ": "s", "ﬅ": "st", "ﬆ": "st", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe",
                       "ß": "ss", "þ": "th", "Þ": "th", "ð": "th", "\u2019": "'", "\u2018": "'", "ꝑ": "p"})
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")


def normalise(text: str) -> str:
    """Long s, ligatures and accents folded to plain letters, lower case; spelling otherwise kept."""
    text = unicodedata.normalize("NFKC", text).translate(_FOLD)  # NFKC opens ﬁ/ﬂ; ſ survives it
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text.lower()


class PeriodTokenizer:
    """The tokenizer interface rouge-score expects (`tokenize(text) -> list[str]`)."""

    def tokenize(self, text: str) -> list[str]:
        return _TOKEN.findall(normalise(text))


def rouge_scores(predictions: Sequence[str], references: Sequence[str]) -> dict[str, list[float]]:
    """Per-pair F-measures for rouge1, rouge2 and rougeL."""
    from rouge_score import rouge_scorer

    if len(predictions) != len(references):
        raise ValueError("predictions and references differ in number")
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), tokenizer=PeriodTokenizer())
    out: dict[str, list[float]] = {t: [] for t in ROUGE_TYPES}
    for pred, ref in zip(predictions, references):
        scores = scorer.score(ref, pred)  # rouge-score takes (target, prediction)
        for t in ROUGE_TYPES:
            out[t].append(scores[t].fmeasure)
    return out


def summarise(per_pair: dict[str, list[float]]) -> dict[str, tuple[float, float, int]]:
    return {t: (*mean_stderr(v), len(v)) for t, v in per_pair.items()}
