"""A step with a non-finite loss or gradient norm leaves weights and optimizer state untouched,
decided on the device (no host read)."""
from __future__ import annotations

import torch

from london_llm.training.optim import make_optimizer, step_unless_nonfinite
from london_llm.settings import TrainConfig

CFG = TrainConfig(n_layer=1, n_head=2, n_embd=16, max_length=8, vocab_size=100, batch_size=2, max_steps=10)


def setup():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    optimizer = make_optimizer(model, CFG, torch.device("cpu"))
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    return model, optimizer, scaler


def backward(model, poison=False):
    loss = model(torch.randn(5, 4)).pow(2).mean()
    if poison:
        loss = loss * float("nan")
    loss.backward()
    return loss


def test_a_nonfinite_step_is_skipped_and_a_finite_one_taken():
    model, optimizer, scaler = setup()
    assert all(g["fused"] for g in optimizer.param_groups)
    backward(model)
    assert step_unless_nonfinite(optimizer, scaler, torch.tensor(True))
    optimizer.zero_grad()
    before = [p.detach().clone() for p in model.parameters()]
    state = {k: v.clone() for k, v in optimizer.state[model.weight].items()}
    loss = backward(model, poison=True)
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    finite = torch.isfinite(loss) & torch.isfinite(norm)
    assert step_unless_nonfinite(optimizer, scaler, finite)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert all(torch.equal(state[k], optimizer.state[model.weight][k]) for k in state)  # step count too
    assert not hasattr(optimizer, "found_inf")
    optimizer.zero_grad()
    backward(model)
    step_unless_nonfinite(optimizer, scaler, torch.tensor(True))
    assert not torch.equal(before[0], model.weight) and torch.isfinite(model.weight).all()
    assert optimizer.state[model.weight]["step"].item() == 2


def test_an_unfused_optimizer_says_it_cannot_skip():
    model = torch.nn.Linear(4, 3)
    optimizer = torch.optim.AdamW(model.parameters(), foreach=True)
    backward(model)
    assert not step_unless_nonfinite(optimizer, torch.amp.GradScaler("cpu", enabled=False), torch.tensor(True))
