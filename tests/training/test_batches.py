"""The epoch sampler and token files: windows, epochs, ranks, resume, validation batches."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from london_llm.pretokenize.format import open_tokens
from london_llm.training.batches import EpochBatches, count_windows, validation_batches


def _tokens(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 60_000, size=n).astype("<u2")


def _window_index(x_row: torch.Tensor, tokens: np.ndarray, block: int) -> int:
    """Which window a row is: rows start at multiples of block_size (checked here)."""
    matches = [i for i in range(count_windows(len(tokens), block))
               if np.array_equal(tokens[i * block:(i + 1) * block], x_row.numpy())]
    assert len(matches) == 1
    return matches[0]


def test_open_tokens_memmaps_uint16_and_explains_problems(tmp_path):
    data = _tokens(1000)
    data.tofile(tmp_path / "train.bin")
    opened = open_tokens(tmp_path, "train")
    assert isinstance(opened, np.memmap) and opened.dtype == np.dtype("<u2")
    assert np.array_equal(opened, data)
    with pytest.raises(FileNotFoundError, match="val.bin.*--use_pretokenized"):
        open_tokens(tmp_path, "val")
    (tmp_path / "val.bin").write_bytes(b"\x01\x02\x03")
    with pytest.raises(ValueError, match="not whole uint16 tokens"):
        open_tokens(tmp_path, "val")
    (tmp_path / "val.bin").write_bytes(b"")
    with pytest.raises(ValueError, match="holds no tokens"):
        open_tokens(tmp_path, "val")
    with pytest.raises(ValueError, match="split"):
        open_tokens(tmp_path, "test")


def test_batches_are_shifted_windows_at_multiples_of_the_block():
    tokens, block = _tokens(16 * 10 + 1), 16
    batches = EpochBatches(tokens, block, 4, seed=1)
    assert batches.windows_per_epoch == 10
    x, y = batches.next_batch()
    assert x.shape == y.shape == (4, 16) and x.dtype == y.dtype == torch.int64
    assert x.is_contiguous() and y.is_contiguous()
    for row_x, row_y in zip(x, y):
        i = _window_index(row_x, tokens, block)
        assert np.array_equal(row_y.numpy(), tokens[i * block + 1:(i + 1) * block + 1])
    assert x.device.type == "cpu" and not x.is_pinned()  # the loop pins when it has a GPU


def test_an_epoch_takes_every_window_once_then_reshuffles():
    tokens, block = _tokens(8 * 24 + 1), 8
    batches = EpochBatches(tokens, block, 6, seed=3)
    epochs = []
    for _ in range(2):
        seen = [_window_index(row, tokens, block) for _ in range(4) for row in batches.next_batch()[0]]
        assert sorted(seen) == list(range(24))
        epochs.append(seen)
        assert batches.epoch_progress == pytest.approx(len(epochs))
    assert epochs[0] != epochs[1]
    assert batches.state_dict()["epoch"] == 1
    again = EpochBatches(tokens, block, 6, seed=3)
    assert [_window_index(r, tokens, block) for r in again.next_batch()[0]] == epochs[0][:6]
    # the documented order: numpy's seeded permutation of the window indices, epoch by epoch
    assert epochs[1][:6] == np.random.default_rng((3, 1)).permutation(24)[:6].tolist()
    other_seed = EpochBatches(tokens, block, 6, seed=4)
    assert [_window_index(r, tokens, block) for r in other_seed.next_batch()[0]] != epochs[0][:6]


def test_remainder_windows_wait_and_progress_counts_full_batches():
    tokens, block = _tokens(4 * 10 + 1), 4  # 10 windows, global batch 4: two batches per epoch
    batches = EpochBatches(tokens, block, 4, seed=0)
    assert batches.batches_per_epoch == 2
    batches.next_batch()
    assert batches.epoch_progress == pytest.approx(0.5)
    batches.next_batch()
    assert batches.epoch_progress == pytest.approx(1.0)
    batches.next_batch()
    assert (batches.epoch, batches.position) == (1, 4)


def test_ranks_together_take_the_single_process_global_batch_across_epochs():
    tokens, block, per_rank, world = _tokens(8 * 50 + 1, 5), 8, 3, 4
    single = EpochBatches(tokens, block, per_rank * world, seed=9)
    ranks = [EpochBatches(tokens, block, per_rank, seed=9, rank=r, world_size=world) for r in range(world)]
    for _ in range(12):  # 4 global batches per epoch: three epochs
        x1, y1 = single.next_batch()
        parts = [b.next_batch() for b in ranks]
        assert torch.equal(x1, torch.cat([p[0] for p in parts])) and torch.equal(y1, torch.cat([p[1] for p in parts]))
    assert {json.dumps(b.state_dict(), sort_keys=True) for b in ranks} == {json.dumps(single.state_dict(), sort_keys=True)}


def test_resume_continues_exactly_even_under_another_world_size():
    tokens, block = _tokens(8 * 40 + 1, 2), 8
    reference = EpochBatches(tokens, block, 4, seed=11)
    expected = [reference.next_batch()[0] for _ in range(25)]

    first = EpochBatches(tokens, block, 4, seed=11)
    got = [first.next_batch()[0] for _ in range(7)]
    state = json.loads(json.dumps(first.state_dict()))  # JSON-able, as a checkpoint stores it
    resumed = EpochBatches(tokens, block, 4, seed=11)
    resumed.load_state_dict(state)
    got += [resumed.next_batch()[0] for _ in range(18)]
    assert all(torch.equal(a, b) for a, b in zip(got, expected))

    # the same place, taken by two ranks with half the batch each
    halves = [EpochBatches(tokens, block, 2, seed=11, rank=r, world_size=2) for r in range(2)]
    for h in halves:
        h.load_state_dict(state)
    for i in range(7, 25):
        assert torch.equal(torch.cat([h.next_batch()[0] for h in halves]), expected[i])


def test_a_state_from_other_data_or_settings_is_refused():
    tokens = _tokens(8 * 40 + 1)
    state = EpochBatches(tokens, 8, 4, seed=1).state_dict()
    changed = tokens.copy()
    changed[len(tokens) // 2] ^= 1
    for other, words in [(EpochBatches(changed, 8, 4, seed=1), "fingerprint"),
                         (EpochBatches(tokens[:-8], 8, 4, seed=1), "tokens"),
                         (EpochBatches(tokens, 16, 4, seed=1), "block_size"),
                         (EpochBatches(tokens, 8, 4, seed=2), "seed")]:
        with pytest.raises(ValueError, match=f"other training data.*{words}"):
            other.load_state_dict(state)


def test_too_little_data_for_one_batch_is_explained():
    with pytest.raises(ValueError, match="fewer than one global batch"):
        EpochBatches(_tokens(8 * 5 + 1), 8, 4, seed=0, world_size=2)
    with pytest.raises(ValueError, match="rank"):
        EpochBatches(_tokens(100), 8, 2, seed=0, rank=2, world_size=2)


def test_validation_batches_are_fixed_spread_and_split_across_ranks():
    tokens, block = _tokens(8 * 100 + 1, 4), 8
    first = validation_batches(tokens, block, 5, max_batches=4)
    again = validation_batches(tokens, block, 5, max_batches=4)
    assert len(first) == 4 and all(torch.equal(a[0], b[0]) for a, b in zip(first, again))
    windows = [_window_index(r, tokens, block) for x, _ in first for r in x]
    assert len(set(windows)) == 20 and max(windows) >= 90  # the whole stream, not just its head
    for x, y in first:
        assert torch.equal(x[:, 1:], y[:, :-1])
    ranked = [validation_batches(tokens, block, 5, max_batches=4, rank=r, world_size=2) for r in range(2)]
    assert len(ranked[0]) == len(ranked[1]) == 4  # every rank the same number of batches (all-reduce)
    ranked_windows = {_window_index(r, tokens, block) for part in ranked for x, _ in part for r in x}
    assert len(ranked_windows) == 40


def test_small_validation_sets_still_give_equal_batches_per_rank():
    tokens = _tokens(8 * 3 + 1)
    batches = validation_batches(tokens, 8, 16, max_batches=10)
    assert len(batches) == 1 and batches[0][0].shape == (3, 8)
    per_rank = [validation_batches(tokens, 8, 16, max_batches=10, rank=r, world_size=2) for r in range(2)]
    assert [len(p) for p in per_rank] == [1, 1] and per_rank[0][0][0].shape == (1, 8)
    with pytest.raises(ValueError, match="raise --val_fraction"):
        validation_batches(_tokens(8), 8, 4, max_batches=2)


def test_real_pretokenized_text_reads_back_as_prose(small_documents, tmp_path: Path, tmp_path_factory):
    from london_llm.pretokenize.build import prepare_pretokenized
    from london_llm.tokenization.loading import load_backend_tokenizer
    from training_runs import shared_tokenizer

    tok_dir = shared_tokenizer(small_documents, tmp_path_factory.mktemp("tok"))  # the session's 1,024-token one
    out = prepare_pretokenized(small_documents, tok_dir, tmp_path / "pre", max_length=64, val_fraction=0.05,
                               seed=1, log=lambda m: None)
    batches = EpochBatches(open_tokens(out, "train"), 64, 8, seed=1)
    x, _ = batches.next_batch()
    text = load_backend_tokenizer(tok_dir).decode(x[0].tolist())
    assert len(text) > 100 and sum(c.isalpha() for c in text) > 0.5 * len(text)
    val = validation_batches(open_tokens(out, "val"), 64, 8, max_batches=3)
    assert len(val) == 3
