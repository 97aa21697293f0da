"""The training loop, nanoGPT-style: `train` reads top to bottom as set-up, loop, finish.

Exactly resumable: the model's weights, the optimizer, the data position (epoch and window), and
every rank's RNG state go into each checkpoint, and the learning rate is a function of the step,
so a resumed run takes the same steps with the same losses as one that never stopped.
Under torchrun the model is wrapped in DistributedDataParallel; gradients are synchronised only
on the last micro-step, losses are averaged across ranks, and rank 0 alone reports and saves.
What a resume restores is training.resume; what a checkpoint records, training.saving; where
reports go, training.reporting; how a stop on a slow step saves the last completed step at once,
training.midstep (started by training.stopwatch's thread).
"""
from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import torch
from torch.nn.parallel import DistributedDataParallel

from london_llm.pretokenize.format import open_tokens
from london_llm.settings import TrainConfig
from london_llm.training import checkpoint as ckpt
from london_llm.training import distributed as dist_utils
from london_llm.training import midstep, resume, testhooks
from london_llm.training.batches import EpochBatches, validation_batches
from london_llm.training.errors import TrainingError
from london_llm.training.fused_loss import CausalLMLoss
from london_llm.training.mfu import device_peak, mfu
from london_llm.training.model import build_model, flops_per_token, whole_sequence_attention
from london_llm.training.nonfinite import DivergedError, DivergenceWatch, LogWindow, divergence_message
from london_llm.training.optim import (learning_rate, make_optimizer, resume_anchor, set_learning_rate,
                                       step_unless_nonfinite)
from london_llm.training.prefetch import DevicePrefetcher
from london_llm.training.precision import Precision
from london_llm.training.reporting import Reporter, evaluation_bar
from london_llm.training.saving import save_run
from london_llm.training.stopping import StopFlag
from london_llm.training.stopwatch import StopWatcher


@dataclass
class TrainJob:
    """Everything the loop needs, resolved by the caller (no paths are guessed here)."""

    config: TrainConfig
    output_dir: Path
    data_dir: Path  # pretokenized train.bin / val.bin
    tokenizer_dir: Path
    vocab_size: int  # the tokenizer's
    bos_id: int
    eos_id: int
    pad_id: Optional[int]
    precision: Precision
    ctx: dist_utils.DistContext
    logger: logging.Logger
    resume_from: Optional[Path] = None
    wandb_mode: str = "disabled"
    wandb_project: str = "helloLondon"
    run_name: str = "london-llm"
    wandb_dir: Optional[Path] = None
    peak_flops: Optional[float] = None
    model_name: str = "slm"
    extra_state: dict[str, Any] = field(default_factory=dict)  # recorded in trainer_state.json
    identity: Any = None  # training.identity.RunIdentity: the branch metrics.jsonl records carry
    stop: Optional[StopFlag] = None  # installed by the caller (training.cli) for the whole run
    resume_advice: Optional[Callable[[Optional[Path]], str]] = None  # the command that resumes a checkpoint
    lock: Any = None  # training.runlock.RunLock held by rank 0: released after a mid-step save


@dataclass
class TrainResult:
    step: int
    final_checkpoint: Optional[Path]
    stopped_by_signal: Optional[str]
    last_val_loss: Optional[float]


def _percent(fraction: Optional[float]) -> Optional[float]:
    """MFU as the guide shows it everywhere (terminal, W&B train/mfu, metrics.jsonl, status, plots): percent."""
    return None if fraction is None else 100.0 * fraction


def total_steps(config: TrainConfig, batches_per_epoch: int) -> int:
    """max_steps, or fewer when num_epochs worth of batches runs out first.

    `batches_per_epoch` counts global micro-batches (batch_size x world size), as EpochBatches does:
    windows that do not fill a last one wait for the next epoch, so rounding down keeps the run
    from spilling into an epoch it was not asked for.
    """
    by_epochs = (math.floor(config.num_epochs * batches_per_epoch / config.gradient_accumulation_steps)
                 if config.num_epochs > 0 else None)
    candidates = [s for s in (config.max_steps, by_epochs) if s is not None]
    return max(1, min(candidates))


