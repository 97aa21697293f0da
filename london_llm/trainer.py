"""The training loop, nanoGPT-style: one function that owns the model, optimizer, data and reports.

Exactly resumable: the model's weights, the optimizer, the data position (epoch and window), and
every rank's RNG state go into each checkpoint, and the learning rate is a function of the step,
so a resumed run takes the same steps with the same losses as one that never stopped.
Under torchrun the model is wrapped in DistributedDataParallel; gradients are synchronised only
on the last micro-step, losses are averaged across ranks, and rank 0 alone reports and saves.
"""
from __future__ import annotations

import contextlib
import logging
import math
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch
from torch.nn.parallel import DistributedDataParallel

from . import checkpoint as ckpt
from . import distributed as dist_utils
from . import rng
from .fused_loss import CausalLMLoss
from .hashing import sha256_file
from .data import EpochBatches, open_tokens, validation_batches
from .mfu import device_peak, mfu
from .model import build_model, flops_per_token, generation_config
from .optim import learning_rate, make_optimizer, set_learning_rate
from .precision import Precision
from .settings import TrainConfig
from .train_cli import TrainingError
from .train_logging import MetricsLog, WandbRun, progress_bar


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


@dataclass
class TrainResult:
    step: int
    final_checkpoint: Optional[Path]
    stopped_by_signal: Optional[str]
    last_val_loss: Optional[float]


class StopFlag:
    """SIGTERM / Ctrl-C ask the loop to save and stop after the current step; a second Ctrl-C aborts."""

    def __init__(self):
        self.signal_name: Optional[str] = None
        self._previous = {}

    def __enter__(self) -> "StopFlag":
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.signal_name is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal_name = signal.Signals(signum).name

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


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


def file_sha256(path: Path) -> Optional[str]:
    """sha256 of a file, or None when it cannot be read (a checkpoint then records no fingerprint)."""
    try:
        return sha256_file(path)
    except OSError:
        return None


