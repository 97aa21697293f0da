"""Saving the run's checkpoint: what trainer_state.json records, written through training.checkpoint.

Every rank calls `save_run` (each contributes its RNG state); rank 0 alone writes, the others
wait at the barrier, so no rank runs ahead of a checkpoint being written.
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
             loop_state: Optional[dict] = None) -> Optional[Path]:
    """Checkpoint `checkpoint-<step>` in job.output_dir (pruned to save_total_limit); its path on rank 0.
    Never a non-finite one: weights with a NaN or infinity raise DivergedError instead."""
    cfg, ctx = job.config, job.ctx
    if not weights_are_finite(raw_model):  # every rank holds the same weights: all raise alike
        raise DivergedError(f"the weights at step {progress.step} are not finite (NaN or infinite); no checkpoint "
                            f"was written. {last_good_hint(job)}")
    rng_all = dist_utils.gather_objects(ctx, rng.capture())
    path = None
    if ctx.is_main:
        trainer_state = {
            "epoch": batches.epoch_progress, "data": batches.state_dict(),
            "best_val_loss": progress.best_val_or_none, "last_val_loss": progress.last_val,
            "config": cfg.to_dict(), "world_size": ctx.world_size,
            "global_batch": cfg.batch_size * cfg.gradient_accumulation_steps * ctx.world_size,
            "total_steps": steps_total, "tokens_seen": progress.step * tokens_per_step, "final": final,
            "metrics": progress.last_metrics, "wandb_id": wandb_id,
            "model": job.model_name, "precision": job.precision.name,
            "tokenizer_sha256": tokenizer_fingerprint(job.tokenizer_dir),
            "schedule_anchor": progress.schedule_anchor, **(loop_state or {}),
            **job.extra_state,
        }
        path = ckpt.save_checkpoint(
            job.output_dir, progress.step, model=raw_model,
            optimizer_state={"optimizer": optimizer.state_dict(), "scaler": scaler.state_dict()},
            rng_states=rng_all, trainer_state=trainer_state, tokenizer_dir=job.tokenizer_dir,
            generation_config=generation_config(raw_model.config),
            save_total_limit=cfg.save_total_limit, log=job.logger.info,
            protect=[job.resume_from] if job.resume_from is not None else [])
        job.logger.info(f"Saving model checkpoint to {path}")
    dist_utils.barrier(ctx)
    return path
