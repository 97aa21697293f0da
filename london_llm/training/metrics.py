"""metrics.jsonl, the training run's metrics log: its one writer and its one reader.

The training loop appends one JSON object a line to `<checkpoint dir>/metrics.jsonl`:
`step`, `time` (unix seconds), `kind` ("train" or "eval"), `branch` (training.identity) and metric
keys such as `train/loss`, `eval/val_loss` or `train/mfu` (percent of the device's peak)
(MetricsWriter). Nothing is ever cut from it: a branch (a resume from an older checkpoint, or
--branch) opens with a `"kind": "branch"` record naming its parent branch and fork step, and the
abandoned branch's records stay. A live run may be half-way through writing its last line, and a
run killed between checkpoints logs its last steps twice; `read_metrics` follows the current
branch back through its parents and keeps the timeline the model really followed (MetricsLog),
with the other branches beside it (`abandoned`). Records written before branches carry none
(LEGACY_BRANCH) and an MFU that was a fraction; the reader converts it.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from london_llm.errors import LondonLLMError
from london_llm.jsonl import strict_dumps

METRICS_FILE = "metrics.jsonl"
KINDS = ("train", "eval")
BRANCH_KIND = "branch"
LEGACY_BRANCH = "legacy"  # as training.identity: records from before branches
RESTART_GAP_S = 120.0  # a pause between log lines shorter than this is never taken for a restart


class MonitorError(LondonLLMError):
    """A problem a person must fix; the message names the file and what to do."""


@dataclass
class MetricsLog:
    path: Path
    records: list[dict[str, Any]]  # the live timeline, in step order within each segment
    segment_starts: list[int] = field(default_factory=list)  # record index where each (re)start begins
    skipped_lines: int = 0  # lines that were not metric records (corrupt or foreign)
    branch: Optional[str] = None  # the current branch (of the newest record)
    branches: list["BranchInfo"] = field(default_factory=list)  # every branch in the file, current first
    abandoned: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # records of the branches left

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


@dataclass
class BranchInfo:
    id: str
    state: str  # "current", "earlier" (the current branch continues it) or "abandoned"
    first_step: Optional[int]
    last_step: Optional[int]
    parent: Optional[str] = None  # the branch it forked from
    fork_step: Optional[int] = None
    origin: Optional[str] = None  # the checkpoint it was continued from, when it forked
    followed_to: Optional[int] = None  # an earlier branch: the step the current one forked from it

    def describe(self) -> str:
        if self.first_step is None:
            span = "no steps logged"
        elif self.followed_to is not None and self.last_step > self.followed_to:
            span = (f"steps {self.first_step:,}-{self.followed_to:,} followed, {self.followed_to + 1:,}-"
                    f"{self.last_step:,} abandoned and kept in metrics.jsonl")
        else:
            span = f"steps {self.first_step:,}-{self.last_step:,}"
            if self.state == "abandoned":
                span += ", abandoned and kept in metrics.jsonl"
        source = self.parent or self.origin
        fork = f", from step {self.fork_step:,} of {source}" if source and self.fork_step is not None else ""
        return f"{self.id} ({span}{fork})"


def metrics_path(location: Path | str) -> Path:
    """`location` is the metrics file itself or the checkpoint folder that holds it."""
    location = Path(location)
    return location / METRICS_FILE if location.is_dir() else location


def _valid(record: Any) -> bool:
    return (isinstance(record, dict) and record.get("kind") in KINDS + (BRANCH_KIND,)
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
            records.append(_upgrade(record))
        else:
            skipped += 1
    return _branched(path, records, skipped)


def _upgrade(record: dict[str, Any]) -> dict[str, Any]:
    """A record from before branches: LEGACY_BRANCH, and its MFU (then a fraction) as a percentage."""
    if "branch" not in record:
        record["branch"] = LEGACY_BRANCH
        if isinstance(record.get("train/mfu"), (int, float)):
            record["train/mfu"] = 100.0 * record["train/mfu"]
    return record


def _branched(path: Path, records: list[dict[str, Any]], skipped: int) -> MetricsLog:
    """The current branch's timeline (through its parents up to each fork), and the other branches."""
    forks = {r["branch"]: r for r in records if r["kind"] == BRANCH_KIND}
    data = [r for r in records if r["kind"] in KINDS]
    current = data[-1]["branch"] if data else (records[-1]["branch"] if records else None)
    chain, limits = [], {}
    branch, limit = current, None
    while branch is not None and branch not in chain:
        chain.append(branch)
        limits[branch] = limit
        fork = forks.get(branch)
        if not fork or fork.get("parent_output_dir") not in (None, str(path.parent)):
            break  # a fresh start, or a branch of another folder's run: its history is there
        branch, limit = fork.get("parent"), fork["step"]
    kept = [r for r in data if r["branch"] in limits and (limits[r["branch"]] is None or r["step"] <= limits[r["branch"]])]
    timeline, starts = live_timeline(kept)
    abandoned: dict[str, list[dict[str, Any]]] = {}  # other branches, and the earlier ones' steps past a fork
    for r in data:
        limit = limits.get(r["branch"], -1)
        if r["branch"] not in limits or (limit is not None and r["step"] > limit):
            abandoned.setdefault(r["branch"], []).append(r)
    infos = []
    for name in [*chain, *(b for b in abandoned if b not in limits)]:
        own = [r for r in data if r["branch"] == name]
        fork = forks.get(name) or {}
        state = "current" if name == current else "earlier" if name in limits else "abandoned"
        infos.append(BranchInfo(id=name, state=state, first_step=min((r["step"] for r in own), default=None),
                                last_step=max((r["step"] for r in own), default=None), parent=fork.get("parent"),
                                fork_step=fork.get("step"), origin=fork.get("from"),
                                followed_to=limits.get(name)))
    return MetricsLog(path=path, records=timeline, segment_starts=starts, skipped_lines=skipped, branch=current,
                      branches=infos, abandoned=abandoned)


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
        if out and r.get("branch") != out[-1].get("branch"):  # a fork: the branch's own segment
            starts.append(len(out))
        elif not out or (kind in newest and step <= newest[kind]):
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


