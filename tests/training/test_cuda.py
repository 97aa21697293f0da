"""The CUDA paths, run by bench/gpu_check.sh on a machine with a GPU (skipped elsewhere): native bf16,
fused AdamW, TF32, flash attention, a compiled training step without host syncs."""
from __future__ import annotations

import pytest
import torch

from london_llm.training.fused_loss import CausalLMLoss
from london_llm.training.model import build_model, whole_sequence_attention
from london_llm.training.optim import make_optimizer
from london_llm.training.precision import choose_precision
from london_llm.settings import TrainConfig
from london_llm.training.loop import optimizer_step
from transformers_eager_reads import quiet_transformers_eager_checks

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (bench/gpu_check.sh)")

CFG = TrainConfig(n_layer=2, n_head=4, n_embd=128, max_length=128, vocab_size=4096, batch_size=4,
                  max_steps=10, learning_rate=1e-3)
DEVICE = torch.device("cuda", 0)


def small_model():  # with the attention the trainer gives it (causal SDPA without a mask, compiled too)
    return whole_sequence_attention(build_model(CFG, CFG.vocab_size, 0, 0, seed=0)).to(DEVICE).train()


def batches():
    g = torch.Generator().manual_seed(0)
    while True:
        row = torch.randint(0, CFG.vocab_size, (CFG.batch_size, CFG.max_length + 1), generator=g)
        yield row[:, :-1].contiguous(), row[:, 1:].contiguous()


def test_precision_on_this_card_is_native_bf16_or_fp16_with_a_scaler():
    precision = choose_precision(DEVICE, "auto")
    major, _ = torch.cuda.get_device_capability(DEVICE)
    assert precision.name == ("bf16" if major >= 8 else "fp16")
    assert precision.needs_grad_scaler == (major < 8)
    assert torch.backends.cuda.matmul.allow_tf32


def test_optimizer_is_fused_adamw():
    optimizer = make_optimizer(small_model(), CFG, DEVICE)
    assert optimizer.defaults.get("fused") is True


def test_attention_runs_on_the_flash_kernel():
    from torch.nn.attention import SDPBackend, sdpa_kernel

    precision = choose_precision(DEVICE, "auto")
    model = CausalLMLoss(small_model())
    x, y = (t.to(DEVICE) for t in next(batches()))
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION]), precision.autocast():  # raises if flash cannot run
        loss = model(x, y)
    loss.backward()
    assert torch.isfinite(loss)


@pytest.mark.parametrize("compiled", [False, True])
def test_a_training_step_makes_no_host_sync(compiled, monkeypatch):
    precision = choose_precision(DEVICE, "auto")
    raw = small_model()
    if not compiled:  # transformers' own two reads per eager forward, which compiling skips
        quiet_transformers_eager_checks(monkeypatch, raw)
    model = CausalLMLoss(raw)
    model = torch.compile(model) if compiled else model
    optimizer = make_optimizer(raw, CFG, DEVICE)
    scaler = precision.grad_scaler()
    data = batches()
    for _ in range(3):  # warm-up: compilation and allocations may sync
        optimizer_step(model, raw, optimizer, scaler, lambda: next(data), precision, 2, 1.0, DEVICE)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(3):
            loss, norm = optimizer_step(model, raw, optimizer, scaler, lambda: next(data), precision, 2, 1.0, DEVICE)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert torch.isfinite(loss) and torch.isfinite(norm)


def test_prefetched_batches_arrive_on_the_gpu_unchanged_and_without_a_host_sync():
    import numpy as np

    from london_llm.training.batches import EpochBatches
    from london_llm.training.prefetch import DevicePrefetcher

    tokens = np.arange(20000, dtype=np.uint16) % 4096
    plain = EpochBatches(tokens, 64, 4, seed=1)
    ahead = DevicePrefetcher(EpochBatches(tokens, 64, 4, seed=1), DEVICE)
    assert ahead.ahead
    ahead.next_batch()  # the first copy (allocations)
    torch.cuda.synchronize()
    expected = [plain.next_batch() for _ in range(11)][1:]
    torch.cuda.set_sync_debug_mode("error")
    try:
        got = [ahead.next_batch() for _ in range(10)]
    finally:
        torch.cuda.set_sync_debug_mode("default")
    for (x, y), (gx, gy) in zip(expected, got):
        assert gx.device.type == "cuda" and torch.equal(x, gx.cpu()) and torch.equal(y, gy.cpu())
