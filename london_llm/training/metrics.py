"""metrics.jsonl, the training run's metrics log: its one writer and its one reader.

The training loop appends one JSON object a line to `<checkpoint dir>/metrics.jsonl`:
`step`, `time` (unix seconds), `kind` ("train" or "eval") and metric keys such as `train/loss`
or `eval/val_loss` (MetricsWriter). A live run may be half-way through writing its last line, and
a resumed run restarts from its checkpoint's step, so the same steps appear twice; `read_metrics`
keeps only the timeline the model really followed (MetricsLog).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from london_llm import atomic
from london_llm.errors import LondonLLMError
from london_llm.jsonl import strict_dumps

METRICS_FILE = "metrics.jsonl"
KINDS = ("train", "eval")
RESTART_GAP_S = 120.0  # a pause between log lines shorter than this is never taken for a restart


class MonitorError(LondonLLMError):
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


# --- writing (the training loop, rank 0) -----------------------------------------------------

class MetricsWriter:
    """Appends the training loop's records (rank 0 only); a resumed run first drops what follows its step."""

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
        self._fh.write(strict_dumps(record) + "\n")  # strict JSON: a NaN is written as null
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()
