"""AdamW with weight decay only on weight matrices and embeddings, and the learning-rate schedule."""
from __future__ import annotations

import inspect
import math

import torch

from .settings import TrainConfig


def make_optimizer(model: torch.nn.Module, config: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """Fused AdamW (one kernel per step on CUDA and, since torch 2.4, on the CPU: about a third of the
    multi-tensor version's time there); parameters with >= 2 dims decay, biases and LayerNorms do not
    (nanoGPT)."""
    params = [p for p in model.parameters() if p.requires_grad]
    # tied weights appear once in model.parameters(), so no parameter is in two groups
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    extra = {}
    if device.type in ("cuda", "cpu") and "fused" in inspect.signature(torch.optim.AdamW).parameters:
        extra["fused"] = True
    return torch.optim.AdamW(groups, lr=config.learning_rate, betas=(config.beta1, config.beta2), **extra)


def learning_rate(step: int, config: TrainConfig, total_steps: int) -> float:
    """Linear warm-up to the peak over `warmup_steps`, then cosine decay to peak * min_lr_ratio."""
    peak = config.learning_rate
    floor = peak * config.min_lr_ratio
    if config.warmup_steps > 0 and step < config.warmup_steps:
        return peak * (step + 1) / config.warmup_steps
    if step >= total_steps:
        return floor
    span = max(1, total_steps - config.warmup_steps)
    progress = (step - config.warmup_steps) / span
    return floor + 0.5 * (1.0 + math.cos(math.pi * progress)) * (peak - floor)


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
