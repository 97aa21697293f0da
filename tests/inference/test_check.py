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


def test_a_corrupt_or_truncated_val_bin_is_an_error_not_missing_data(tmp_path):
    model = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0).eval()
    cpu = torch.device("cpu")
    assert validation_loss(model, tmp_path / "nowhere", 8, 2, 2, cpu) is None  # truly absent: None
    (tmp_path / "val.bin").write_bytes(np.arange(64, dtype="<u2").tobytes()[:-1])  # cut mid-token
    with pytest.raises(ckpt.CheckpointError, match="val.bin is unusable.*not whole uint16 tokens"):
        validation_loss(model, tmp_path, 8, 2, 2, cpu)
    (tmp_path / "val.bin").write_bytes(b"")
    with pytest.raises(ckpt.CheckpointError, match="val.bin is unusable"):
        validation_loss(model, tmp_path, 8, 2, 2, cpu)
    # whole tokens, but fewer than the pretokenizer wrote
    (tmp_path / "metadata.json").write_text('{"splits": {"val": {"tokens": 64}}}')
    (tmp_path / "val.bin").write_bytes(np.arange(40, dtype="<u2").tobytes())
    with pytest.raises(ckpt.CheckpointError, match="holds 40 tokens, its metadata.json says 64"):
        validation_loss(model, tmp_path, 8, 2, 2, cpu)


def test_the_checkpoint_script_exits_2_on_a_truncated_val_bin(tmp_path):
    import subprocess
    import sys

    from conftest import REPO
    from london_llm.training import rng
    from london_llm.training.optim import make_optimizer

    tok = _tagged_tokenizer(tmp_path / "tok")
    from transformers import AutoTokenizer

    model = build_model(SMALL, vocab_size=len(AutoTokenizer.from_pretrained(str(tok))), bos_id=0, eos_id=0)
    data = tmp_path / "data"
    data.mkdir()
    (data / "val.bin").write_bytes(np.arange(64, dtype="<u2").tobytes()[:-1])
    opt = make_optimizer(model, SMALL, torch.device("cpu"))
    ckpt.save_checkpoint(tmp_path / "ckpts", 3, model=model, optimizer_state={"optimizer": opt.state_dict()},
                         rng_states=[rng.capture()], trainer_state={"config": SMALL.to_dict()},
                         tokenizer_dir=tok, log=lambda m: None)
    run = subprocess.run([sys.executable, str(REPO / "04_training" / "test_checkpoint_slm.py"), "--checkpoints_dir",
                          str(tmp_path / "ckpts"), "--data_dir", str(data), "--prompt", "x", "--max_new_tokens", "2"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "val.bin is unusable" in run.stderr and "no held-out data" not in run.stdout + run.stderr


def _tagged_tokenizer(out):
    """A small real tokenizer whose documents carried kind and period tags."""
    import json

    from london_llm.tokenization.training import train_tokenizer

    docs = out.parent / "docs.jsonl"
    text = "The prisoner was indicted for stealing a silver watch, the goods of John Smith. " * 40
    rows = [{"id": f"d{i}", "source": "test", "kind": kind, "year": year, "title": "t", "text": text,
             "url": "", "sha256": str(i)} for i, (kind, year) in enumerate([("book", 1760), ("trial", 1820)] * 3)]
    docs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return train_tokenizer(docs, out, vocab_size=400, show_progress=False)
