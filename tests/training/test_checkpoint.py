"""london_llm.training.checkpoint: save, verify, list, resolve, prune."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from london_llm.training import checkpoint as ckpt
from london_llm.training import rng
from london_llm.training.model import build_model
from london_llm.training.optim import make_optimizer
from london_llm.settings import TrainConfig


SMALL = TrainConfig(n_layer=1, n_head=2, n_embd=16, max_length=8, vocab_size=100, batch_size=2,
                    max_steps=100, warmup_steps=10, learning_rate=1e-3, min_lr_ratio=0.1)


def _save(root: Path, step: int, model, val=None, limit=0):
    opt = make_optimizer(model, SMALL, torch.device("cpu"))
    return ckpt.save_checkpoint(root, step, model=model, optimizer_state={"optimizer": opt.state_dict()},
                                rng_states=[rng.capture()], trainer_state={"last_val_loss": val, "last_val_step": step, "config": {}},
                                tokenizer_dir=None, save_total_limit=limit, log=lambda m: None)


def test_checkpoints_verify_list_resolve_and_prune(tmp_path):
    model = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0)
    for step in (10, 20, 30):
        _save(tmp_path, step, model, val=1.0 / step)
    assert [i.step for i in ckpt.list_checkpoints(tmp_path)] == [10, 20, 30]
    assert ckpt.verify(tmp_path / "checkpoint-30") is None
    assert ckpt.resolve(tmp_path, "checkpoint-20") == (tmp_path / "checkpoint-20").resolve()
    assert ckpt.resolve(tmp_path, "checkpoint-20.pt") == (tmp_path / "checkpoint-20").resolve()
    assert ckpt.resolve(tmp_path, str(tmp_path / "checkpoint-10.pt")) == (tmp_path / "checkpoint-10").resolve()
    with pytest.raises(ckpt.CheckpointNotFound, match="checkpoint-10, checkpoint-20, checkpoint-30") as caught:
        ckpt.resolve(tmp_path, "checkpoint-7465")
    assert "previous_runs" not in str(caught.value)
    # the guide's cure for an accidental fresh start: resume checkpoint-N by name, though it was set aside
    aside = tmp_path / "previous_runs" / "20261202-004717" / "checkpoint-7465"
    aside.mkdir(parents=True)
    for name in ("checkpoint-7465", "checkpoint-7465.pt"):
        with pytest.raises(ckpt.CheckpointNotFound, match=f"set it aside, not deleted, in {aside.parent}. "
                                                          f"Resume it with ./resume_training.sh {aside} "):
            ckpt.resolve(tmp_path, name)
    aside.rmdir()
    # one rule for a relative path: from the current folder, then from the artifact root; another model's
    # folder is never silently swapped in, and the message says where it looked
    relative = f"{tmp_path.name}/checkpoint-20.pt"
    assert ckpt.resolve(tmp_path, relative, home=tmp_path.parent) == (tmp_path / "checkpoint-20").resolve()
    with pytest.raises(ckpt.CheckpointNotFound, match=f"looked for {Path.cwd()}/elsewhere/checkpoint-20"):
        ckpt.resolve(tmp_path, "elsewhere/checkpoint-20.pt")
    with pytest.raises(ckpt.CheckpointNotFound, match="slm/checkpoint-20"):
        ckpt.resolve(tmp_path, "09_models/checkpoints/slm/checkpoint-20.pt", home=tmp_path)
    assert torch.load(tmp_path / "checkpoint-30" / "optimizer.pt", weights_only=True)["optimizer"]["param_groups"]
    # a truncated file and a missing manifest are both recognised; the newest good one is chosen
    weights = tmp_path / "checkpoint-30" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    assert "truncated" in ckpt.verify(tmp_path / "checkpoint-30")
    (tmp_path / "checkpoint-20" / "manifest.json").unlink()
    assert "interrupted" in ckpt.verify(tmp_path / "checkpoint-20")
    warnings = []
    assert ckpt.newest_good(tmp_path, log=warnings.append) == tmp_path / "checkpoint-10"
    assert len(warnings) == 2 and "checkpoint-30" in warnings[0]
    _save(tmp_path, 40, model, limit=2)
    assert [i.step for i in ckpt.list_checkpoints(tmp_path)] == [30, 40]
    assert not list(tmp_path.glob(".checkpoint-*"))  # no temporary folders left behind


def test_prune_keeps_the_checkpoint_just_written_and_the_one_resumed_from(tmp_path):
    # resuming checkpoint-10 while a newer checkpoint-30 exists, then saving checkpoint-15 with limit 1:
    # pruning by step alone would delete both the new checkpoint and the one resumed from
    model = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0)
    for step in (10, 20, 30):
        _save(tmp_path, step, model)
    opt = make_optimizer(model, SMALL, torch.device("cpu"))
    ckpt.save_checkpoint(tmp_path, 15, model=model, optimizer_state={"optimizer": opt.state_dict()},
                         rng_states=[rng.capture()], trainer_state={"config": {}}, tokenizer_dir=None,
                         save_total_limit=1, log=lambda m: None, protect=[tmp_path / "checkpoint-10"])
    steps = [i.step for i in ckpt.list_checkpoints(tmp_path)]
    assert 15 in steps and 10 in steps and 20 not in steps
    assert ckpt.verify(tmp_path / "checkpoint-15") is None


def test_a_malformed_manifest_is_reported_not_raised(tmp_path):
    model = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0)
    _save(tmp_path, 10, model)
    _save(tmp_path, 20, model)
    manifest = tmp_path / "checkpoint-20" / "manifest.json"
    for bad in ("[]", '{"format_version": 1, "files": ["model.safetensors"]}',
                '{"format_version": 1, "files": {"model.safetensors": {"bytes": "12"}}}'):
        manifest.write_text(bad, encoding="utf-8")
        assert "unreadable manifest.json" in ckpt.verify(tmp_path / "checkpoint-20")
        assert ckpt.newest_good(tmp_path, log=lambda m: None) == tmp_path / "checkpoint-10"


def test_the_guides_paths_files_and_other_folders(tmp_path, monkeypatch):
    # the guide runs `cd 04_training; python test_checkpoint_slm.py --checkpoint_path
    # 09_models/checkpoints/slm/checkpoint-N.pt`: a path ending in the model's own folder names its checkpoint
    root = tmp_path / "home" / "09_models" / "checkpoints" / "slm"
    model = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0)
    _save(root, 20, model)
    elsewhere = tmp_path / "home" / "04_training"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for name in ("09_models/checkpoints/slm/checkpoint-20.pt", "checkpoints/slm/checkpoint-20", "slm/checkpoint-20"):
        assert ckpt.resolve(root, name) == (root / "checkpoint-20").resolve()
    with pytest.raises(ckpt.CheckpointNotFound):  # another model's folder is still never swapped in
        ckpt.resolve(root, "09_models/checkpoints/tiny/checkpoint-20")
    # a file where a checkpoint folder is expected is named as a file, not "not found"
    page = tmp_path / "page.html"
    page.write_text("<html></html>", encoding="utf-8")
    with pytest.raises(ckpt.CheckpointNotFound, match=r"page.html is a file, not a checkpoint folder.*checkpoint-20"):
        ckpt.resolve(root, str(page))
    # some other folder is "not a training checkpoint", and the message never says to delete it
    corpus = tmp_path / "my_corpus"
    corpus.mkdir()
    assert "not a training checkpoint" in ckpt.verify(corpus)
    with pytest.raises(ckpt.CheckpointError) as err:
        ckpt.require_good(corpus)
    assert "not a training checkpoint" in str(err.value) and "delete" not in str(err.value)
    assert "interrupted" not in str(err.value)
    # a real checkpoint whose manifest is missing is still an interrupted save
    (root / "checkpoint-20" / "manifest.json").unlink()
    with pytest.raises(ckpt.CheckpointError, match="the save was interrupted.*delete it"):
        ckpt.require_good(root / "checkpoint-20")
