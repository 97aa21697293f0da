"""Saving the last completed step while the next one is still running: a stop on slow steps.

During step N+1's forward and backward the parameters and the optimizer's state are still those
after step N: they change only in the update (optimizer.step, zero_grad, the grad scaler's update).
So a stop that arrives mid-step can save step N at once instead of waiting for N+1 to end. That
matters when a step is longer than torchrun's shutdown timeout (30 s for plain `torchrun`; the slm
preset on a CPU takes over 100 s a step): torchrun SIGKILLs the workers when it runs out.

Two things make such a save exactly what a save at the step-N boundary would have written:
- UpdateGuard: the update runs under a lock that the save holds for its whole write, and the guard
  records whose step's update the parameters hold, so a save never sees half an update, nor
  step N+1's weights with step N's data position.
- Boundary: the rest of what a checkpoint records (every rank's RNG state, the data position, the
  progress, the logging window's sums, the learning rate), captured at the step-N boundary. It is
  captured only after a slow step (SNAPSHOT_AFTER_S): the capture reads the device (a host sync)
  and under DDP gathers from every rank, nothing beside a step that long; fast steps, where a stop
  is answered at the next boundary well within torchrun's timeout, pay nothing.

The save is started by training.stopwatch's thread (the main thread may be inside one long C++
call, where Python signal handlers cannot run). Rank 0 alone writes and starts no collective, so
the other ranks go on to the boundary, where every rank stops together as before. The lock of the
output folder is released after the save (a SIGKILL may follow: no stale lock is left) and taken
back before the boundary writes step N+1; if another run took it meanwhile, N+1 is not written.
"""
from __future__ import annotations

import contextlib
import copy
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

from london_llm.training import distributed as dist_utils
from london_llm.training import rng
from london_llm.training.nonfinite import weights_are_finite
from london_llm.training.resume import Progress
from london_llm.training.runlock import RunLocked
from london_llm.training.saving import trainer_state, write_checkpoint

SNAPSHOT_AFTER_S = 2.0  # a step at least this long is followed by a boundary capture
GRACE_S = 5.0  # a stop waits this long for the step in flight to end, unless it is due later still


class UpdateGuard:
    """The lock around the optimizer update, and which step's update the parameters hold."""

    def __init__(self, step: int):
        self._lock = threading.Lock()
        self.applied = step

    @contextlib.contextmanager
    def update(self, step: int) -> Iterator[None]:
        """Around step `step`'s update (the main thread)."""
        with self._lock:
            yield
            self.applied = step

    @contextlib.contextmanager
    def holding(self, step: int) -> Iterator[bool]:
        """Held for a whole save of `step`: yields whether the parameters are still that step's."""
        with self._lock:
            yield self.applied == step


@dataclass
class Boundary:
    """What a checkpoint of `step` records besides the parameters and the optimizer's state."""

    step: int
    progress: Progress
    data: dict
    epoch: float
    rng_all: list
    loop_state: dict
    lrs: list
    wandb_id: Optional[str]
    last_step_s: float  # how long step `step` took: the step in flight should take about as long
    started: float = field(default_factory=time.monotonic)  # when the next step began


def capture(ctx, progress: Progress, batches, window, optimizer, wandb_id: Optional[str],
            last_step_s: float) -> Boundary:
    """At the top of the loop, before the next step changes anything. Every rank calls it at the same
    step (under DDP it gathers the RNG states and sums the logging window, as save_run does)."""
    rng_all = dist_utils.gather_objects(ctx, rng.capture())
    loop_state = {"log_window": window.state_dict(reduce=lambda t: dist_utils.sum_(ctx, t))}
    return Boundary(step=progress.step, progress=copy.deepcopy(progress), data=copy.deepcopy(batches.state_dict()),
                    epoch=batches.epoch_progress, rng_all=rng_all, loop_state=loop_state,
                    lrs=[group["lr"] for group in optimizer.param_groups], wandb_id=wandb_id,
                    last_step_s=last_step_s)


def wait_before_saving(boundary: Boundary, now: float) -> float:
    """Seconds to give the step in flight: none when it is due after the grace period anyway."""
    due_in = boundary.last_step_s - (now - boundary.started)
    return 0.0 if due_in > GRACE_S else GRACE_S


