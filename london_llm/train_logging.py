"""Where training reports go: the terminal and a log file, a metrics JSONL, Weights & Biases.

Only rank 0 reports. W&B runs online when credentials exist, offline otherwise (never waiting on
a network), and not at all with --no_wandb; its metric names are the guide's (train/loss, ...).
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Optional

from tqdm import tqdm

from . import atomic
from .logs import setup_logger

LOGGER_NAME = "london_llm.train"


def setup_logging(log_file: Optional[Path], is_main: bool = True) -> logging.Logger:
    """A logger to the terminal and (rank 0 only) appended to `log_file`; other ranks show warnings only."""
    return setup_logger(LOGGER_NAME, log_file if is_main else None,
                        terminal_level=logging.INFO if is_main else logging.WARNING)


class MetricsLog:
    """`metrics.jsonl`: one JSON object per log/eval event ({"step", "time", "kind", metric: value})."""

    def __init__(self, path: Path, resume_step: Optional[int] = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if resume_step is None or not self.path.exists():
            atomic.write_text(self.path, "")
            self.path.chmod(0o644)
        else:
            self._truncate_after(resume_step)
            self.path.chmod(0o644)
        self._fh = open(self.path, "a", encoding="utf-8")

    def _truncate_after(self, step: int) -> None:
        """Drop events past the resumed step (they will be logged again, identically)."""
        kept = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line)["step"] <= step:
                    kept.append(line)
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line from a killed run
        atomic.write_text(self.path, "".join(k + "\n" for k in kept))

    def write(self, step: int, kind: str, metrics: dict[str, Any]) -> None:
        record = {"step": step, "time": time.time(), "kind": kind}
        record.update(metrics)
        self._fh.write(json.dumps(record) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def read_metrics(path: Path) -> list[dict[str, Any]]:
    out = []
    if Path(path).exists():
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


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
