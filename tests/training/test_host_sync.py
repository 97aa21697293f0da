"""The training loop reads nothing back from the device per step: on CUDA every such read (.item(),
float(), bool() of a tensor) stalls the GPU queue. Counted here on the CPU, under DDP (one gloo rank),
with the loop's CUDA policy for the stop check switched on."""
from __future__ import annotations

import logging
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
from torch.utils._python_dispatch import TorchDispatchMode

from london_llm.settings import TrainConfig
from london_llm.training import loop
from london_llm.training.distributed import DistContext
from london_llm.training.precision import choose_precision
from transformers_eager_reads import quiet_transformers_eager_checks

STEPS, LOG_EVERY = 12, 4
PACKAGE = str(Path(loop.__file__).resolve().parents[1])


class HostReads(TorchDispatchMode):
    """Records where a tensor's value was read on the host (aten._local_scalar_dense): the first frame
    outside torch and this file."""

    def __init__(self):
        super().__init__()
        self.frames = []  # (file path, line)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._local_scalar_dense.default:
            frame = sys._getframe(1)
            while frame is not None and ("/torch/" in frame.f_code.co_filename or frame.f_code.co_filename == __file__):
                frame = frame.f_back
            self.frames.append((frame.f_code.co_filename, frame.f_lineno) if frame is not None else ("?", 0))
        return func(*args, **(kwargs or {}))

    @property
    def sites(self) -> list[str]:  # the reads in london_llm, as file:line
        return [f"{Path(f).name}:{line}" for f, line in self.frames if f.startswith(PACKAGE)]

    @property
    def files(self) -> list[str]:  # every read, by the file that asked for it
        return [Path(f).name for f, _ in self.frames]


@pytest.fixture
def gloo_rank():
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    yield DistContext(0, 0, 1, torch.device("cpu"), "gloo")
    dist.destroy_process_group()


def job(tmp_path, ctx):
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 20_000), ("val", 2_000)):
        (data / f"{split}.bin").write_bytes(rng.integers(0, 200, n, dtype=np.uint16).tobytes())
    cfg = TrainConfig(n_layer=1, n_head=2, n_embd=32, max_length=32, vocab_size=200, batch_size=4,
                      max_steps=STEPS, warmup_steps=2, logging_steps=LOG_EVERY, eval_steps=1000, save_steps=1000,
                      eval_iters=2, learning_rate=1e-3, compile="off", dtype="fp32")
    return loop.TrainJob(config=cfg, output_dir=tmp_path / "out", data_dir=data, tokenizer_dir=tmp_path / "no-tok",
                         vocab_size=200, bos_id=0, eos_id=0, pad_id=None,
                         precision=choose_precision(ctx.device, "fp32"), ctx=ctx,
                         logger=logging.getLogger("host-sync-test"))


def test_no_host_read_per_step(tmp_path, gloo_rank, monkeypatch):
    monkeypatch.setattr(loop, "stops_at_log_points", lambda ctx: True)  # the CUDA policy
    reads = HostReads()
    with reads:
        result = loop.train(job(tmp_path, gloo_rank))
    assert result.step == STEPS
    # a few once (DDP set-up) or at the end (evaluation, the finite-weights check before saving), none
    # per step: a per-step read would show up STEPS times at one place
    per_site = Counter(reads.sites)
    assert max(per_site.values()) <= 4 and len(reads.sites) < STEPS, per_site


def test_an_eager_step_reads_the_host_only_in_transformers_checks_which_the_cuda_test_quiets(monkeypatch):
    """tests/training/test_cuda.py's eager no-sync case relies on this: its only host reads are
    transformers' own (two per forward), and quieting those leaves none."""
    from london_llm.training.fused_loss import CausalLMLoss
    from london_llm.training.model import build_model, whole_sequence_attention
    from london_llm.training.optim import make_optimizer

    cfg = TrainConfig(n_layer=1, n_head=2, n_embd=32, max_length=16, vocab_size=200, batch_size=2)
    cpu = torch.device("cpu")
    raw = build_model(cfg, 200, 0, 0, seed=0).train()  # plain sdpa first: both of transformers' checks
    model, optimizer = CausalLMLoss(raw), make_optimizer(raw, cfg, cpu)
    precision = choose_precision(cpu, "fp32")
    scaler = precision.grad_scaler()
    rows = torch.randint(0, 200, (2, 17), generator=torch.Generator().manual_seed(0))

    def step():
        loop.optimizer_step(model, raw, optimizer, scaler, lambda: (rows[:, :-1], rows[:, 1:]), precision, 2, 1.0, cpu)

    step()  # warm-up: the optimizer's state
    reads = HostReads()
    with reads:
        step()
    assert Counter(reads.files) == {"modeling_utils.py": 2, "masking_utils.py": 2}, reads.files
    whole_sequence_attention(raw)  # as the trainer (and the CUDA test) run it: no mask is built
    reads = HostReads()
    with reads:
        step()
    assert Counter(reads.files) == {"modeling_utils.py": 2}, reads.files
    quiet_transformers_eager_checks(monkeypatch, raw)
    reads = HostReads()
    with reads:
        step()
    assert reads.files == []
