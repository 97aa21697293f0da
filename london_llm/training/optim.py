"""AdamW with weight decay only on weight matrices and embeddings, and the learning-rate schedule."""
from __future__ import annotations

import inspect
import math
from typing import Optional

import torch

from london_llm.settings import TrainConfig


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


def _cosine_progress(step: int, config: TrainConfig, total_steps: int) -> float:
    span = max(1, total_steps - config.warmup_steps)
    return min(1.0, max(0.0, (step - config.warmup_steps) / span))


def learning_rate(step: int, config: TrainConfig, total_steps: int, anchor: Optional[dict] = None) -> float:
    """Linear warm-up to the peak over `warmup_steps`, then cosine decay to peak * min_lr_ratio.

    `anchor` ({"step", "progress"}, see `resume_anchor`) is where a resumed run changed its length:
    from that step the cosine continues from the phase it had reached, stretched (or squeezed) over
    the steps now left, so the learning rate goes on from the value it had instead of jumping.
    """
    peak = config.learning_rate
    floor = peak * config.min_lr_ratio
    if config.warmup_steps > 0 and step < config.warmup_steps:
        return peak * (step + 1) / config.warmup_steps
    if step >= total_steps:
        return floor
    if anchor is not None and step >= anchor["step"]:
        start = float(anchor["progress"])
        progress = start + (1.0 - start) * (step - anchor["step"]) / max(1, total_steps - anchor["step"])
    else:
        progress = _cosine_progress(step, config, total_steps)
    return floor + 0.5 * (1.0 + math.cos(math.pi * progress)) * (peak - floor)


def resume_anchor(step: int, config: TrainConfig, old_total: int, new_total: int,
                  old_anchor: Optional[dict] = None) -> Optional[dict]:
    """The schedule anchor for a run resumed at `step` whose total steps changed from `old_total` to
    `new_total` (a new --max_steps or --num_epochs): None when nothing changed or the change cannot
    be felt yet (still in warm-up, where the total plays no part), else the cosine phase reached."""
    if new_total == old_total:
        return old_anchor
    if step < config.warmup_steps and old_anchor is None:
        return None
    if old_anchor is not None and step >= old_anchor["step"]:
        start = float(old_anchor["progress"])
        progress = min(1.0, start + (1.0 - start) * (step - old_anchor["step"])
                       / max(1, old_total - old_anchor["step"]))
    else:
        progress = _cosine_progress(step, config, old_total)
    return {"step": step, "progress": progress}


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def step_unless_nonfinite(optimizer: torch.optim.Optimizer, scaler, finite: torch.Tensor) -> bool:
    """optimizer step through `scaler`, skipped when `finite` (a 0-dim bool tensor on the device) is
    false, decided on the device: no host sync. Fused AdamW takes a `found_inf` tensor (what a
    GradScaler hands it) and then leaves weights, moments and its step count as they were. Returns
    False when this optimizer cannot skip so (not fused) and the update was taken regardless; with
    an fp16 GradScaler the scaler's own skipping of non-finite gradients applies instead."""
    can_skip = all(group.get("fused") for group in optimizer.param_groups) and not scaler.is_enabled()
    if can_skip:
        optimizer.found_inf = (~finite).to(torch.float32)
    try:
        scaler.step(optimizer)
    finally:
        if can_skip:
            del optimizer.found_inf
    scaler.update()
    return can_skip
