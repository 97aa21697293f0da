"""Where training reports go: the terminal and a log file, the progress bar, Weights & Biases
(metrics.jsonl is training.metrics).

Only rank 0 reports. W&B runs online when credentials exist, offline otherwise (never waiting on
a network), and not at all with --no_wandb; its metric names are the guide's (train/loss, ...).
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, Optional

from tqdm import tqdm

from london_llm.logs import setup_logger
from london_llm.training.metrics import METRICS_FILE, MetricsWriter

LOGGER_NAME = "london_llm.train"


def setup_logging(log_file: Optional[Path], is_main: bool = True) -> logging.Logger:
    """A logger to the terminal and (rank 0 only) appended to `log_file`; other ranks show warnings only."""
    return setup_logger(LOGGER_NAME, log_file if is_main else None,
                        terminal_level=logging.INFO if is_main else logging.WARNING)


def wandb_mode(disabled: bool) -> str:
    """'disabled' with --no_wandb or WANDB_MODE=disabled; 'online' with credentials; else 'offline'."""
    if disabled:
        return "disabled"
    env = os.environ.get("WANDB_MODE")
    if env in ("disabled", "offline", "online", "dryrun"):
        return env
    if os.environ.get("WANDB_API_KEY"):
        return "online"
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        if "api.wandb.ai" in netrc.read_text(encoding="utf-8", errors="replace"):
            return "online"
    except OSError:
        pass
    return "offline"


class WandbRun:
    """A thin wrapper that is a no-op when W&B is off or fails to start (training never waits on it)."""

    def __init__(self, *, mode: str, project: str, name: str, config: dict, log_dir: Path,
                 logger: logging.Logger, resume_id: Optional[str] = None):
        self.run = None
        self.logger = logger
        if mode == "disabled":
            return
        try:
            import wandb

            log_dir.mkdir(parents=True, exist_ok=True)
            self.run = wandb.init(project=project, name=name, config=config, dir=str(log_dir), mode=mode,
                                  id=resume_id, resume="allow" if resume_id else None,
                                  settings=wandb.Settings(init_timeout=60, silent=True))
            logger.info(f"W&B run {self.run.id} ({mode}); logs in {log_dir}")
        except Exception as exc:  # noqa: BLE001 - a monitoring failure must not stop training
            logger.warning(f"W&B disabled: could not start ({exc}); metrics still go to metrics.jsonl")
            self.run = None

    @property
    def id(self) -> Optional[str]:
        return self.run.id if self.run is not None else None

    def log(self, metrics: dict[str, Any], step: int) -> None:
        if self.run is not None:
            try:
                self.run.log(metrics, step=step)
            except Exception as exc:  # noqa: BLE001
                self.logger.warning(f"W&B log failed ({exc}); turning W&B off for this run")
                self.run = None

    def finish(self) -> None:
        if self.run is not None:
            try:
                self.run.finish()
            except Exception:  # noqa: BLE001
                pass


def progress_bar(total: int, initial: int, enabled: bool) -> tqdm:
    """The guide's bar: `7%|███▋| 500/60000 [24:36<5:20:11, 2.76s/it]`."""
    return tqdm(total=total, initial=initial, disable=not enabled, dynamic_ncols=True, file=sys.stderr,
                mininterval=1.0, smoothing=0.05)


class Reporter:
    """Everything a run reports, in one place: log lines, metrics.jsonl, W&B and the progress bar.

    Rank 0 reports; on the other ranks every method is a no-op, so the loop calls them unguarded.
    """

    def __init__(self, job, *, start_step: int, steps_total: int, resumed: bool, wandb_id: Optional[str]):
        self.job, self.log = job, job.logger
        self.enabled = job.ctx.is_main
        self.steps_total = steps_total
        self.metrics = self.wandb = None
        if self.enabled:
            cfg = job.config
            self.metrics = MetricsWriter(job.output_dir / METRICS_FILE, resume_step=start_step if resumed else None)
            self.wandb = WandbRun(mode=job.wandb_mode, project=job.wandb_project, name=job.run_name,
                                  config=dict(cfg.to_dict(), world_size=job.ctx.world_size, model=job.model_name),
                                  log_dir=job.wandb_dir or job.output_dir, logger=self.log, resume_id=wandb_id)
        self.bar = progress_bar(steps_total, start_step, enabled=self.enabled)

    @property
    def wandb_id(self) -> Optional[str]:
        return self.wandb.id if self.wandb else None

    def describe_run(self, raw_model, *, compiled: bool, tokens_per_step: int, windows_per_epoch: int,
                     peak_label: str) -> None:
        if not self.enabled:
            return
        job, cfg = self.job, self.job.config
        n_params = sum(p.numel() for p in raw_model.parameters())
        self.log.info(f"Model: {n_params / 1e6:.2f}M parameters, vocab {job.vocab_size} (embedding "
                      f"{raw_model.config.vocab_size}), {cfg.n_layer}x{cfg.n_embd}, context {cfg.max_length}; "
                      f"{job.ctx.device} {job.precision.name}{' compiled' if compiled else ''}, "
                      f"{job.ctx.world_size} process(es)")
        self.log.info(f"Training to step {self.steps_total}: {tokens_per_step:,} tokens per step, "
                      f"{windows_per_epoch:,} windows per epoch; MFU against {peak_label}")

    def train_window(self, step: int, metrics: dict[str, Any]) -> None:
        """One logging window's averages (the keys the loop builds: train/loss, train/lr, ...)."""
        if not self.enabled:
            return
        self.metrics.write(step, "train", metrics)
        self.wandb.log({k: v for k, v in metrics.items() if v is not None}, step=step)
        fraction, loss, lr = metrics["train/mfu"], metrics["train/loss"], metrics["train/lr"]
        mfu_text = f"{100 * fraction:.1f}%" if fraction is not None else "n/a"
        grad_norm = metrics["train/grad_norm"]  # None without clipping, or when no step of the window was finite
        loss_text = f"{loss:.4f}" if loss is not None else "n/a (no finite step)"
        norm_text = f"{grad_norm:.3f}" if grad_norm is not None else "n/a"
        self.bar.set_postfix(loss=f"{loss:.3f}" if loss is not None else "nan", lr=f"{lr:.2e}", refresh=False)
        self.log.info(f"step {step}/{self.steps_total}: loss {loss_text}, lr {lr:.3e}, "
                      f"grad norm {norm_text}, {metrics['train/dt_ms']:.0f} ms/step, "
                      f"{metrics['train/tokens_per_sec']:,.0f} tok/s, MFU {mfu_text}, "
                      f"epoch {metrics['train/epoch']:.3f}")

    def evaluation(self, step: int, metrics: dict[str, Any], epoch: float) -> None:
        if not self.enabled:
            return
        self.metrics.write(step, "eval", metrics)
        self.wandb.log(metrics, step=step)
        self.log.info(f"{{'eval_loss': {metrics['eval/val_loss']:.4f}, 'eval_ppl': {metrics['eval/val_ppl']:.2f}, "
                      f"'train_loss': {metrics['eval/train_loss']:.4f}, 'epoch': {epoch:.2f}}}")

    def close(self) -> None:
        self.bar.close()
        if self.enabled:
            self.wandb.finish()
            self.metrics.close()
