"""Read a training run's metrics log and summarise the run on one screen, without W&B.

The training scripts append one JSON object a line to `<checkpoint dir>/metrics.jsonl`:
`step`, `time` (unix seconds), `kind` ("train" or "eval") and metric keys such as `train/loss`
or `eval/val_loss`.  A live run may be half-way through writing its last line, and a resumed run
restarts from its checkpoint's step, so the same steps appear twice; `read_metrics` keeps only
the timeline the model really followed.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional

from .runlock import LOCK_NAME

if TYPE_CHECKING:  # only the type: the status script answers without importing torch
    from .checkpoint import CheckpointInfo

METRICS_FILE = "metrics.jsonl"
KINDS = ("train", "eval")
ETA_WINDOW = 50  # train records (of the current segment) the step rate is measured over
RESTART_GAP_S = 120.0  # a pause between log lines shorter than this is never taken for a restart


class MonitorError(Exception):
    """A problem a person must fix; the message names the file and what to do."""


@dataclass
class MetricsLog:
    path: Path
    records: list[dict[str, Any]]  # the live timeline, in step order within each segment
    segment_starts: list[int] = field(default_factory=list)  # record index where each (re)start begins
    skipped_lines: int = 0  # lines that were not metric records (corrupt or foreign)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] == kind]

    def series(self, key: str) -> tuple[list[int], list[float]]:
        """Steps and values of one metric, skipping records without it (or with null/NaN)."""
        steps, values = [], []
        for r in self.records:
            v = r.get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                steps.append(r["step"])
                values.append(float(v))
        return steps, values

    def last(self, key: str) -> Optional[float]:
        _, values = self.series(key)
        return values[-1] if values else None

    @property
    def last_step(self) -> Optional[int]:
        return self.records[-1]["step"] if self.records else None

    @property
    def last_time(self) -> Optional[float]:
        times = [r["time"] for r in self.records]
        return max(times) if times else None


def metrics_path(location: Path | str) -> Path:
    """`location` is the metrics file itself or the checkpoint folder that holds it."""
    location = Path(location)
    return location / METRICS_FILE if location.is_dir() else location


def _valid(record: Any) -> bool:
    return (isinstance(record, dict) and record.get("kind") in KINDS
            and isinstance(record.get("step"), int) and not isinstance(record.get("step"), bool)
            and isinstance(record.get("time"), (int, float)))


def read_metrics(location: Path | str) -> MetricsLog:
    path = metrics_path(location)
    if not path.is_file():
        raise MonitorError(
            f"no metrics log at {path}: it is written by the training scripts "
            f"(04_training/train_model_slm.py, ./launch_training.sh); start a run, or point "
            f"--output_dir (or --metrics) at the folder of one")
    raw = path.read_bytes()
    complete, _, _being_written = raw.rpartition(b"\n")
    # The text after the last newline is a line still being written by a live run: not data yet.
    lines = complete.split(b"\n") if complete else []
    records, skipped = [], 0
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            skipped += 1
            continue
        if _valid(record):
            records.append(record)
        else:
            skipped += 1
    timeline, starts = live_timeline(records)
    return MetricsLog(path=path, records=timeline, segment_starts=starts, skipped_lines=skipped)


def _stopped_between(prev: Optional[dict[str, Any]], record: dict[str, Any]) -> bool:
    """Whether the run was stopped and restarted between two train records.

    The trainer trims the log back to the checkpoint it resumes from, so a resume usually shows
    only as a pause far longer than the steps between the records took (their own `train/dt_ms`),
    allowing generously for evaluations and checkpoint saves in between.
    """
    if prev is None or record["kind"] != "train":
        return False
    dt_ms = record.get("train/dt_ms")
    if not isinstance(dt_ms, (int, float)) or dt_ms <= 0:
        return False
    expected = (record["step"] - prev["step"]) * dt_ms / 1000
    return record["time"] - prev["time"] > max(RESTART_GAP_S, 10 * expected)


def live_timeline(records: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[int]]:
    """The records the model really followed, and where each segment (first start, each resume) begins.

    A restart from an earlier checkpoint shows as a step going back: the abandoned records from that
    step on are dropped. A restart after the log was trimmed shows as a long pause.
    """
    out: list[dict[str, Any]] = []
    starts: list[int] = []
    newest: dict[str, int] = {}
    prev_train: Optional[dict[str, Any]] = None
    for r in records:
        step, kind = r["step"], r["kind"]
        if not out or (kind in newest and step <= newest[kind]):
            if out:  # a restart from an earlier checkpoint: its steps replace the abandoned ones
                out = [o for o in out if o["step"] < step]
                starts = [s for s in starts if s < len(out)]
                newest = {}
                for o in out:
                    newest[o["kind"]] = o["step"]
                trains = [o for o in out if o["kind"] == "train"]
                prev_train = trains[-1] if trains else None
            starts.append(len(out))
        elif _stopped_between(prev_train, r):
            starts.append(len(out))
        out.append(r)
        newest[kind] = step
        if kind == "train":
            prev_train = r
    return out, starts


def steps_per_second(log: MetricsLog) -> Optional[float]:
    """Recent training speed in optimizer steps per second, measured within the current segment.

    Wall-clock between log lines includes evaluation and checkpoint pauses, which a real ETA must
    count; the time a run spent stopped before a resume must not, hence the segment.
    """
    start = log.segment_starts[-1] if log.segment_starts else 0
    train = [r for r in log.records[start:] if r["kind"] == "train"][-ETA_WINDOW:]
    if len(train) >= 2 and train[-1]["step"] > train[0]["step"] and train[-1]["time"] > train[0]["time"]:
        return (train[-1]["step"] - train[0]["step"]) / (train[-1]["time"] - train[0]["time"])
    if train and isinstance(train[-1].get("train/dt_ms"), (int, float)) and train[-1]["train/dt_ms"] > 0:
        return 1000.0 / train[-1]["train/dt_ms"]
    return None


@dataclass
class RunStatus:
    state: str  # running | finished | stopped | not started
    step: Optional[int]
    total_steps: Optional[int]
    total_is_guess: bool  # the preset's figure: the run's own is recorded with its first checkpoint
    steps_per_sec: Optional[float]
    eta_seconds: Optional[float]
    train_loss: Optional[float]
    val_loss: Optional[float]
    best_val_loss: Optional[float]
    tokens_per_sec: Optional[float]
    mfu: Optional[float]  # a fraction of the device's peak, as the trainer logs it
    last_update: Optional[float]
    newest_checkpoint: Optional[CheckpointInfo]
    checkpoints: int
    owner: Optional[str]  # who holds the run lock, when running
    metrics_file: Optional[Path]
    skipped_lines: int = 0


def run_status(log: Optional[MetricsLog], checkpoints: list[CheckpointInfo], total_steps: Optional[int],
               running_owner: Optional[str], total_is_guess: bool = False) -> RunStatus:
    """Everything the one-screen status shows, from the log, the checkpoints and the lock holder.

    Only complete checkpoints (manifest checks out) count: an incomplete one cannot be resumed.
    """
    checkpoints = [c for c in checkpoints if c.problem is None]
    newest = max(checkpoints, key=lambda c: c.step) if checkpoints else None
    step = log.last_step if log and log.records else (newest.step if newest else None)
    if newest and (step is None or newest.step > step):
        step = newest.step
    rate = steps_per_second(log) if log else None
    eta = None
    if rate and total_steps is not None and step is not None:
        eta = max(total_steps - step, 0) / rate
    if running_owner:
        state = "running"
    elif step is None:
        state = "not started"
    elif total_steps is not None and step >= total_steps:
        state = "finished"
    else:
        state = "stopped"
    vals = log.series("eval/val_loss")[1] if log else []
    ckpt_vals = [c.val_loss for c in checkpoints if c.val_loss is not None]
    best = min(vals + ckpt_vals) if vals or ckpt_vals else None
    return RunStatus(
        state=state, step=step, total_steps=total_steps, total_is_guess=total_is_guess, steps_per_sec=rate,
        eta_seconds=eta if state == "running" else None,
        train_loss=log.last("train/loss") if log else None,
        val_loss=log.last("eval/val_loss") if log else (newest.val_loss if newest else None),
        best_val_loss=best,
        tokens_per_sec=log.last("train/tokens_per_sec") if log else None,
        mfu=log.last("train/mfu") if log else None,
        last_update=log.last_time if log else None,
        newest_checkpoint=newest, checkpoints=len(checkpoints), owner=running_owner,
        metrics_file=log.path if log else None, skipped_lines=log.skipped_lines if log else 0)


def format_duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return "unknown"
    seconds = int(round(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"


def _num(value: Optional[float], fmt: str = ".4f") -> str:
    return "-" if value is None else format(value, fmt)


def format_status(status: RunStatus, title: str, now: Optional[float] = None,
                  resume_hint: Optional[str] = None) -> str:
    """The one-screen summary a person reads while a run trains or after it ended."""
    now = time.time() if now is None else now
    lines = [f"{title}: {status.state.upper()}" + (f" ({status.owner})" if status.owner else "")]
    if status.step is None:
        lines.append("  no training step logged yet")
    else:
        total = "?" if status.total_steps is None else f"{status.total_steps:,}"
        pct = (f" ({100 * status.step / status.total_steps:.1f}%)"
               if status.total_steps else "")
        guess = ("   (the preset's total: the run records its own with its first checkpoint; "
                 "--max_steps to set it)" if status.total_is_guess else "")
        lines.append(f"  step            {status.step:,} / {total}{pct}{guess}")
    if status.state == "running":
        speed = f"{1 / status.steps_per_sec:.2f} s/step" if status.steps_per_sec else "unknown speed"
        lines.append(f"  ETA             {format_duration(status.eta_seconds)} ({speed})")
    lines.append(f"  train loss      {_num(status.train_loss)}")
    lines.append(f"  val loss        {_num(status.val_loss)}   best {_num(status.best_val_loss)}")
    if status.tokens_per_sec is not None or status.mfu is not None:
        lines.append(f"  tokens/s        {_num(status.tokens_per_sec, ',.0f')}   MFU {_num(None if status.mfu is None else 100 * status.mfu, '.1f')}%")
    if status.last_update is not None:
        lines.append(f"  last logged     {format_duration(now - status.last_update)} ago")
    ck = status.newest_checkpoint
    if ck:
        saved = time.strftime("%Y-%m-%d %H:%M", time.localtime(ck.created)) if ck.created else "?"
        lines.append(f"  newest ckpt     {ck.name} (val loss {_num(ck.val_loss)}, saved {saved}; "
                     f"{status.checkpoints} kept) {ck.path}")
    else:
        lines.append("  newest ckpt     none yet")
    if status.metrics_file:
        lines.append(f"  metrics         {status.metrics_file}")
    if status.skipped_lines:
        lines.append(f"  warning         {status.skipped_lines} unreadable line(s) in the metrics log were skipped")
    if status.state == "stopped" and resume_hint:
        lines.append(f"  to resume       {resume_hint}")
    return "\n".join(lines)


# --- checkpoints of several models (resume_training.sh) -------------------------------------------

def format_checkpoint_table(per_model: dict[str, list[CheckpointInfo]], dirs: dict[str, Path]) -> str:
    """Every model's checkpoints with step, validation loss and date; models without any say so."""
    lines = []
    for model, infos in per_model.items():
        lines.append(f"{model}: {dirs[model]}")
        if not infos:
            lines.append("  (no checkpoints)")
            continue
        lines.append(f"  {'checkpoint':<20} {'step':>9} {'val loss':>9}  {'saved':<16}  state")
        for c in infos:
            saved = time.strftime("%Y-%m-%d %H:%M", time.localtime(c.created)) if c.created else "?"
            state = "ok" if c.problem is None else f"UNUSABLE: {c.problem}"
            lines.append(f"  {c.name:<20} {c.step:>9,} {_num(c.val_loss):>9}  {saved:<16}  {state}")
    return "\n".join(lines)


