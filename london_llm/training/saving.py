"""Saving the run's checkpoint: what trainer_state.json records, written through training.checkpoint.

Every rank calls `save_run` (each contributes its RNG state); rank 0 alone writes, the others
wait at the barrier, so no rank runs ahead of a checkpoint being written. A save while the next
step is still running (training.midstep) uses `trainer_state` and `write_checkpoint` alone: they
start no collective.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from london_llm.tokenization.format import tokenizer_fingerprint
from london_llm.training import checkpoint as ckpt
from london_llm.training import distributed as dist_utils
from london_llm.training import rng
from london_llm.training.model import generation_config
from london_llm.training.nonfinite import DivergedError, weights_are_finite
from london_llm.training.resume import Progress


def last_good_hint(job) -> str:
    """Where to resume after a divergence, and what to change first."""
    good = ckpt.newest_good(job.output_dir, log=lambda m: None)
    change = "lower --learning_rate" + ("" if job.precision.name == "fp32" else " or use --dtype fp32")
    if good is None:
        return f"No good checkpoint exists in {job.output_dir}: {change} and start over with --fresh."
    return f"The last good checkpoint is {good}: {change}, then resume from it (./resume_training.sh {good.name})."


def save_run(job, progress: Progress, *, raw_model, optimizer, scaler, batches, steps_total: int,
             tokens_per_step: int, wandb_id: Optional[str], final: bool,
             loop_state: Optional[dict] = None, write: bool = True) -> Optional[Path]:
    """Checkpoint `checkpoint-<step>` in job.output_dir (pruned to save_total_limit); its path on rank 0.
    Never a non-finite one: weights with a NaN or infinity raise DivergedError instead. With `write`
    False rank 0 still takes part in the collectives but writes nothing (training.midstep: another
    run took the folder's lock after a mid-step save)."""
    ctx = job.ctx
    if not weights_are_finite(raw_model):  # every rank holds the same weights: all raise alike
        raise DivergedError(f"the weights at step {progress.step} are not finite (NaN or infinite); no checkpoint "
                            f"was written. {last_good_hint(job)}")
    rng_all = dist_utils.gather_objects(ctx, rng.capture())
    path = None
    if ctx.is_main and write:
        state = trainer_state(job, progress, data=batches.state_dict(), epoch=batches.epoch_progress,
                              steps_total=steps_total, tokens_per_step=tokens_per_step, wandb_id=wandb_id,
                              final=final, loop_state=loop_state)
        path = write_checkpoint(job, progress.step, raw_model=raw_model,
                                optimizer_state={"optimizer": optimizer.state_dict(), "scaler": scaler.state_dict()},
                                rng_all=rng_all, state=state)
    dist_utils.barrier(ctx)
    return path


def trainer_state(job, progress: Progress, *, data: dict, epoch: float, steps_total: int, tokens_per_step: int,
                  wandb_id: Optional[str], final: bool, loop_state: Optional[dict] = None) -> dict:
    """What trainer_state.json records for `progress` at the data position `data` (no collectives)."""
    cfg, ctx = job.config, job.ctx
    return {
        "epoch": epoch, "data": data,
        # where each loss was measured: a save between evaluations only carries last_val (checkpoint.measured_val)
        "best_val_loss": progress.best_val_or_none, "last_val_loss": progress.last_val,
        "best_val_step": progress.best_val_step if progress.best_val_or_none is not None else None,
        "last_val_step": progress.last_val_step if progress.last_val is not None else None,
        "config": cfg.to_dict(), "world_size": ctx.world_size,
        "global_batch": cfg.batch_size * cfg.gradient_accumulation_steps * ctx.world_size,
        "total_steps": steps_total, "tokens_seen": progress.step * tokens_per_step, "final": final,
        "metrics": progress.last_metrics, "wandb_id": wandb_id,
        "model": job.model_name, "precision": job.precision.name,
        "tokenizer_sha256": tokenizer_fingerprint(job.tokenizer_dir),
        "schedule_anchor": progress.schedule_anchor, **(loop_state or {}),
        **job.extra_state,
    }


def write_checkpoint(job, step: int, *, raw_model, optimizer_state: dict, rng_all: list, state: dict) -> Path:
    """Rank 0's write of checkpoint-<step> (atomic, pruned, the resumed-from one protected), logged."""
    path = ckpt.save_checkpoint(
        job.output_dir, step, model=raw_model, optimizer_state=optimizer_state,
        rng_states=rng_all, trainer_state=state, tokenizer_dir=job.tokenizer_dir,
        generation_config=generation_config(raw_model.config),
        save_total_limit=job.config.save_total_limit, log=job.logger.info,
        protect=[job.resume_from] if job.resume_from is not None else [])
    job.logger.info(f"Saving model checkpoint to {path}")
    return path