def _to_device(batch, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = batch  # int64 CPU tensors from london_llm.data
    if device.type == "cuda":
        return x.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
    return x.to(device), y.to(device)


def _loss(model, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return model(x, y)  # a CausalLMLoss, maybe compiled and/or DDP-wrapped


def optimizer_step(model, raw_model, optimizer, scaler, next_batch, precision: Precision, accum: int,
                   grad_clip: float, device: torch.device, ddp: bool = False):
    """One optimizer step over `accum` micro-batches -> (summed loss, grad norm), both tensors left on
    the device: no host sync here. Under DDP gradients are all-reduced only on the last micro-step."""
    loss_total = torch.zeros((), device=device)
    for micro in range(accum):
        x, y = _to_device(next_batch(), device)
        sync = model.no_sync() if ddp and micro < accum - 1 else contextlib.nullcontext()
        with sync:
            with precision.autocast():
                loss = _loss(model, x, y) / accum  # mean over the global batch once summed
            scaler.scale(loss).backward()
        loss_total += loss.detach()
    norm = None
    if grad_clip > 0:
        scaler.unscale_(optimizer)
        norm = torch.nn.utils.clip_grad_norm_(raw_model.parameters(), grad_clip)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    return loss_total, norm


@torch.no_grad()
def estimate_loss(model, tokens, job: TrainJob) -> float:
    """Mean loss over `eval_iters` fixed batches of `tokens`, averaged across ranks."""
    cfg, ctx = job.config, job.ctx
    total = torch.zeros(2, device=ctx.device)
    was_training = model.training
    model.eval()
    for batch in validation_batches(tokens, cfg.max_length, cfg.batch_size, cfg.eval_iters,
                                    ctx.rank, ctx.world_size):
        x, y = _to_device(batch, ctx.device)
        with job.precision.autocast():
            total[0] += _loss(model, x, y)
        total[1] += 1
    model.train(was_training)
    if ctx.enabled:
        torch.distributed.all_reduce(total)
    return float(total[0] / total[1]) if total[1] > 0 else float("nan")


def train(job: TrainJob) -> TrainResult:
    cfg, ctx, log = job.config, job.ctx, job.logger
    device, main = ctx.device, ctx.is_main

    # --- data ------------------------------------------------------------------------------
    try:
        train_tokens = open_tokens(job.data_dir, "train")
        val_tokens = open_tokens(job.data_dir, "val")
        batches = EpochBatches(train_tokens, cfg.max_length, cfg.batch_size, cfg.seed,
                               rank=ctx.rank, world_size=ctx.world_size)
    except (OSError, ValueError) as exc:
        raise TrainingError(str(exc)) from None
    steps_total = total_steps(cfg, batches.batches_per_epoch)
    tokens_per_step = cfg.batch_size * cfg.max_length * cfg.gradient_accumulation_steps * ctx.world_size

    # --- model, optimizer, state --------------------------------------------------------------
    raw_model = build_model(cfg, job.vocab_size, job.bos_id, job.eos_id, job.pad_id, seed=cfg.seed)
    state: dict[str, Any] = {}
    if job.resume_from is not None:
        state = ckpt.read_trainer_state(job.resume_from)
        missing, unexpected = raw_model.load_state_dict(ckpt.load_weights(job.resume_from), strict=False)
        missing = [k for k in missing if k != "lm_head.weight"]  # tied to wte, not stored twice
        if missing or unexpected:
            raise TrainingError(f"{job.resume_from / ckpt.WEIGHTS} does not fit this model "
                                f"(missing {missing[:3]}, unexpected {unexpected[:3]}); resume with the "
                                "configuration it was trained with, or start over with --fresh")
        raw_model.tie_weights()
    raw_model.to(device)
    raw_model.train()
    optimizer = make_optimizer(raw_model, cfg, device)
    scaler = job.precision.grad_scaler()
    step = 0
    best_val = float("inf")
    last_val: Optional[float] = None
    wandb_id = None
    if state:
        opt_state = ckpt.load_optimizer_state(job.resume_from)
        optimizer.load_state_dict(opt_state["optimizer"])
        if opt_state.get("scaler"):
            scaler.load_state_dict(opt_state["scaler"])
        try:
            batches.load_state_dict(state["data"])
        except ValueError as exc:
            raise TrainingError(f"cannot resume from {job.resume_from}: {exc}") from None
        step = int(state["step"])
        best_val = float(state.get("best_val_loss") or float("inf"))
        last_val = state.get("last_val_loss")
        wandb_id = state.get("wandb_id")
        saved_world, saved_global = state.get("world_size", 1), state.get("global_batch")
        rng_states = ckpt.load_rng_states(job.resume_from)
        if saved_world == ctx.world_size:
            rng.restore(rng_states[ctx.rank])
        else:
            torch.manual_seed(cfg.seed + ctx.rank + step)
            if main:
                log.warning(f"Resuming with {ctx.world_size} processes from a checkpoint written by "
                            f"{saved_world}: per-rank random state is re-seeded, not restored.")
        global_batch = cfg.batch_size * cfg.gradient_accumulation_steps * ctx.world_size
        if main and saved_global is not None and saved_global != global_batch:
            log.warning(f"Global batch changed ({saved_global} -> {global_batch} sequences per step): the run "
                        "continues from the same data position, but is not an exact continuation.")
        if main:
            log.info(f"Resumed from {job.resume_from} at step {step} (epoch {batches.epoch_progress:.3f}).")
    else:
        torch.manual_seed(cfg.seed + ctx.rank)

    if step >= steps_total:
        if main:
            log.info(f"{job.resume_from} is already at step {step} of {steps_total}: nothing to train. "
                     "Raise --max_steps (or --num_epochs) to train further, or start over with --fresh.")
        return TrainResult(step=step, final_checkpoint=job.resume_from, stopped_by_signal=None,
                           last_val_loss=last_val)

    flops_tok = flops_per_token(raw_model, cfg.n_layer, cfg.n_embd, cfg.max_length)
    peak = device_peak(device, job.precision.name, job.peak_flops)
    use_compile = cfg.compile == "on" or (cfg.compile == "auto" and device.type == "cuda")
    model = CausalLMLoss(raw_model)  # forward = loss, fused with the output projection
    model = torch.compile(model) if use_compile else model
    if ctx.enabled:
        model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    # --- reporting (rank 0) -------------------------------------------------------------------
    metrics = MetricsLog(job.output_dir / "metrics.jsonl", resume_step=step if state else None) if main else None
    wandb = None
    if main:
        wandb = WandbRun(mode=job.wandb_mode, project=job.wandb_project, name=job.run_name,
                         config=dict(cfg.to_dict(), world_size=ctx.world_size, model=job.model_name),
                         log_dir=job.wandb_dir or job.output_dir, logger=log, resume_id=wandb_id)
        n_params = sum(p.numel() for p in raw_model.parameters())
        log.info(f"Model: {n_params / 1e6:.2f}M parameters, vocab {job.vocab_size} (embedding "
                 f"{raw_model.config.vocab_size}), {cfg.n_layer}x{cfg.n_embd}, context {cfg.max_length}; "
                 f"{device} {job.precision.name}{' compiled' if use_compile else ''}, {ctx.world_size} process(es)")
        log.info(f"Training to step {steps_total}: {tokens_per_step:,} tokens per step, "
                 f"{batches.windows_per_epoch:,} windows per epoch; MFU against {peak.label}")

    def save(final: bool = False) -> Path:
        rng_all = dist_utils.gather_objects(ctx, rng.capture())
        path = None
        if main:
            trainer_state = {
                "epoch": batches.epoch_progress, "data": batches.state_dict(),
                "best_val_loss": None if math.isinf(best_val) else best_val, "last_val_loss": last_val,
                "config": cfg.to_dict(), "world_size": ctx.world_size,
                "global_batch": cfg.batch_size * cfg.gradient_accumulation_steps * ctx.world_size,
                "total_steps": steps_total, "tokens_seen": step * tokens_per_step, "final": final,
                "metrics": last_metrics, "wandb_id": wandb.id if wandb else None,
                "model": job.model_name, "precision": job.precision.name,
                "tokenizer_sha256": file_sha256(job.tokenizer_dir / "tokenizer.json"),
                **job.extra_state,
            }
            path = ckpt.save_checkpoint(
                job.output_dir, step, model=raw_model,
                optimizer_state={"optimizer": optimizer.state_dict(), "scaler": scaler.state_dict()},
                rng_states=rng_all, trainer_state=trainer_state, tokenizer_dir=job.tokenizer_dir,
                generation_config=generation_config(raw_model.config),
                save_total_limit=cfg.save_total_limit, log=log.info,
                protect=[job.resume_from] if job.resume_from is not None else [])
            log.info(f"Saving model checkpoint to {path}")
        dist_utils.barrier(ctx)
        return path

    # --- the loop -----------------------------------------------------------------------------
    last_metrics: dict[str, Any] = {}
    loss_sum = torch.zeros((), device=device)
    norm_sum = torch.zeros((), device=device)
    steps_since_log = 0
    excluded = 0.0  # seconds of eval/checkpoint inside the current logging window
    window_start = time.perf_counter()
    final_path = None
    accum = cfg.gradient_accumulation_steps
    bar = progress_bar(steps_total, step, enabled=main)
    stop = StopFlag()
    with stop:
        while step < steps_total:
            set_learning_rate(optimizer, lr := learning_rate(step, cfg, steps_total))
            loss, norm = optimizer_step(model, raw_model, optimizer, scaler, batches.next_batch, job.precision,
                                        accum, cfg.grad_clip, device, ddp=ctx.enabled)
            loss_sum += loss
            if norm is not None:
                norm_sum += norm
            step += 1
            steps_since_log += 1
            bar.update(1)

            if step % cfg.logging_steps == 0 or step == steps_total:
                # one sync per logging window, not per micro-step
                packed = dist_utils.mean(ctx, torch.stack([loss_sum, norm_sum]))
                train_loss, grad_norm = (packed / steps_since_log).tolist()
                dt = (time.perf_counter() - window_start - excluded) / steps_since_log
                tok_s = tokens_per_step / dt
                fraction = mfu(flops_tok, tok_s, peak, ctx.world_size)
                last_metrics = {"train/loss": train_loss, "train/lr": lr, "train/iter": step,
                                "train/dt_ms": dt * 1000, "train/tokens_per_sec": tok_s,
                                "train/grad_norm": grad_norm if cfg.grad_clip > 0 else None,
                                "train/mfu": fraction, "train/epoch": batches.epoch_progress}
                if main:
                    metrics.write(step, "train", last_metrics)
                    wandb.log({k: v for k, v in last_metrics.items() if v is not None}, step=step)
                    mfu_text = f"{100 * fraction:.1f}%" if fraction is not None else "n/a"
                    bar.set_postfix(loss=f"{train_loss:.3f}", lr=f"{lr:.2e}", refresh=False)
                    log.info(f"step {step}/{steps_total}: loss {train_loss:.4f}, lr {lr:.3e}, "
                             f"grad norm {grad_norm:.3f}, {dt * 1000:.0f} ms/step, {tok_s:,.0f} tok/s, "
                             f"MFU {mfu_text}, epoch {batches.epoch_progress:.3f}")
                loss_sum.zero_()
                norm_sum.zero_()
                steps_since_log, excluded = 0, 0.0
                window_start = time.perf_counter()

            is_last = step == steps_total
            stopping = dist_utils.any_true(ctx, stop.signal_name is not None) if ctx.enabled else stop.signal_name is not None
            if step % cfg.eval_steps == 0 or is_last:
                t0 = time.perf_counter()
                last_val = estimate_loss(model, val_tokens, job)
                train_est = estimate_loss(model, train_tokens, job)
                best_val = min(best_val, last_val)
                eval_metrics = {"eval/val_loss": last_val, "eval/val_ppl": math.exp(min(last_val, 50)),
                                "eval/train_loss": train_est, "eval/iter": step}
                if main:
                    metrics.write(step, "eval", eval_metrics)
                    wandb.log(eval_metrics, step=step)
                    log.info(f"{{'eval_loss': {last_val:.4f}, 'eval_ppl': {eval_metrics['eval/val_ppl']:.2f}, "
                             f"'train_loss': {train_est:.4f}, 'epoch': {batches.epoch_progress:.2f}}}")
                excluded += time.perf_counter() - t0
            if step % cfg.save_steps == 0 or is_last or stopping:
                t0 = time.perf_counter()
                final_path = save(final=is_last)
                excluded += time.perf_counter() - t0
            if stopping and not is_last:
                if main:
                    log.warning(f"{stop.signal_name} received: stopped at step {step} after saving "
                                f"{final_path}; rerun the same command to resume.")
                break
    bar.close()
    if ctx.enabled:
        same = dist_utils.weights_agree(ctx, raw_model)
        if main:
            (log.info if same else log.error)(
                f"Weights are {'identical' if same else 'DIFFERENT'} on all {ctx.world_size} ranks at step {step}")
    if main:
        wandb.finish()
        metrics.close()
        if step >= steps_total:
            log.info(f"Training finished at step {step}; final model in {final_path}")
    return TrainResult(step=step, final_checkpoint=final_path, stopped_by_signal=stop.signal_name,
                       last_val_loss=last_val)
