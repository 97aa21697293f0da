"""Baselines beside every metric, so a number means something.

- chance: uniform guessing (1/number of choices; bits per byte of a uniform distribution over the
  tokenizer's vocabulary);
- unigram: each token's frequency in the run's training tokens (train.bin, add-one smoothed),
  context ignored - what a model that learned only word frequencies would score;
- untrained: a model of the same shape with fresh random weights (seeded), run through the same
  harness tasks as the checkpoint.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from london_llm.evaluation.errors import EvaluationError

LN2 = math.log(2)


class Unigram:
    """log2 probabilities of the training tokens' unigram distribution over a vocabulary."""

    def __init__(self, counts: np.ndarray):
        counts = counts.astype(np.float64) + 1.0  # add-one: no token is impossible
        self.log2p = np.log2(counts / counts.sum())
        self.tokens = int(counts.sum() - len(counts))

    @classmethod
    def from_train_bin(cls, data_dir: Path, vocab_size: int, max_tokens: int = 200_000_000) -> "Unigram":
        path = Path(data_dir) / "train.bin"
        if not path.is_file():
            raise EvaluationError(f"{path} not found: the unigram baseline counts the run's training tokens")
        ids = np.memmap(path, dtype="<u2", mode="r")
        ids = ids[:max_tokens]
        counts = np.bincount(ids, minlength=vocab_size)[:vocab_size] if len(ids) else np.zeros(vocab_size)
        return cls(counts)

    def bits(self, ids: Sequence[int]) -> float:
        return float(-self.log2p[np.asarray(ids, dtype=np.int64)].sum()) if len(ids) else 0.0


def encode_text(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False).input_ids


def continuation_ids(tokenizer, context: str, choice: str, delimiter: str = " ") -> list[int]:
    """The choice's tokens as the harness splits them: encode(context + continuation) after
    encode(context), with the context's trailing spaces moved to the continuation; an empty
    context scores the whole continuation."""
    continuation = delimiter + choice
    if not context:
        return encode_text(tokenizer, continuation)
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = encode_text(tokenizer, context + continuation)
    return whole[len(encode_text(tokenizer, context)):]


def unigram_mc(unigram: Unigram, tokenizer, questions: list[dict]) -> dict[str, list[float]]:
    """Per-question acc / acc_norm (0 or 1) of the unigram model, in the harness's convention."""
    acc, acc_norm = [], []
    for q in questions:
        lls = [-unigram.bits(continuation_ids(tokenizer, q["context"], c)) * LN2 for c in q["choices"]]
        norm = [ll / max(1, len(c)) for ll, c in zip(lls, q["choices"])]
        acc.append(float(int(np.argmax(lls)) == q["answer"]))
        acc_norm.append(float(int(np.argmax(norm)) == q["answer"]))
    return {"acc": acc, "acc_norm": acc_norm}


def chance_mc(questions: list[dict]) -> float:
    return sum(1 / len(q["choices"]) for q in questions) / len(questions)


def uniform_bits_per_token(vocab_size: int) -> float:
    return math.log2(vocab_size)


def untrained_model(like, seed: int):
    """A GPT-2 of the same configuration with freshly initialised weights (deterministic per seed)."""
    import torch
    from transformers import GPT2LMHeadModel

    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = GPT2LMHeadModel(like.config)
    finally:
        torch.random.set_rng_state(state)
    return model.to(device=like.device, dtype=like.dtype).eval()


def real_vocab_size(model, tokenizer) -> int:
    return int(getattr(model.config, "tokenizer_vocab_size", None) or len(tokenizer))


def passages_tokens(tokenizer, texts: Sequence[str]) -> list[list[int]]:
    return [encode_text(tokenizer, t) for t in texts]


def optional_unigram(data_dir: Optional[Path], vocab_size: int) -> Optional[Unigram]:
    if data_dir is None or not (Path(data_dir) / "train.bin").is_file():
        return None
    return Unigram.from_train_bin(Path(data_dir), vocab_size)
