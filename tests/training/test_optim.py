"""london_llm.training.optim: AdamW groups and the learning-rate schedule."""
from __future__ import annotations

import pytest
import torch

from london_llm.training.model import build_model
from london_llm.training.optim import learning_rate, make_optimizer
from london_llm.settings import TrainConfig


SMALL = TrainConfig(n_layer=1, n_head=2, n_embd=16, max_length=8, vocab_size=100, batch_size=2,
                    max_steps=100, warmup_steps=10, learning_rate=1e-3, min_lr_ratio=0.1)


def test_weight_decay_only_on_matrices_and_embeddings():
    model = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0)
    opt = make_optimizer(model, SMALL, torch.device("cpu"))
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == SMALL.weight_decay and no_decay["weight_decay"] == 0.0
    assert all(p.dim() >= 2 for p in decay["params"]) and all(p.dim() == 1 for p in no_decay["params"])
    ids = {id(p) for g in opt.param_groups for p in g["params"]}
    assert len(ids) == len(list(model.parameters()))  # every parameter once, tied weight included
    assert model.transformer.wte.weight in decay["params"]


def test_schedule_warms_up_linearly_then_decays_by_cosine_to_the_floor():
    lrs = [learning_rate(s, SMALL, 100) for s in range(101)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert lrs[10] == pytest.approx(1e-3)
    assert lrs[55] == pytest.approx(1e-4 + 0.5 * 9e-4)  # half-way through the decay
    assert lrs[100] == pytest.approx(1e-4)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
