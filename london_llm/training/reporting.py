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


def setup_logging(log_file: Optional[Path], is_main: bool = True, tag: Optional[str] = None) -> logging.Logger:
    """A logger to the terminal and (rank 0 only) appended to `log_file`; other ranks show warnings only.

    Several runs may append to one log file (04_training/model_training.log): there every line carries
    `[tag]` (the model and the process id), and each run begins with a header (log_run_header).
    """
    logger = setup_logger(LOGGER_NAME, log_file if is_main else None,
                          terminal_level=logging.INFO if is_main else logging.WARNING)
    if tag:
        tagged = logging.Formatter(f"%(asctime)s %(levelname)s [{tag}] %(message)s", "%Y-%m-%d %H:%M:%S")
        for handler in logger.handlers:
            if isinstance(handler, logging.FileHandler):
                handler.setFormatter(tagged)
    return logger


def log_run_header(logger: logging.Logger, *, prog: str, argv: list[str], model: str, output_dir: Path,
                   world_size: int) -> None:
    """The line that opens a run in the shared training log: what was run, for which model and folder."""
    import shlex

    command = " ".join([prog, *map(shlex.quote, argv)])
    logger.info(f"===== {command} | model {model} | output {output_dir} | {world_size} process(es) | "
                f"pid {os.getpid()} =====")


CPU_PRESET_OK = ("tiny",)  # presets sized for a CPU; the others are GPU models


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


def wandb_off_reason(mode: str) -> str:
    """Why W&B is not running, for the one line that says so."""
    if mode == "disabled":
        return "--no_wandb or WANDB_MODE=disabled"
    return "it could not start; see the warning above"


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
            sync = (f"; upload it later with: wandb sync {Path(self.run.dir).parent}"
                    if mode in ("offline", "dryrun") and getattr(self.run, "dir", None) else "")
            logger.info(f"W&B run {self.run.id} ({mode}); logs in {log_dir}{sync}")
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
            except Exception as exc:  # noqa: BLE001 - the run has ended; say what W&B may not have got
                self.logger.warning(f"W&B finish failed ({exc}); its last metrics may be missing there "
                                    "(metrics.jsonl has them all)")
            self.run = None


def progress_bar(total: int, initial: int, enabled: bool) -> tqdm:
    """The guide's bar: `7%|███▋| 500/60000 [24:36<5:20:11, 2.76s/it]`."""
    return tqdm(total=total, initial=initial, disable=not enabled, dynamic_ncols=True, file=sys.stderr,
                mininterval=1.0, smoothing=0.05)


def evaluation_bar(total: int, desc: str, enabled: bool) -> tqdm:
    """The evaluation's own bar, below the training bar and gone when it ends: the slm preset's
    evaluation on a CPU takes minutes, which the training bar would spend standing still."""
    return tqdm(total=total, desc=desc, unit="batch", leave=False, disable=not enabled, dynamic_ncols=True,
                file=sys.stderr, mininterval=1.0)


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
            run_id = job.identity
            self.metrics = MetricsWriter(job.output_dir / METRICS_FILE,
                                         branch=run_id.branch if run_id is not None else None)
            if run_id is not None and run_id.forked_from:  # a fork; a fresh start needs no record
                self.metrics.start_branch(start_step, run_id.forked_from, output_dir=job.output_dir)
            self.wandb = WandbRun(mode=job.wandb_mode, project=job.wandb_project, name=job.run_name,
                                  config=dict(cfg.to_dict(), world_size=job.ctx.world_size, model=job.model_name),
                                  log_dir=job.wandb_dir or job.output_dir, logger=self.log, resume_id=wandb_id)
            if self.wandb.run is None:  # the guide's dashboard is off: say where its panels' numbers are
                self.log.info(f"W&B is off ({wandb_off_reason(job.wandb_mode)}): the metrics go to "
                              f"{job.output_dir / METRICS_FILE}; python 10_scripts/training_status.py --model "
                              f"{job.model_name} --output_dir {job.output_dir} shows them, plot_training.py "
                              "with the same flags plots them")
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
        percent, loss, lr = metrics["train/mfu"], metrics["train/loss"], metrics["train/lr"]
        mfu_text = f"{percent:.1f}%" if percent is not None else "n/a"
        grad_norm = metrics["train/grad_norm"]  # None without clipping, or when no step of the window was finite
        loss_text = f"{loss:.4f}" if loss is not None else "n/a (no finite step)"
        norm_text = f"{grad_norm:.3f}" if grad_norm is not None else "n/a"
        self.bar.set_postfix(loss=f"{loss:.3f}" if loss is not None else "nan", lr=f"{lr:.2e}", refresh=False)
        self.log.info(f"step {step}/{self.steps_total}: loss {loss_text}, lr {lr:.3e}, "
                      f"grad norm {norm_text}, {metrics['train/dt_ms']:.0f} ms/step, "
                      f"{metrics['train/tokens_per_sec']:,.0f} tok/s, MFU {mfu_text}, "
                      f"epoch {metrics['train/epoch']:.3f}")

    def first_step(self, seconds: float) -> None:
        """On a CPU, a GPU-sized preset says at once how long the run would take, and what to train instead."""
        job = self.job
        if not self.enabled or job.ctx.device.type != "cpu" or job.model_name in CPU_PRESET_OK:
            return
        remaining = self.steps_total - self.bar.n
        # a run whose first step is its last (--max_steps 1) has no steps left to estimate
        pace = (f": the {remaining:,} steps left would take about {_duration(seconds * remaining)}" if remaining > 0
                else f" (that was this run's last step; each 1,000 steps would take about {_duration(seconds * 1000)})")
        self.log.warning(
            f"The '{job.model_name}' model on the CPU takes {seconds:.1f} s/step{pace}. It is meant for a GPU; to "
            "try the pipeline on a CPU train the few-minute model instead: --model tiny (e.g. "
            "./launch_training.sh --model tiny).")

    def evaluation(self, step: int, metrics: dict[str, Any], epoch: float, runtime_s: Optional[float] = None,
                   batches: int = 0, samples: int = 0) -> None:
        """One evaluation: recorded (metrics.jsonl, W&B) and logged as the guide shows it, with the
        validation pass's own time and speed (`runtime_s` for its `batches` per process and `samples`
        sequences in all): the guide's eval_runtime, eval_samples_per_second, eval_steps_per_second."""
        if not self.enabled:
            return
        self.metrics.write(step, "eval", metrics)
        self.wandb.log(metrics, step=step)
        speed = ""
        if runtime_s:
            speed = (f"'eval_runtime': {runtime_s:.4f}, 'eval_samples_per_second': {samples / runtime_s:.3f}, "
                     f"'eval_steps_per_second': {batches / runtime_s:.3f}, ")
        self.log.info(f"{{'eval_loss': {metrics['eval/val_loss']:.4f}, 'eval_ppl': {metrics['eval/val_ppl']:.2f}, "
                      f"'train_loss': {metrics['eval/train_loss']:.4f}, {speed}'epoch': {epoch:.2f}}}")

    def close(self) -> None:
        self.bar.close()
        if self.enabled:
            self.wandb.finish()
            self.metrics.close()


def _duration(seconds: float) -> str:
    minutes = seconds / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    hours = minutes / 60
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.1f} days"