def _to_device(batch, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = batch  # int64 tensors from training.batches, or already on the device (DevicePrefetcher)
    if x.device == device:
        return x, y
    if device.type == "cuda":
        return x.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
    return x.to(device), y.to(device)


def compile_wanted(cfg: TrainConfig, device: torch.device) -> bool:
    """--compile auto: on for CUDA (the fused loss compiles without graph breaks), off elsewhere (on
    a CPU compiling is slower for models this size)."""
    return cfg.compile == "on" or (cfg.compile == "auto" and device.type == "cuda")


def stops_at_log_points(ctx: dist_utils.DistContext) -> bool:
    """Under DDP on CUDA the ranks agree on a stop signal at logging points, inside the reduction that
    is read there anyway: a per-step all-reduce read on the host would stall the GPU queue every step.
    On the CPU (gloo) reading a flag costs no device sync, so the check runs every step there and a
    signal is answered within one step."""
    return ctx.enabled and ctx.device.type == "cuda"


def _loss(model, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return model(x, y)  # a CausalLMLoss, maybe compiled and/or DDP-wrapped


def optimizer_step(model, raw_model, optimizer, scaler, next_batch, precision: Precision, accum: int,
                   grad_clip: float, device: torch.device, ddp: bool = False, update=None):
    """One optimizer step over `accum` micro-batches -> (summed loss, grad norm), both tensors left on
    the device: no host sync here. Under DDP gradients are all-reduced only on the last micro-step.
    A step whose gradient norm is not finite changes nothing (skipped on the device, see
    optim.step_unless_nonfinite); the norm is measured even without clipping, for that.
    `update` (training.midstep.UpdateGuard.update) is held around the only part that changes the
    parameters and the optimizer's state, so a mid-step save never sees it half done."""
    loss_total = torch.zeros((), device=device)
    for micro in range(accum):
        x, y = _to_device(next_batch(), device)
        sync = model.no_sync() if ddp and micro < accum - 1 else contextlib.nullcontext()
        with sync:
            with precision.autocast():
                loss = _loss(model, x, y) / accum  # mean over the global batch once summed
            scaler.scale(loss).backward()
        loss_total += loss.detach()
    scaler.unscale_(optimizer)
    if grad_clip > 0:
        norm = torch.nn.utils.clip_grad_norm_(raw_model.parameters(), grad_clip)
    else:
        norm = torch.nn.utils.get_total_norm([p.grad for p in raw_model.parameters() if p.grad is not None])
    with update if update is not None else contextlib.nullcontext():
        step_unless_nonfinite(optimizer, scaler, torch.isfinite(norm))
        optimizer.zero_grad(set_to_none=True)
    return loss_total, norm


@torch.no_grad()
def estimate_loss(model, tokens, job: TrainJob, desc: Optional[str] = None,
                  counts: Optional[dict] = None) -> float:
    """Mean loss over `eval_iters` fixed batches of `tokens`, averaged across ranks.

    With `desc`, rank 0 shows a bar of the batches (with ETA); it counts on the host only, so the
    sums stay on the device until the one read at the end. `counts`, when given, receives the
    batches each process ran and the sequences of all ranks ("batches", "samples"; one more read,
    once per evaluation, for the log line's speeds)."""
    cfg, ctx = job.config, job.ctx
    total = torch.zeros(3, device=ctx.device)  # loss sum, batches, sequences
    was_training = model.training
    model.eval()
    batches = validation_batches(tokens, cfg.max_length, cfg.batch_size, cfg.eval_iters, ctx.rank, ctx.world_size)
    with evaluation_bar(len(batches), desc or "", enabled=desc is not None and ctx.is_main) as bar:
        for batch in batches:
            x, y = _to_device(batch, ctx.device)
            with job.precision.autocast():
                total[0] += _loss(model, x, y)
            total[1] += 1
            total[2] += x.shape[0]
            bar.update(1)
    model.train(was_training)
    if ctx.enabled:
        torch.distributed.all_reduce(total)
    if counts is not None:
        n_batches, n_samples = total[1:].tolist()
        counts.update(batches=round(n_batches / ctx.world_size), samples=round(n_samples))
    return float(total[0] / total[1]) if total[1] > 0 else float("nan")


def train(job: TrainJob) -> TrainResult:
    cfg, ctx, log = job.config, job.ctx, job.logger
    device = ctx.device

    # --- set-up: data, model, optimizer, the state resumed from ------------------------------------
    try:
        train_tokens = open_tokens(job.data_dir, "train")
        val_tokens = open_tokens(job.data_dir, "val")
        batches = DevicePrefetcher(EpochBatches(train_tokens, cfg.max_length, cfg.batch_size, cfg.seed,
                                                rank=ctx.rank, world_size=ctx.world_size), device)
    except (OSError, ValueError) as exc:
        raise TrainingError(str(exc)) from None
    steps_total = total_steps(cfg, batches.batches_per_epoch)
    tokens_per_step = cfg.batch_size * cfg.max_length * cfg.gradient_accumulation_steps * ctx.world_size

    raw_model = build_model(cfg, job.vocab_size, job.bos_id, job.eos_id, job.pad_id, seed=cfg.seed)
    if job.resume_from is not None:
        resume.load_weights(raw_model, job.resume_from)
    raw_model.to(device)
    raw_model.train()
    optimizer = make_optimizer(raw_model, cfg, device)
    scaler = job.precision.grad_scaler()
    progress = (resume.restore(job, optimizer, scaler, batches) if job.resume_from is not None
                else resume.start_fresh(job))
    if progress.step >= steps_total:
        if ctx.is_main:
            log.info(f"Nothing to train: {job.resume_from} is at step {progress.step}, and this run ends at step "
                     f"{steps_total} (--max_steps {cfg.max_steps}, --num_epochs {cfg.num_epochs}). To train on, "
                     f"raise --max_steps above {progress.step} (or --num_epochs); to start over, --fresh.")
        return TrainResult(step=progress.step, final_checkpoint=job.resume_from, stopped_by_signal=None,
                           last_val_loss=progress.last_val)

    if progress.resumed and progress.saved_total_steps not in (None, steps_total):
        # docs/training.md "A new length on resume": the cosine goes on from where it was, no jump
        old_total, old_anchor = int(progress.saved_total_steps), progress.schedule_anchor
        progress.schedule_anchor = resume_anchor(progress.step, cfg, old_total, steps_total, old_anchor)
        if ctx.is_main:
            old_lr = learning_rate(progress.step, cfg, old_total, old_anchor)
            new_lr = learning_rate(progress.step, cfg, steps_total, progress.schedule_anchor)
            log.info(f"The run's length changed on resume ({progress.saved_total_steps} -> {steps_total} steps): "
                     f"the learning-rate schedule continues from {new_lr:.3e} at step {progress.step} (it was "
                     f"heading for {old_lr:.3e}) and reaches its floor at step {steps_total}, instead of "
                     "restarting the cosine over the new total.")

    flops_tok = flops_per_token(raw_model, cfg.n_layer, cfg.n_embd, cfg.max_length)
    peak = device_peak(device, job.precision.name, job.peak_flops)
    use_compile = compile_wanted(cfg, device)
    # forward = loss, fused with the output projection; causal SDPA without a mask, compiled too
    model = CausalLMLoss(whole_sequence_attention(raw_model))
    model = torch.compile(model) if use_compile else model
    if ctx.enabled:
        model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    report = Reporter(job, start_step=progress.step, steps_total=steps_total, resumed=progress.resumed,
                      wandb_id=progress.wandb_id)
    report.describe_run(raw_model, compiled=use_compile, tokens_per_step=tokens_per_step,
                        windows_per_epoch=batches.windows_per_epoch, peak_label=peak.label)

    # --- the loop ------------------------------------------------------------------------------------
    window = LogWindow(device, grad_scaler=scaler.is_enabled())  # sums on the device, read at logging points
    window.load_state_dict(progress.log_window, is_main=ctx.is_main)
    watch = DivergenceWatch()
    # under DDP on CUDA the stop signal is agreed on at logging points, inside the one reduction there
    # (a per-step all-reduce read on the host would sync every step); elsewhere it is checked each step
    stop_at_log_points = stops_at_log_points(ctx)
    timed_steps = 0  # steps timed in this window (a resumed window's earlier steps were timed before)
    diverged: Optional[DivergedError] = None
    excluded = 0.0  # seconds of eval/checkpoint inside the current logging window
    window_start = time.perf_counter()
    final_path = None
    stop = job.stop if job.stop is not None else StopFlag().install()
    advice = job.resume_advice or (lambda path: "rerun the same command")
    # on a slow step a stop saves the last completed step at once, from the watcher's thread (midstep)
    saver = midstep.MidStepSaver(job, raw_model=raw_model, optimizer=optimizer, scaler=scaler, steps_total=steps_total,
                                 tokens_per_step=tokens_per_step, start_step=progress.step, advice=advice)
    slow_hook = testhooks.slow_step_seconds()
    if slow_hook and ctx.is_main:
        log.warning(f"Test hook {testhooks.SLOW_STEP_ENV}: {testhooks.describe(slow_hook)}")
    next_batch = testhooks.slowed(batches.next_batch, slow_hook)
    last_step_s: Optional[float] = None  # the slowest rank's last step; None: no mid-step saves (CUDA DDP)
    stop.arm()  # from here a stop signal saves at the end of the current step
    watcher = StopWatcher(stop, saver.on_stop).start()
    loop_start, first_step = time.perf_counter(), progress.step + 1
    try:
        while progress.step < steps_total:
            saver.at_boundary(midstep.capture(ctx, progress, batches, window, optimizer, report.wandb_id, last_step_s)
                              if last_step_s is not None and last_step_s >= midstep.SNAPSHOT_AFTER_S else None)
            step_began = time.perf_counter()
            set_learning_rate(optimizer, lr := learning_rate(progress.step, cfg, steps_total, progress.schedule_anchor))
            loss, norm = optimizer_step(model, raw_model, optimizer, scaler, next_batch, job.precision,
                                        cfg.gradient_accumulation_steps, cfg.grad_clip, device, ddp=ctx.enabled,
                                        update=saver.guard.update(progress.step + 1))
            step_s = time.perf_counter() - step_began
            window.add(loss, norm)
            timed_steps += 1
            progress.step += 1
            step = progress.step
            report.bar.update(1)
            if step == first_step:
                report.first_step(time.perf_counter() - loop_start)
            stop_asked = stop.reason is not None
            if stop_at_log_points:
                stopping = False  # every rank must stop at the same step: decided at the logging point
            elif ctx.enabled:  # in the one reduction per step: whether to stop, and the slowest rank's time
                stopping, last_step_s = dist_utils.any_true_and_max(ctx, stop_asked, step_s)
            else:
                stopping, last_step_s = stop_asked, step_s

            if step % cfg.logging_steps == 0 or step == steps_total:
                # one host read per logging window: losses, norms, non-finite count (and the stop flag)
                window_steps = window.steps  # may include steps from before a resume
                totals = window.totals(reduce=lambda t: dist_utils.sum_(ctx, t), extra=float(stop_asked)
                                       if stop_at_log_points else None)
                if stop_at_log_points:
                    stopping = totals["extra"] > 0
                dt = (time.perf_counter() - window_start - excluded) / max(1, timed_steps)
                tok_s = tokens_per_step / dt
                progress.last_metrics = {
                    "train/loss": totals["loss"], "train/lr": lr, "train/iter": step,
                    "train/dt_ms": dt * 1000, "train/tokens_per_sec": tok_s,
                    "train/grad_norm": totals["grad_norm"] if cfg.grad_clip > 0 else None,
                    "train/mfu": _percent(mfu(flops_tok, tok_s, peak, ctx.world_size)),
                    "train/epoch": batches.epoch_progress, "train/nonfinite_steps": totals["nonfinite_steps"]}
                report.train_window(step, progress.last_metrics)
                window.reset()
                excluded, timed_steps = 0.0, 0
                window_start = time.perf_counter()
                if totals["nonfinite_steps"] and ctx.is_main:
                    log.warning(f"{totals['nonfinite_steps']} of the last {window_steps} steps had a non-finite "
                                f"loss or gradient norm; their updates were skipped")
                if watch.update(totals["nonfinite_steps"], step, window_steps):
                    diverged = DivergedError(divergence_message(
                        step=step, count=watch.count, first_step=watch.first_step,
                        last_good=ckpt.newest_good(job.output_dir, log=lambda m: None) if ctx.is_main else None,
                        learning_rate=cfg.learning_rate, warmup_steps=cfg.warmup_steps,
                        precision=job.precision.name))
                    break  # nothing more is saved: the last good checkpoint stays the newest

            is_last = step == steps_total
            # a stop skips the evaluation: it saves at once (the slm preset's evaluation on a CPU takes
            # minutes, and plain torchrun kills a run 30 s after passing a stop on); every rank agrees on
            # `stopping`, so all skip it alike
            if (step % cfg.eval_steps == 0 or is_last) and not stopping:
                t0 = time.perf_counter()
                counts: dict = {}
                val = estimate_loss(model, val_tokens, job, desc=f"evaluating step {step}: val", counts=counts)
                val_s = time.perf_counter() - t0
                progress.last_val, progress.last_val_step = val, step
                train_est = estimate_loss(model, train_tokens, job, desc=f"evaluating step {step}: train")
                if progress.last_val < progress.best_val:
                    progress.best_val, progress.best_val_step = progress.last_val, step
                report.evaluation(step, {"eval/val_loss": progress.last_val,
                                         "eval/val_ppl": math.exp(min(progress.last_val, 50)),
                                         "eval/train_loss": train_est, "eval/iter": step}, batches.epoch_progress,
                                  runtime_s=val_s, **counts)
                excluded += time.perf_counter() - t0
            if step % cfg.save_steps == 0 or is_last or stopping:
                t0 = time.perf_counter()
                # a save inside a logging window carries its partial sums (the window resumes whole)
                loop_state = {"log_window": window.state_dict(reduce=lambda t: dist_utils.sum_(ctx, t))}
                try:
                    path = save_run(job, progress, raw_model=raw_model, optimizer=optimizer, scaler=scaler,
                                    batches=batches, steps_total=steps_total, tokens_per_step=tokens_per_step,
                                    wandb_id=report.wandb_id, final=is_last, loop_state=loop_state,
                                    write=saver.reclaim_lock())
                    final_path = saver.after_save(step, path)
                except DivergedError as exc:  # non-finite weights (an optimizer that cannot skip): not saved
                    diverged = exc
                    break
                excluded += time.perf_counter() - t0
            if stopping and not is_last:
                if ctx.is_main:
                    log.warning(f"{stop.reason or 'another rank was stopped'}: stopped at step "
                                f"{ckpt.step_of(final_path) if final_path else step} after saving {final_path}; "
                                f"to resume: {advice(final_path)}")
                break
    finally:
        saver.close()  # a mid-step save being written completes first
        watcher.close()
        if job.stop is None:
            stop.uninstall()

    # --- finish --------------------------------------------------------------------------------------
    report.close()
    step = progress.step
    if diverged is not None:
        raise diverged
    if ctx.enabled:
        same = dist_utils.weights_agree(ctx, raw_model)
        if ctx.is_main:
            (log.info if same else log.error)(
                f"Weights are {'identical' if same else 'DIFFERENT'} on all {ctx.world_size} ranks at step {step}")
    if ctx.is_main and step >= steps_total:
        log.info(f"Training finished at step {step}; final model in {final_path}")
    return TrainResult(step=step, final_checkpoint=final_path, stopped_by_signal=stop.reason,
                       last_val_loss=progress.last_val)
