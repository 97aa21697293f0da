"""Batches prepared ahead (as on CUDA) are the same batches, and the saved data position is that of
the batches handed out, so a resumed run takes the same ones."""
from __future__ import annotations

import numpy as np
import torch

from london_llm.training.batches import EpochBatches
from london_llm.training.prefetch import DevicePrefetcher

CPU = torch.device("cpu")


def source(seed=3):
    tokens = np.arange(4000, dtype=np.uint16) % 1000
    return EpochBatches(tokens, block_size=16, batch_size=4, seed=seed)


def test_prefetching_ahead_hands_out_the_same_batches_as_reading_directly():
    plain, ahead = source(), DevicePrefetcher(source(), CPU, ahead=True)
    for _ in range(100):  # several epochs
        x0, y0 = plain.next_batch()
        x1, y1 = ahead.next_batch()
        assert torch.equal(x0, x1) and torch.equal(y0, y1)
    assert ahead.epoch_progress == plain.epoch_progress


def test_the_saved_position_is_that_of_the_batches_handed_out():
    ahead = DevicePrefetcher(source(), CPU, ahead=True)
    for _ in range(7):
        ahead.next_batch()
    state = ahead.state_dict()
    expected = [ahead.next_batch() for _ in range(5)]
    resumed = DevicePrefetcher(source(), CPU, ahead=True)
    resumed.load_state_dict(state)
    for x, y in expected:
        rx, ry = resumed.next_batch()
        assert torch.equal(x, rx) and torch.equal(y, ry)
    assert resumed.batches_per_epoch == source().batches_per_epoch  # the source's attributes pass through


def test_on_the_cpu_nothing_is_read_ahead():
    batches = source()
    prefetcher = DevicePrefetcher(batches, CPU)
    assert not prefetcher.ahead
    prefetcher.next_batch()
    assert prefetcher.state_dict() == batches.state_dict()
