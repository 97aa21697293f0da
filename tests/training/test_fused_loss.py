"""london_llm.training.fused_loss: the chunked loss equals the plain one."""
from __future__ import annotations

import pytest
import torch

from london_llm.training.model import build_model
from london_llm.settings import TrainConfig


SMALL = TrainConfig(n_layer=1, n_head=2, n_embd=16, max_length=8, vocab_size=100, batch_size=2,
                    max_steps=100, warmup_steps=10, learning_rate=1e-3, min_lr_ratio=0.1)


@pytest.mark.parametrize("rows_per_chunk", [7, 10_000])
def test_fused_loss_matches_cross_entropy_over_the_logits(monkeypatch, rows_per_chunk):
    import torch.nn.functional as F

    from london_llm.training import fused_loss

    torch.manual_seed(0)
    vocab = 300
    monkeypatch.setattr(fused_loss, "CHUNK_ELEMENTS", rows_per_chunk * vocab)
    monkeypatch.setattr(fused_loss, "CHUNK_ELEMENTS_FP32", rows_per_chunk * vocab)
    hidden = torch.randn(50, 16, requires_grad=True)
    weight = (torch.randn(vocab, 16) * 0.3).requires_grad_()
    targets = torch.randint(0, vocab, (50,))
    expected = F.cross_entropy(hidden @ weight.t(), targets)
    grads = torch.autograd.grad(expected, (hidden, weight))
    loss = fused_loss.linear_cross_entropy(hidden, weight, targets)
    fused_grads = torch.autograd.grad(loss * 3, (hidden, weight))  # the incoming gradient is honoured
    assert loss.item() == pytest.approx(expected.item(), abs=1e-5)
    for a, b in zip(grads, fused_grads):
        torch.testing.assert_close(b, 3 * a, atol=1e-6, rtol=1e-5)
    with torch.no_grad():  # evaluation: the loss alone
        assert fused_loss.linear_cross_entropy(hidden, weight, targets).item() == pytest.approx(expected.item(), abs=1e-5)
    # under bf16 autocast (emulated where the CPU lacks bf16: slow, but the same maths): close to the
    # fp32 loss, gradients to bf16 precision
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = fused_loss.linear_cross_entropy(hidden, weight, targets)
    low_grads = torch.autograd.grad(low, (hidden, weight))
    assert low.dtype == torch.float32 and low.item() == pytest.approx(expected.item(), rel=2e-2)
    for a, b in zip(grads, low_grads):
        torch.testing.assert_close(b, a, atol=2e-3, rtol=5e-2)


def test_causal_lm_loss_equals_the_models_own_loss():
    from london_llm.training.fused_loss import CausalLMLoss

    model = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0, seed=1)
    ids = torch.randint(0, 100, (2, 8))
    x, y = ids[:, :-1], ids[:, 1:]
    hf = model(input_ids=ids, labels=ids).loss  # transformers shifts the labels itself
    assert CausalLMLoss(model)(x, y).item() == pytest.approx(hf.item(), abs=1e-5)


def test_a_target_far_below_the_rest_keeps_an_exact_finite_loss_and_nan_stays_nan():
    """A target whose probability underflows fp32 (a loss past ~87, as in a diverging run) must still
    give the exact finite loss and gradients, not inf or a rounded loss (a cheaper -log softmax[target]
    would); a NaN logit must give NaN for the non-finite guard, not a number."""
    import torch.nn.functional as F

    from london_llm.training.fused_loss import linear_cross_entropy

    torch.manual_seed(1)
    hidden = torch.randn(6, 8, requires_grad=True)
    weight = torch.randn(40, 8).requires_grad_()
    targets = torch.tensor([3, 3, 3, 7, 0, 39])  # repeated targets: their gradient rows add up
    with torch.no_grad():
        weight[3] = -30 * hidden[0] / hidden[0].norm()  # row 0's target logit ~ -30 |h| : p ~ 1e-70
    expected = F.cross_entropy(hidden @ weight.t(), targets, reduction="none")
    assert expected[0] > 100  # the case: exp(-loss) is 0 in fp32
    loss = linear_cross_entropy(hidden, weight, targets)
    assert torch.isfinite(loss) and loss.item() == pytest.approx(expected.mean().item(), rel=1e-6)
    grads = torch.autograd.grad(loss, (hidden, weight))
    plain = torch.autograd.grad(F.cross_entropy(hidden @ weight.t(), targets), (hidden, weight))
    for a, b in zip(plain, grads):
        torch.testing.assert_close(b, a, atol=1e-6, rtol=1e-5)
    with torch.no_grad():
        weight[5, 0] = float("nan")
        assert torch.isnan(linear_cross_entropy(hidden, weight, targets))
