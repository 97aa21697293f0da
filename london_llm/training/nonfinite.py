"""The non-finite guard: a logging window's sums kept on the device, and the stop for a diverged run.

Each step adds its loss and gradient norm to device tensors (no host read); a step whose loss or
gradient norm is NaN or infinite is counted instead of summed, and its update was already skipped
on the device (optim.step_unless_nonfinite). At the logging point, where the loop reads its numbers
anyway, the count is seen: the window's loss averages the finite steps only, and once
MAX_NONFINITE_STEPS such steps come without a clean window between them the run stops with
DivergedError, naming the last good checkpoint and what to change. With an fp16 GradScaler an
infinite gradient is the scaler's business (it skips the step and lowers its scale), so only a
non-finite loss counts there.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import torch

from london_llm.training.errors import TrainingError

MAX_NONFINITE_STEPS = 10  # skipped steps, without a clean logging window between them, before stopping


class DivergedError(TrainingError):
    """The loss or the gradients stopped being finite; the message says where to resume and what to change."""


class LogWindow:
    """Sums over the steps since the last logging point: loss, grad norm, finite steps, non-finite steps."""

    def __init__(self, device: torch.device, grad_scaler: bool = False):
        self.sums = torch.zeros(4, device=device, dtype=torch.float32)
        self.steps = 0  # host count of steps in the window
        self.grad_scaler = grad_scaler

    def add(self, loss: torch.Tensor, norm: torch.Tensor) -> None:
        bad = ~torch.isfinite(loss)
        if not self.grad_scaler:
            bad = bad | ~torch.isfinite(norm)
        ok = ~bad
        zero = torch.zeros((), device=loss.device, dtype=torch.float32)
        self.sums += torch.stack([torch.where(ok, loss.float(), zero), torch.where(ok, norm.float(), zero),
                                  ok.float(), bad.float()])
        self.steps += 1

    def totals(self, reduce=None, extra: Optional[float] = None) -> dict:
        """The window's totals on the host (one read), summed over ranks by `reduce` (in place) if
        given; `extra` (e.g. a stop flag) rides along in the same reduction and comes back summed."""
        packed = self.sums.clone()
        if extra is not None:
            packed = torch.cat([packed, torch.tensor([extra], device=packed.device, dtype=packed.dtype)])
        if reduce is not None:
            reduce(packed)
        values = packed.tolist()
        loss_sum, norm_sum, good, bad = values[:4]
        out = {"loss": loss_sum / good if good else None, "grad_norm": norm_sum / good if good else None,
               "finite_steps": int(round(good)), "nonfinite_steps": int(round(bad))}
        if extra is not None:
            out["extra"] = values[4]
        return out

    def reset(self) -> None:
        self.sums.zero_()
        self.steps = 0

    # a checkpoint written inside a window carries its partial sums, so the first window logged after
    # a resume covers the same steps as in a run that never stopped
    def state_dict(self, reduce=None) -> dict:
        packed = self.sums.clone()
        if reduce is not None:
            reduce(packed)
        return {"sums": packed.tolist(), "steps": self.steps}

    def load_state_dict(self, state: Optional[dict], is_main: bool = True) -> None:
        """Restore saved sums (already summed over ranks: rank 0 holds them, the others start at zero)."""
        self.reset()
        if not state:
            return
        if is_main:
            self.sums.copy_(torch.tensor(state["sums"], dtype=torch.float32))
        self.steps = int(state["steps"])


class DivergenceWatch:
    """Counts non-finite steps across logging windows; a clean window forgives the earlier ones."""

    def __init__(self, limit: int = MAX_NONFINITE_STEPS):
        self.limit = limit
        self.count = 0
        self.first_step: Optional[int] = None

    def update(self, nonfinite_steps: int, step: int, window_steps: int) -> bool:
        """Record one logging window ending at `step`; True when the run must stop."""
        if nonfinite_steps == 0:
            self.count, self.first_step = 0, None
            return False
        if self.first_step is None:
            self.first_step = step - window_steps + 1
        self.count += nonfinite_steps
        return self.count >= self.limit


def divergence_message(*, step: int, count: int, first_step: Optional[int], last_good: Optional[Path],
                       learning_rate: float, warmup_steps: int, precision: str) -> str:
    where = f"since step {first_step}" if first_step is not None else "in a row"
    lines = [f"Training diverged: {count} steps {where} had a non-finite (NaN or infinite) loss or gradient "
             f"norm. Their updates were skipped and no checkpoint was written from them; stopped at step {step}."]
    change = [f"lower --learning_rate (now {learning_rate:g})", f"raise --warmup_steps (now {warmup_steps})"]
    if precision != "fp32":
        change.append(f"try --dtype fp32 (now {precision})")
    if last_good is not None:
        lines.append(f"The last good checkpoint is {last_good}. Change the settings ({', '.join(change)}), "
                     f"then resume from it: ./resume_training.sh {Path(last_good).name} with the new flags.")
    else:
        lines.append(f"No checkpoint was written before it diverged: start over (--fresh) after you "
                     f"{', '.join(change)}.")
    return " ".join(lines)


def weights_are_finite(model: torch.nn.Module) -> bool:
    """One host read: True when every parameter is finite (checked before each save, a stop's too).

    A sum is finite only when every term is (a NaN or an infinity carries through any sum), so one
    fp32 sum per parameter settles it; only a sum that overflowed without a non-finite term needs
    the element-wise test. On the CPU that saves nearly all of the check: isfinite(p).all() ran at
    3.5 s for the slm embedding's 23 M elements on the loaded 2-core EPYC, a sum 0.1 s.
    """
    params = [p.detach() for p in model.parameters()]
    if not params:
        return True
    sums = torch.stack([p.sum(dtype=torch.float32) for p in params])
    if bool(torch.isfinite(sums).all()):
        return True
    return bool(torch.stack([torch.isfinite(p).all() for p in params]).all())


def finite_or_none(value: Optional[float]) -> Optional[float]:
    return value if value is not None and math.isfinite(value) else None