def _checkpoint_name(text: str) -> Optional[str]:
    """`checkpoint-500` or the guide's `checkpoint-500.pt` -> `checkpoint-500`; anything else None."""
    name = text[:-3] if text.endswith(".pt") else text
    prefix, _, number = name.partition("-")
    return name if prefix == "checkpoint" and number.isdigit() else None


def locate_checkpoint(given: str, dirs: dict[str, Path], model: Optional[str] = None,
                      cwd: Optional[Path] = None) -> tuple[str, Path]:
    """Which model a checkpoint belongs to, and its folder.

    `given` is a bare name (`checkpoint-500`, looked up in every model's folder) or a path (its
    parent folder tells the model). Raises MonitorError saying what exists when that is ambiguous
    or nothing matches. `model` narrows the search (and names the model of a path kept elsewhere).
    """
    cwd = Path.cwd() if cwd is None else cwd
    if model is not None:
        if model not in dirs:
            raise MonitorError(f"unknown model {model!r}: choose one of {', '.join(dirs)}")
        dirs = {model: dirs[model]}
    bare = _checkpoint_name(given) if "/" not in given else None
    if bare:
        hits = [(model, Path(d) / bare) for model, d in dirs.items() if (Path(d) / bare).is_dir()]
        if len(hits) == 1:
            return hits[0][0], hits[0][1].resolve()
        if len(hits) > 1:
            raise MonitorError(
                f"{bare} exists for several models ({', '.join(m for m, _ in hits)}): pass "
                f"--model NAME or the full path, e.g. {hits[0][1]}")
        found = [f"{m}: {', '.join(sorted((p.name for p in Path(d).glob('checkpoint-*') if p.is_dir()), key=lambda n: int(n.split('-')[1])))}"
                 for m, d in dirs.items() if any(p.is_dir() for p in Path(d).glob("checkpoint-*"))]
        raise MonitorError(f"checkpoint not found: {given!r} is in none of "
                           f"{', '.join(str(d) for d in dirs.values())}. "
                           + ("Available: " + "; ".join(found) if found else "No checkpoints exist yet: "
                              "start training with ./launch_training.sh"))
    path = Path(given).expanduser()
    path = (path if path.is_absolute() else cwd / path)
    if path.suffix == ".pt" and not path.is_dir():
        path = path.with_suffix("")
    if not path.is_dir():
        raise MonitorError(f"checkpoint not found: {path} is not a folder. List them with ./resume_training.sh")
    if _checkpoint_name(path.name) is None:
        raise MonitorError(f"{path} is not a checkpoint folder (expected a name like checkpoint-500)")
    path = path.resolve()
    if model is not None:
        return model, path
    owners = [m for m, d in dirs.items() if Path(d).resolve() == path.parent]
    if len(owners) == 1:
        return owners[0], path
    raise MonitorError(f"cannot tell which model {path} belongs to (its folder is not one of the "
                       f"models' checkpoint folders): pass --model slm, regular or tiny")


# --- is a run alive? (the training scripts' run lock, london_llm/runlock.py) ----------------------

def _flock_held(path: Path) -> bool:
    """Whether some process holds a flock on `path`, without ever taking it ourselves.

    /proc/locks lists every flock with its inode; probing with a shared flock would work too, but
    for a moment it would make a run starting at that instant believe the folder is taken.
    """
    inode = path.stat().st_ino
    try:
        table = Path("/proc/locks").read_text()
    except OSError:
        table = None
    if table is not None:
        for line in table.splitlines():
            parts = line.split()
            if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5].rsplit(":", 1)[-1] == str(inode):
                return True
        return False
    import fcntl  # no /proc (not Linux): probe, releasing at once
    with open(path, "rb") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return False


def live_run_owner(output_dir: Path | str) -> Optional[str]:
    """'pid N on HOST, started ...' when a live run holds the output folder's lock; None otherwise.

    A lock file left by a dead run (its flock released by the kernel) does not count as running.
    """
    path = Path(output_dir) / LOCK_NAME
    try:
        if not _flock_held(path):
            return None
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return "owner unknown"
    started = holder.get("started")
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(started)) if isinstance(started, (int, float)) else "?"
    return f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started {when}"
