"""Stage 05's results for one checkpoint, for the card's evaluation section and model-index.

The reader belongs to the evaluation stage (london_llm.evaluation.results, format 1); this
module only finds the results.json that evaluated *this* checkpoint (same model.safetensors
sha256, else same folder) and flattens its metrics. `read_rows` is the one place that touches
the format.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .errors import PublishError

RESULTS_FILE = "results.json"


@dataclass
class EvalRow:
    task: str
    metric: str
    value: float
    stderr: Optional[float]
    n: Optional[int]
    higher_is_better: bool
    baselines: dict[str, float]


@dataclass
class Evaluation:
    path: Path        # the results.json
    created: str
    mode: str
    rows: list[EvalRow]


def read_rows(path: Path, checkpoint: Path, sha256: Optional[str]) -> Optional[Evaluation]:
    """This checkpoint's metrics in `path` (format 1 of london_llm.evaluation.results), or None."""
    try:
        from london_llm.evaluation.results import ResultsFormatError, read_results
    except ImportError:  # the evaluation stage is absent: read format 1 directly, refusing any other
        read_results, ResultsFormatError = _read_format_1, PublishError
    try:
        results = read_results(path)
    except ResultsFormatError as exc:  # names the file and says to rerun stage 05
        raise PublishError(str(exc)) from None
    for entry in results["checkpoints"]:
        same = (sha256 is not None and entry.get("sha256") == sha256) or \
               (entry.get("path") and Path(entry["path"]).resolve() == Path(checkpoint).resolve())
        if not same:
            continue
        rows = []
        for task, data in entry["tasks"].items():
            baselines = data.get("baselines") or {}
            for name, m in data["metrics"].items():
                if m.get("value") is None:
                    continue
                rows.append(EvalRow(task, name, float(m["value"]), m.get("stderr"), m.get("n"),
                                    bool(m.get("higher_is_better", True)),
                                    {b: v[name]["value"] for b, v in baselines.items()
                                     if name in v and v[name].get("value") is not None}))
        return Evaluation(Path(path), str(results.get("created", "")), str(results.get("mode", "")), rows)
    return None


def _read_format_1(path: Path) -> dict:
    try:
        results = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PublishError(f"{path} is not a readable results.json ({exc}); rerun 05_evaluation/run_evaluation.py")
    if not isinstance(results, dict) or results.get("format_version") != 1 or \
            not isinstance(results.get("checkpoints"), list):
        raise PublishError(f"{path} is not evaluation results of format 1; rerun 05_evaluation/run_evaluation.py")
    return results


def find_evaluation(where: Optional[Path], checkpoint: Path, sha256: Optional[str]) -> Optional[Evaluation]:
    """The newest results.json under `where` (a file, or a folder searched recursively) that
    evaluated this checkpoint; None when there is none."""
    if where is None:
        return None
    where = Path(where)
    if where.is_file():
        candidates = [where]
    elif where.is_dir():
        candidates = sorted(where.rglob(RESULTS_FILE), key=lambda p: p.stat().st_mtime, reverse=True)
    else:
        return None
    for candidate in candidates:
        found = read_rows(candidate, checkpoint, sha256)
        if found is not None and found.rows:
            return found
    return None
