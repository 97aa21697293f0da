"""A training run on one screen, without W&B: its state, speed and ETA, checkpoints, and whether it is alive.

Reads the metrics log (training.metrics), the checkpoints (training.checkpoint) and the run lock
(training.runlock); `locate_checkpoint` tells which model a checkpoint name or path belongs to.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from london_llm.training.checkpoint import CheckpointInfo, checkpoint_name, set_aside_folders, set_aside_hint
from london_llm.training.metrics import MetricsLog, MonitorError
from london_llm.training.runlock import LOCK_NAME

ETA_WINDOW = 50  # train records (of the current segment) the step rate is measured over


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
    mfu: Optional[float]  # percent of the device's peak, as the trainer logs it
    last_update: Optional[float]
    newest_checkpoint: Optional[CheckpointInfo]
    checkpoints: int
    owner: Optional[str]  # who holds the run lock, when running
    metrics_file: Optional[Path]
    skipped_lines: int = 0
    branch: Optional[str] = None  # the current branch of the run (training.identity)
    branches: list = field(default_factory=list)  # metrics.BranchInfo of every branch in metrics.jsonl


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
        # the run's last measured loss (a checkpoint's own or the one it carries: both were measured)
        val_loss=log.last("eval/val_loss") if log else (
            (newest.val_loss if newest.val_loss is not None else newest.carried_val) if newest else None),
        best_val_loss=best,
        tokens_per_sec=log.last("train/tokens_per_sec") if log else None,
        mfu=log.last("train/mfu") if log else None,
        last_update=log.last_time if log else None,
        newest_checkpoint=newest, checkpoints=len(checkpoints), owner=running_owner,
        metrics_file=log.path if log else None, skipped_lines=log.skipped_lines if log else 0,
        branch=log.branch if log else None, branches=list(log.branches) if log else [])


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


def val_text(info: CheckpointInfo) -> str:
    """A checkpoint's validation loss as every table shows it: its own ("7.2517"), or one it only carries
    from an earlier evaluation marked with where it was measured ("7.2517 (step 40)", "(earlier)" when an
    older checkpoint does not say), or "-" when the run had not evaluated yet."""
    if info.val_loss is not None:
        return _num(info.val_loss)
    if info.carried_val is None:
        return "-"
    return f"{_num(info.carried_val)} " + (f"(step {info.carried_from})" if info.carried_from is not None
                                           else "(earlier)")


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
        lines.append(f"  tokens/s        {_num(status.tokens_per_sec, ',.0f')}   MFU {_num(status.mfu, '.1f')}%")
    if status.last_update is not None:
        lines.append(f"  last logged     {format_duration(now - status.last_update)} ago")
    ck = status.newest_checkpoint
    if ck:
        lines.append(f"  newest ckpt     {ck.name} (val loss {val_text(ck)}, saved {ck.saved}; "
                     f"{status.checkpoints} kept) {ck.path}")
    else:
        lines.append("  newest ckpt     none yet")
    current = next((b for b in status.branches if b.state == "current"), None)
    if current is not None and (len(status.branches) > 1 or current.fork_step is not None):
        lines.append(f"  branch          {current.describe()}")
        for b in status.branches:
            if b.state != "current":
                lines.append(f"  {b.state:<16}{b.describe()}")
    if status.metrics_file:
        lines.append(f"  metrics         {status.metrics_file}")
    if status.skipped_lines:
        lines.append(f"  warning         {status.skipped_lines} unreadable line(s) in the metrics log were skipped")
    if status.state == "stopped" and resume_hint:
        lines.append(f"  to resume       {resume_hint}")
    return "\n".join(lines)


# --- the checkpoint table (resume_training.sh, training_status.py and the checkpoint check) ----------

def human_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def format_checkpoint_table(per_model: dict[str, list[CheckpointInfo]], dirs: dict[str, Path]) -> str:
    """Every model's checkpoints with step, validation loss (val_text: a carried one says where it was
    measured), date, size and whether it is complete; models without any say so. The one layout every
    command that lists checkpoints prints."""
    lines = []
    for model, infos in per_model.items():
        lines.append(f"{model}: {dirs[model]}")
        aside = _set_aside_line(Path(dirs[model]))
        if not infos:
            lines += ["  (no checkpoints)"] + ([aside] if aside else [])
            continue
        lines.append(f"  {'checkpoint':<20} {'step':>9} {'val loss':>9} {'':<9}  {'saved':<16} {'size':>9}  state")
        for c in infos:
            state = "ok" if c.problem is None else f"INCOMPLETE: {c.problem}"
            num, _, note = val_text(c).partition(" ")  # the losses aligned, a carried one's "(step N)" after
            val = f"{num:>9} {note:<9}"
            lines.append(f"  {c.name:<20} {c.step:>9,} {val}  {c.saved:<16} "
                         f"{human_size(c.size_bytes):>9}  {state}")
        if aside:
            lines.append(aside)
    return "\n".join(lines)


def _set_aside_line(root: Path) -> Optional[str]:
    """Where a fresh start (or a resume from an earlier step) moved this folder's checkpoints: listed, so
    a run started by mistake does not seem to have lost them."""
    folders = set_aside_folders(root)
    if not folders:
        return None
    (newest, names), more = folders[0], len(folders) - 1
    span = names[0] if len(names) == 1 else f"{names[0]} .. {names[-1]}"
    return (f"  set aside (not deleted) in {newest}: {span}" + (f"; {more} older folder(s) there too" if more else "")
            + f"; resume one with ./resume_training.sh {newest / names[-1]}")


def locate_checkpoint(given: str, dirs: dict[str, Path], model: Optional[str] = None,
                      cwd: Optional[Path] = None, home: Optional[Path] = None) -> tuple[str, Path]:
    """Which model a checkpoint belongs to, and its folder.

    `given` is a bare name (`checkpoint-500`, looked up in every model's folder) or a path: absolute,
    else from the current folder, else from the artifact root `home` (the rule the training scripts
    follow too: training.checkpoint.resolve). Its parent folder, or the model its trainer_state.json
    records, tells the model. Raises MonitorError saying what exists when that is ambiguous or
    nothing matches. `model` narrows the search (and names the model of a path kept elsewhere).
    """
    cwd = Path.cwd() if cwd is None else cwd
    if model is not None:
        if model not in dirs:
            raise MonitorError(f"unknown model {model!r}: choose one of {', '.join(dirs)}")
        dirs = {model: dirs[model]}
    bare = checkpoint_name(given) if "/" not in given else None
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
        aside = "".join(set_aside_hint(Path(d), bare) for d in dirs.values())
        raise MonitorError(f"checkpoint not found: {given!r} is in none of "
                           f"{', '.join(str(d) for d in dirs.values())}. "
                           + ("Available: " + "; ".join(found) + "." if found else ("No checkpoints exist there." if aside else
                              "No checkpoints exist yet: start training with ./launch_training.sh")) + aside)
    given_path = Path(given).expanduser()
    if given_path.suffix == ".pt" and checkpoint_name(given_path.name):
        given_path = given_path.with_suffix("")
    tried = [given_path] if given_path.is_absolute() else [cwd / given_path] + (
        [Path(home) / given_path] if home is not None else [])
    path = next((p for p in tried if p.is_dir()), tried[0])
    if not path.is_dir():
        raise MonitorError(f"checkpoint not found: {' nor '.join(str(p) for p in tried)} is a folder. "
                           "List them with ./resume_training.sh")
    if checkpoint_name(path.name) is None:
        raise MonitorError(f"{path} is not a checkpoint folder (expected a name like checkpoint-500)")
    path = path.resolve()
    if model is not None:
        return model, path
    owners = [m for m, d in dirs.items() if Path(d).resolve() == path.parent]
    if len(owners) == 1:
        return owners[0], path
    recorded = _recorded_model(path)
    if recorded in dirs:
        return recorded, path
    raise MonitorError(f"cannot tell which model {path} belongs to (its folder is not one of the "
                       f"models' checkpoint folders): pass --model slm, regular or tiny")


def _recorded_model(checkpoint: Path) -> Optional[str]:
    """The model a checkpoint's trainer_state.json records (its run identity, or the older `model` key)."""
    try:
        state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    run = state.get("run") if isinstance(state, dict) else None
    return (run.get("model") if isinstance(run, dict) else None) or (state.get("model") if isinstance(state, dict) else None)


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
