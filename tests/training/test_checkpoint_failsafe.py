"""Checkpoint writing and pruning: strict JSON, ordinary permissions, honest pruning that never
removes the newest finite or the best checkpoint."""
from __future__ import annotations

import json
import os
import stat

import pytest
import torch

from london_llm.training import checkpoint as ckpt
from london_llm.training import rng
from london_llm.jsonl import strict_dumps
from london_llm.training.model import build_model
from london_llm.training.optim import make_optimizer
from london_llm.settings import TrainConfig

SMALL = TrainConfig(n_layer=1, n_head=2, n_embd=16, max_length=8, vocab_size=100, batch_size=2, max_steps=100)


def strict_load(text: str):
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def model():
    return build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0, seed=0)


def save(root, step, model, state, limit=0, log=None):
    opt = make_optimizer(model, SMALL, torch.device("cpu"))
    return ckpt.save_checkpoint(root, step, model=model, optimizer_state={"optimizer": opt.state_dict()},
                                rng_states=[rng.capture()], trainer_state=dict(state, config={}),
                                tokenizer_dir=None, save_total_limit=limit,
                                log=log if log is not None else (lambda m: None))


def write_diverged(root, step, model):
    """A checkpoint as a diverged run used to write it: bare NaN in trainer_state.json."""
    path = save(root, step, model, {"last_val_loss": 1.0})
    state = json.loads((path / ckpt.TRAINER_STATE).read_text())
    state.update(last_val_loss=float("nan"), metrics={"train/loss": float("nan")})
    (path / ckpt.TRAINER_STATE).write_text(json.dumps(state))  # python's default: bare NaN
    return path


def test_trainer_state_and_manifest_are_strict_json(tmp_path, model):
    path = save(tmp_path, 5, model, {"last_val_loss": float("nan"), "metrics": {"train/loss": float("inf"),
                                                                                 "train/lr": 1e-3}})
    state = strict_load((path / ckpt.TRAINER_STATE).read_text())
    assert state["last_val_loss"] is None and state["metrics"] == {"train/loss": None, "train/lr": 1e-3}
    strict_load((path / ckpt.MANIFEST).read_text())
    assert strict_dumps([float("-inf"), (1.5, float("nan"))]) == "[null, [1.5, null]]"


def test_every_file_of_a_checkpoint_gets_the_same_ordinary_permissions(tmp_path, model):
    path = save(tmp_path, 5, model, {})
    modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in path.iterdir()}
    umask = os.umask(0)
    os.umask(umask)
    assert set(modes.values()) == {0o666 & ~umask}, modes
    assert modes[ckpt.WEIGHTS] & stat.S_IRGRP or umask & stat.S_IRGRP


def test_pruning_never_removes_the_newest_finite_or_the_best_checkpoint(tmp_path, model):
    save(tmp_path, 10, model, {"last_val_loss": 2.0, "last_val_step": 10})
    save(tmp_path, 20, model, {"last_val_loss": 1.5, "last_val_step": 20})  # the best
    save(tmp_path, 30, model, {"last_val_loss": 1.8, "last_val_step": 30})  # the newest finite
    for step in (40, 50):
        write_diverged(tmp_path, step, model)
    messages = []
    removed = ckpt.prune(tmp_path, keep=1, log=messages.append)
    left = [i.step for i in ckpt.list_checkpoints(tmp_path)]
    assert left == [20, 30, 50], left
    assert sorted(ckpt.step_of(p) for p in removed) == [10, 40]
    assert sum("Deleted" in m for m in messages) == 2


def test_a_failed_deletion_is_reported_not_claimed(tmp_path, model, monkeypatch):
    for step in (10, 20, 30):
        save(tmp_path, step, model, {})

    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(ckpt.shutil, "rmtree", refuse)
    messages = []
    assert ckpt.prune(tmp_path, keep=1, log=messages.append) == []
    assert not any(m.startswith("Deleted") for m in messages)
    assert sum("could not delete" in m and "Permission denied" in m for m in messages) == 2
    assert [i.step for i in ckpt.list_checkpoints(tmp_path)] == [10, 20, 30]