# --- writing (the training loop, rank 0) -----------------------------------------------------

class MetricsWriter:
    """Appends the training loop's records (rank 0 only), each tagged with the run's branch.

    Appends only: a resumed run's records follow the earlier ones (the reader lets a re-logged step
    replace the one logged before a kill), a branch's follow the abandoned branch's.
    """

    def __init__(self, path: Path, branch: Optional[str] = None):
        self.path = Path(path)
        self.branch = branch
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8")
        self.path.chmod(0o644)
        if self._fh.tell() > 0 and not self._ends_with_newline():
            self._fh.write("\n")  # a line torn by a killed run stays a line of its own (the reader skips it)

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as fh:
            fh.seek(-1, 2)
            return fh.read(1) == b"\n"

    def start_branch(self, step: int, fork: Optional[dict], output_dir: Path) -> None:
        """The record that opens a branch: where it forked from (None: a fresh start)."""
        record = {"step": step, "time": time.time(), "kind": BRANCH_KIND, "branch": self.branch,
                  "parent": fork.get("branch") if fork else None,
                  "parent_output_dir": fork.get("output_dir") if fork else None,
                  "from": fork.get("checkpoint") if fork else None}
        if fork and str(fork.get("output_dir")) == str(Path(output_dir)):
            record["parent_output_dir"] = str(Path(output_dir))
        self._append(record)

    def write(self, step: int, kind: str, metrics: dict[str, Any]) -> None:
        record = {"step": step, "time": time.time(), "kind": kind}
        if self.branch is not None:
            record["branch"] = self.branch
        record.update(metrics)
        self._append(record)

    def _append(self, record: dict[str, Any]) -> None:
        self._fh.write(strict_dumps(record) + "\n")  # strict JSON: a NaN is written as null
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()