class MidStepSaver:
    """Rank 0's save of the last completed step, started from the stop watcher's thread."""

    def __init__(self, job, *, raw_model, optimizer, scaler, steps_total: int, tokens_per_step: int,
                 start_step: int, advice: Callable[[Optional[Path]], str]):
        self.job, self.raw_model, self.optimizer, self.scaler = job, raw_model, optimizer, scaler
        self.steps_total, self.tokens_per_step, self.advice = steps_total, tokens_per_step, advice
        self.guard = UpdateGuard(start_step)
        self.boundary: Optional[Boundary] = None
        self.saved_step: Optional[int] = start_step if job.resume_from is not None else None
        self.saved_path: Optional[Path] = job.resume_from
        self.lock_released = False
        self.lock_lost = False
        self._answered: Optional[Boundary] = None
        self._closed = False
        self._mutex = threading.Lock()  # one stop answered at a time

    # --- the main thread ------------------------------------------------------------------------
    def at_boundary(self, boundary: Optional[Boundary]) -> None:
        self.boundary = boundary

    def reclaim_lock(self) -> bool:
        """Before a boundary save: whether this rank may write (the lock is taken back if released)."""
        if not self.lock_released:
            return True
        try:
            self.job.lock.acquire()
        except RunLocked as exc:
            self.lock_lost = True
            self.job.logger.warning(f"Step {self.guard.applied} is not saved: {exc}")
            return False
        self.lock_released = False
        return True

    def after_save(self, step: int, path: Optional[Path]) -> Optional[Path]:
        """The checkpoint the run now ends on (rank 0): `path`, or the mid-step one if the lock was lost."""
        if path is not None:
            self.saved_step, self.saved_path = step, path
            return path
        return self.saved_path if self.lock_lost else None

    def close(self) -> None:
        with self._mutex:
            self._closed = True
            self.boundary = None

    # --- the stop watcher's thread ----------------------------------------------------------------
    def on_stop(self, reason: str) -> None:
        boundary = self.boundary
        if not self.job.ctx.is_main or boundary is None or boundary is self._answered:
            return
        deadline = time.monotonic() + wait_before_saving(boundary, time.monotonic())
        while time.monotonic() < deadline and self.guard.applied == boundary.step and not self._closed:
            time.sleep(0.05)  # the step may still end in time: then the boundary saves it, as before
        with self._mutex, self.guard.holding(boundary.step) as still_current:
            if self._closed or not still_current or self.boundary is not boundary:
                return  # the step ended: the main thread is at the boundary and saves there
            self._answered = boundary
            try:
                self._save(boundary, reason)
            except Exception as exc:  # noqa: BLE001 - the boundary save remains; say why this one failed
                self.job.logger.error(f"{reason}: could not save step {boundary.step} while step "
                                      f"{boundary.step + 1} runs ({type(exc).__name__}: {exc})")

    def _save(self, boundary: Boundary, reason: str) -> None:
        job, running = self.job, time.monotonic() - boundary.started
        if self.saved_step == boundary.step:
            path, what = self.saved_path, "is already saved in"
        elif not weights_are_finite(self.raw_model):
            return  # the boundary raises DivergedError and says where to resume
        else:
            state = trainer_state(job, boundary.progress, data=boundary.data, epoch=boundary.epoch,
                                  steps_total=self.steps_total, tokens_per_step=self.tokens_per_step,
                                  wandb_id=boundary.wandb_id, final=False, loop_state=boundary.loop_state)
            optimizer_state = self.optimizer.state_dict()  # its param_groups are copies: the lr set for
            for group, lr in zip(optimizer_state["param_groups"], boundary.lrs):  # step N+1 is not saved
                group["lr"] = lr
            path = write_checkpoint(job, boundary.step, raw_model=self.raw_model,
                                    optimizer_state={"optimizer": optimizer_state, "scaler": self.scaler.state_dict()},
                                    rng_all=boundary.rng_all, state=state)
            self.saved_step, self.saved_path, what = boundary.step, path, "saved at once to"
        if job.lock is not None:
            job.lock.release()  # a SIGKILL may follow; taken back before step N+1 is written
            self.lock_released = True
        job.logger.warning(
            f"{reason} {running:.0f} s into step {boundary.step + 1} (the last took {boundary.last_step_s:.0f} s): "
            f"step {boundary.step}, the last completed, {what} {path}, in case the run is killed before this "
            f"step ends (plain torchrun kills it 30 s after a stop); to resume from it: {self.advice(path)}")
