"""checkpoint_check.validation_loss on held-out data that does not fit the checkpoint: one clear error."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from london_llm.training import checkpoint as ckpt
from london_llm.inference.check import validation_loss
from london_llm.training.model import build_model
from london_llm.settings import TrainConfig

SMALL = TrainConfig(n_layer=1, n_head=2, n_embd=16, max_length=8, vocab_size=100, batch_size=2)


def test_validation_data_from_another_tokenizer_or_too_short_is_a_checkpoint_error(tmp_path):
    model = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0).eval()
    vocab = 100  # the tokenizer's; the embedding is padded to 128
    (tmp_path / "val.bin").write_bytes(np.arange(64, dtype="<u2").tobytes())
    assert validation_loss(model, tmp_path, 8, 2, 2, torch.device("cpu")) > 0
    (tmp_path / "val.bin").write_bytes(np.full(64, vocab + 5, dtype="<u2").tobytes())
    with pytest.raises(ckpt.CheckpointError, match="val.bin holds token ids up to .*--data_dir"):
        validation_loss(model, tmp_path, 8, 2, 2, torch.device("cpu"))
    (tmp_path / "val.bin").write_bytes(np.arange(4, dtype="<u2").tobytes())
    with pytest.raises(ckpt.CheckpointError, match="val.bin: .*--data_dir"):
        validation_loss(model, tmp_path, 8, 2, 2, torch.device("cpu"))
