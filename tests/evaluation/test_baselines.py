"""Baselines by hand."""
from __future__ import annotations

import math

import pytest


def test_unigram_baseline_by_hand(tmp_path):
    import numpy as np

    from london_llm.evaluation.baselines import Unigram, chance_mc, uniform_bits_per_token

    np.array([1, 1, 2], dtype="<u2").tofile(tmp_path / "train.bin")
    u = Unigram.from_train_bin(tmp_path, vocab_size=4)  # add-one counts 1, 3, 2, 1 of 7
    assert u.bits([1]) == pytest.approx(math.log2(7 / 3))
    assert u.bits([0, 3]) == pytest.approx(2 * math.log2(7))
    assert u.tokens == 3
    assert chance_mc([{"choices": ["a", "b"]}, {"choices": ["a", "b", "c", "d"]}]) == pytest.approx(0.375)
    assert uniform_bits_per_token(1024) == 10
