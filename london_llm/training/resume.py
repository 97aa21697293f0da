"""What a checkpoint restores when a run resumes: weights, optimizer, data position, RNG, progress.

The policy lives here so the loop reads as set-up, loop, finish: a resumed run takes the same
steps with the same losses as one that never stopped (the learning rate is a function of the
step). Under another world size the data position still carries over (it is global), but
per-rank random state cannot, so it is re-seeded and the run says so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch

from london_llm.training import checkpoint as ckpt
from london_llm.training import rng
from london_llm.training.errors import TrainingError


@dataclass
class Progress:
    """Where the run stands: what the next checkpoint records and a resumed run starts from."""

    step: int = 0
    best_val: float = float("inf")
    last_val: Optional[float] = None
    last_val_step: Optional[int] = None  # the step last_val was measured at (a save may carry it later)
    best_val_step: Optional[int] = None  # the step best_val was measured at
    wandb_id: Optional[str] = None
    resumed: bool = False
    last_metrics: dict[str, Any] = field(default_factory=dict)
    schedule_anchor: Optional[dict] = None  # where a resume changed the run's length (optim.learning_rate)
    saved_total_steps: Optional[int] = None  # the total the checkpoint's schedule aimed at
    log_window: Optional[dict] = None  # the partial logging window's sums at the checkpoint

    @property
    def best_val_or_none(self) -> Optional[float]:
        return None if math.isinf(self.best_val) else self.best_val


def load_weights(raw_model, path: Path) -> None:
    """The checkpoint's weights into a freshly built model of the same shape (TrainingError otherwise)."""
    missing, unexpected = raw_model.load_state_dict(ckpt.load_weights(path), strict=False)
    missing = [k for k in missing if k != "lm_head.weight"]  # tied to wte, not stored twice
    if missing or unexpected:
        raise TrainingError(f"{path / ckpt.WEIGHTS} does not fit this model "
                            f"(missing {missing[:3]}, unexpected {unexpected[:3]}); resume with the "
                            "configuration it was trained with, or start over with --fresh")
    raw_model.tie_weights()


def start_fresh(job) -> Progress:
    torch.manual_seed(job.config.seed + job.ctx.rank)
    return Progress()


def restore(job, optimizer, scaler, batches) -> Progress:
    """Optimizer, scaler, data position and RNG from `job.resume_from`; the progress it recorded."""
    cfg, ctx, log, path = job.config, job.ctx, job.logger, job.resume_from
    state = ckpt.read_trainer_state(path)
    opt_state = ckpt.load_optimizer_state(path)
    optimizer.load_state_dict(opt_state["optimizer"])
    if opt_state.get("scaler"):
        scaler.load_state_dict(opt_state["scaler"])
    try:
        batches.load_state_dict(state["data"])
    except ValueError as exc:
        raise TrainingError(f"cannot resume from {path}: {exc}") from None
    step = int(state["step"])
    progress = Progress(step=step, best_val=float(state.get("best_val_loss") or float("inf")),
                        last_val=state.get("last_val_loss"), last_val_step=ckpt.measured_val(state, step)[1],
                        best_val_step=ckpt.best_val_step(state), wandb_id=state.get("wandb_id"), resumed=True,
                        schedule_anchor=state.get("schedule_anchor"), saved_total_steps=state.get("total_steps"),
                        log_window=state.get("log_window"))
    saved_world, saved_global = state.get("world_size", 1), state.get("global_batch")
    rng_states = ckpt.load_rng_states(path)
    if saved_world == ctx.world_size:
        rng.restore(rng_states[ctx.rank])
    else:
        torch.manual_seed(cfg.seed + ctx.rank + progress.step)
        if ctx.is_main:
            log.warning(f"Resuming with {ctx.world_size} processes from a checkpoint written by "
                        f"{saved_world}: per-rank random state is re-seeded, not restored.")
    global_batch = cfg.batch_size * cfg.gradient_accumulation_steps * ctx.world_size
    if ctx.is_main and saved_global is not None and saved_global != global_batch:
        log.warning(f"Global batch changed ({saved_global} -> {global_batch} sequences per step): the run "
                    "continues from the same data position, but is not an exact continuation.")
    if ctx.is_main:
        log.info(f"Resumed from {path} at step {progress.step} (epoch {batches.epoch_progress:.3f}).")
    return progress
