"""london_llm.training.rng: every random state saved and restored."""
from __future__ import annotations

import random

import numpy as np
import torch

from london_llm.training import rng


def test_rng_state_round_trips_through_weights_only_torch_files(tmp_path):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    state = rng.capture()
    torch.save(state, tmp_path / "rng.pt")
    expected = (random.random(), np.random.rand(), torch.rand(3))
    rng.restore(torch.load(tmp_path / "rng.pt", weights_only=True))
    assert (random.random(), np.random.rand()) == expected[:2] and torch.equal(torch.rand(3), expected[2])
