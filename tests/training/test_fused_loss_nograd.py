"""The fused output-projection loss: same value and gradients as cross-entropy over full logits, and
no gradient work at all under torch.no_grad() (evaluation)."""
from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from london_llm.training.fused_loss import CausalLMLoss, linear_cross_entropy
from london_llm.training.model import build_model
from london_llm.settings import TrainConfig


def _inputs(n=96, d=16, vocab=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    hidden = torch.randn(n, d, generator=g, requires_grad=True)
    weight = torch.nn.Parameter(torch.randn(vocab, d, generator=g) * 0.1)
    targets = torch.randint(0, vocab, (n,), generator=g)
    return hidden, weight, targets


def test_matches_cross_entropy_over_full_logits_value_and_gradients():
    hidden, weight, targets = _inputs()
    ours = linear_cross_entropy(hidden, weight, targets)
    ours.backward()
    gh, gw = hidden.grad.clone(), weight.grad.clone()
    hidden.grad = weight.grad = None
    plain = torch.nn.functional.cross_entropy(hidden @ weight.t(), targets)
    plain.backward()
    torch.testing.assert_close(ours, plain, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(gh, hidden.grad, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(gw, weight.grad, rtol=1e-4, atol=1e-6)


def _flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def test_no_grad_does_only_the_forward_matmul():
    # the weight requires grad (a model's parameter), as in evaluation: ctx.needs_input_grad says True
    # for it even under no_grad, which used to build the gradient and run both backward matmuls
    hidden, weight, targets = _inputs(n=512, d=32, vocab=1000)
    forward_only = 2 * 512 * 32 * 1000
    with torch.no_grad():
        flops = _flops(lambda: linear_cross_entropy(hidden, weight, targets))
    assert flops == forward_only
    # with gradients on, the same call does the two gradient matmuls as well (the test can fail)
    assert _flops(lambda: linear_cross_entropy(hidden, weight, targets)) == 3 * forward_only


def test_no_grad_allocates_no_tokens_by_vocabulary_buffer(monkeypatch):
    import london_llm.training.fused_loss as fused

    hidden, weight, targets = _inputs(n=512, d=32, vocab=4000)
    sizes = []
    real_empty = torch.empty

    def recording_empty(*args, **kwargs):
        out = real_empty(*args, **kwargs)
        sizes.append(out.numel())
        return out

    monkeypatch.setattr(fused.torch, "empty", recording_empty)
    monkeypatch.setattr(fused, "CHUNK_ELEMENTS", 64 * 4000)  # several chunks of 64 rows
    monkeypatch.setattr(fused, "CHUNK_ELEMENTS_FP32", 64 * 4000)
    with torch.no_grad():
        linear_cross_entropy(hidden, weight, targets)
    assert all(s < 512 * 4000 for s in sizes)
    with torch.enable_grad():
        linear_cross_entropy(hidden, weight, targets)
    assert max(sizes) == 512 * 4000  # the gradient buffer exists only when a gradient is wanted


def test_model_evaluation_under_no_grad_builds_no_graph():
    cfg = TrainConfig(n_layer=1, n_head=2, n_embd=16, max_length=8, vocab_size=100, batch_size=2)
    model = CausalLMLoss(build_model(cfg, 100, 0, 0, seed=0)).eval()
    x = torch.randint(0, 100, (2, 8))
    with torch.no_grad():
        loss = model(x, x)
    assert loss.grad_fn is None and torch.isfinite(loss)
    vocab = model.lm.lm_head.weight.shape[0]
    with torch.no_grad():
        flops = _flops(lambda: model(x, x))
    with torch.enable_grad():
        with_grad = _flops(lambda: model(x, x))
    assert with_grad - flops == 2 * (2 * 16 * 16 * vocab)  # the head's two gradient matmuls, only with grad
