"""The GPU defaults, decided without a GPU: compile on CUDA by default, fused AdamW, the stop check
at logging points under DDP on CUDA, the prefetcher reading ahead on CUDA only."""
from __future__ import annotations

import torch

from london_llm.settings import TrainConfig
from london_llm.training.distributed import DistContext
from london_llm.training.loop import compile_wanted, stops_at_log_points
from london_llm.training.model import build_model
from london_llm.training.optim import make_optimizer

CFG = TrainConfig(n_layer=1, n_head=2, n_embd=16, max_length=8, vocab_size=100, batch_size=2)
CUDA, CPU = torch.device("cuda", 0), torch.device("cpu")


def test_compile_is_on_by_default_on_cuda_only():
    assert compile_wanted(CFG, CUDA) and not compile_wanted(CFG, CPU)
    assert compile_wanted(CFG.replace(compile="on"), CPU) and not compile_wanted(CFG.replace(compile="off"), CUDA)


def test_adamw_is_fused_for_cuda_and_cpu():
    model = build_model(CFG, 100, 0, 0)
    for device in (CUDA, CPU):  # construction only: the flag the optimizer will run with
        assert all(g["fused"] for g in make_optimizer(model, CFG, device).param_groups)


def test_the_stop_check_is_per_logging_window_under_ddp_on_cuda():
    assert stops_at_log_points(DistContext(0, 0, 2, CUDA, "nccl"))
    assert not stops_at_log_points(DistContext(0, 0, 2, CPU, "gloo"))
    assert not stops_at_log_points(DistContext(0, 0, 1, CUDA, None))  # one process: a plain flag, no collective
