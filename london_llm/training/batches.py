"""Training batches from pretokenized uint16 token files: epochs without replacement, resumable.

The token stream is cut into non-overlapping windows of block_size + 1 tokens (window i starts at
i * block_size; x = w[:-1], y = w[1:]). Each epoch visits the windows in a seeded permutation.
The position is global (windows consumed this epoch by all ranks together): rank r of N takes
perm[pos + r*B : pos + (r+1)*B], then pos += N*B. So N ranks with batch B consume exactly the
global batches of one rank with batch N*B, and a run resumed under another world size goes on
from the same place.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Optional

import numpy as np
import torch

STATE_FORMAT = 1


def count_windows(n_tokens: int, block_size: int) -> int:
    """Non-overlapping windows of block_size + 1 tokens that start at multiples of block_size."""
    return max(0, (n_tokens - 1) // block_size)


def _gather(tokens: np.ndarray, window_ids: np.ndarray, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    starts = window_ids.astype(np.int64) * block_size
    rows = np.asarray(tokens[starts[:, None] + np.arange(block_size + 1)], dtype=np.int64)
    return torch.from_numpy(rows[:, :-1].copy()), torch.from_numpy(rows[:, 1:].copy())


def fingerprint(tokens: np.ndarray, samples: int = 64, span: int = 256) -> str:
    """A cheap identity of a token file: its length and evenly spaced slices of it, hashed."""
    digest = hashlib.blake2b(str(len(tokens)).encode(), digest_size=16)
    for start in np.linspace(0, max(0, len(tokens) - span), samples, dtype=np.int64):
        digest.update(np.ascontiguousarray(tokens[start:start + span]).tobytes())
    return digest.hexdigest()


class EpochBatches:
    """Seeded epochs over the windows of `tokens`; see the module docstring for the layout."""

    def __init__(self, tokens: np.ndarray, block_size: int, batch_size: int, seed: int,
                 rank: int = 0, world_size: int = 1):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside world size {world_size}")
        if block_size <= 0 or batch_size <= 0:
            raise ValueError("block_size and batch_size must be positive")
        self.tokens = tokens
        self.block_size = block_size
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.windows_per_epoch = count_windows(len(tokens), block_size)
        if self.windows_per_epoch < self.global_batch:
            raise ValueError(
                f"the training data holds {len(tokens):,} tokens: {self.windows_per_epoch} windows of "
                f"{block_size + 1} tokens, fewer than one global batch ({batch_size} x {world_size} processes). "
                f"Use more documents, a smaller --batch_size or a shorter --max_length.")
        self.epoch = 0
        self.position = 0
        self._fingerprint = fingerprint(tokens)
        self._perm: Optional[np.ndarray] = None
        self._perm_epoch = -1

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.world_size

    @property
    def batches_per_epoch(self) -> int:
        """Global batches in one epoch; the last windows that do not fill one wait for a later epoch."""
        return self.windows_per_epoch // self.global_batch

    @property
    def epoch_progress(self) -> float:
        """Epochs done, as a float: 1.0 once the last full global batch of the first epoch is taken."""
        usable = self.batches_per_epoch * self.global_batch
        return self.epoch + min(1.0, self.position / usable)

    def permutation(self, epoch: int) -> np.ndarray:
        if epoch != self._perm_epoch:
            # int32 halves the memory of a large corpus' permutation; the order is the same as int64's
            index_type = np.int32 if self.windows_per_epoch < 2**31 else np.int64
            windows = np.arange(self.windows_per_epoch, dtype=index_type)
            self._perm = np.random.default_rng((self.seed, epoch)).permutation(windows)
            self._perm_epoch = epoch
        return self._perm

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y), each int64 (batch_size, block_size) on the CPU: this rank's share of the next global batch."""
        if self.position + self.global_batch > self.windows_per_epoch:
            self.epoch += 1
            self.position = 0
        start = self.position + self.rank * self.batch_size
        window_ids = self.permutation(self.epoch)[start:start + self.batch_size]
        self.position += self.global_batch
        return _gather(self.tokens, window_ids, self.block_size)

    def state_dict(self) -> dict:
        return {"format": STATE_FORMAT, "epoch": self.epoch, "position": self.position, "seed": self.seed,
                "windows": self.windows_per_epoch, "block_size": self.block_size, "tokens": len(self.tokens),
                "fingerprint": self._fingerprint, "global_batch": self.global_batch}

    def load_state_dict(self, state: dict) -> None:
        """Continue where `state` left off, under any batch size or world size; refuse other data."""
        expected = {"format": STATE_FORMAT, "block_size": self.block_size, "tokens": len(self.tokens),
                    "windows": self.windows_per_epoch, "fingerprint": self._fingerprint, "seed": self.seed}
        differing = [f"{k} {state.get(k)!r} (now {v!r})" for k, v in expected.items() if state.get(k) != v]
        if differing:
            raise ValueError(
                "the saved data position belongs to other training data or settings: "
                + ", ".join(differing) + ". Resume with the pretokenized data, max_length and seed the "
                "checkpoint was trained with, or start fresh.")
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])


def validation_batches(tokens: np.ndarray, block_size: int, batch_size: int, max_batches: int,
                       rank: int = 0, world_size: int = 1) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The same batches on every call: up to `max_batches` global batches of windows spread evenly
    over the whole validation stream (so every kind in it counts), this rank's share of each."""
    windows = count_windows(len(tokens), block_size)
    if windows < world_size:
        raise ValueError(f"the validation data holds {len(tokens):,} tokens, fewer than one window of "
                         f"{block_size + 1} per process; raise --val_fraction or shorten --max_length")
    batch_size = min(batch_size, windows // world_size)  # a small validation set still gives a batch
    global_batch = batch_size * world_size
    n_batches = min(max_batches, windows // global_batch)
    chosen = (np.arange(n_batches * global_batch, dtype=np.int64) * windows) // (n_batches * global_batch)
    out = []
    for b in range(n_batches):
        start = b * global_batch + rank * batch_size
        out.append(_gather(tokens, chosen[start:start + batch_size], block_size))
    return out
