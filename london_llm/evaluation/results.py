"""The evaluation results artifact: `results.json`, its one writer, reader and version check.

Stage 05 writes it; the publishing stage reads it (through `read_results`) for the model card.
Format 1, one JSON object:

    {
      "format_version": 1,
      "created": "2026-12-01T10:40:00Z",          # UTC
      "command": ["05_evaluation/run_evaluation.py", "--mode", "quick", ...],   # argv as run
      "mode": "quick" | "comprehensive",
      "seed": 1234, "limit": null | int, "device": "cpu",
      "libraries": {"python": "3.12.3", "torch": "...", "transformers": "...", "lm_eval": "0.4.13",
                    "rouge_score": "...", "london_llm": "<git commit or null>"},
      "machine": {"cpu": "model name", "cores": 2},
      "wall_seconds": 95.3,
      "checkpoints": [                            # in the order given, oldest step first
        {
          "name": "checkpoint-200",               # folder name
          "path": "/abs/path/checkpoint-200",
          "step": 200 | null,                     # null for a plain Hugging Face folder
          "sha256": "<sha256 of model.safetensors>" | null,
          "tokenizer_sha256": "..." | null,
          "shape": {"n_layer": 2, "n_head": 4, "n_embd": 128, "n_positions": 128, "vocab_size": 4096},
          "seconds": 41.2,                        # wall time of this checkpoint
          "timings": {"load": 0.3, "harness": 12.1, ...},   # seconds per phase (absent in older files)
          "tasks": {
            "<task name>": {                      # e.g. "bpb", "history_mc", "cutoff", "vocabulary", ...
              "engine": "lm-eval 0.4.13" | "london_llm",   # who computed the metrics
              "metrics": {"<metric>": METRIC, ...},
              "baselines": {"chance" | "unigram" | "untrained": {"<metric>": METRIC, ...}},
              "details": {...}                    # task-specific extras (per-kind tables, words found, ...)
            }
          }
        }
      ]
    }

    METRIC = {"value": float, "stderr": float | null, "n": int | null, "higher_is_better": bool,
              "ci95": [low, high] | absent}

Every metric carries its standard error (null only where none is defined, e.g. a chance rate) and
the number of items it averages. A baseline's metric has the same name as the model's metric so a
table can put them side by side. Readers must refuse any other format_version (ResultsFormatError
names the file and says to rerun 05_evaluation/run_evaluation.py).
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Iterator, Optional

from london_llm.atomic import write_json
from london_llm.jsonl import read_versioned_json
from london_llm.evaluation.errors import EvaluationError

FORMAT_VERSION = 1
RESULTS_FILE = "results.json"
RERUN = "rerun 05_evaluation/run_evaluation.py to write it again"


class ResultsFormatError(EvaluationError):
    """results.json is missing, unreadable or of another format version."""


def metric(value: float, stderr: Optional[float] = None, n: Optional[int] = None, *,
           higher_is_better: bool = True, ci95: Optional[tuple[float, float]] = None) -> dict[str, Any]:
    """One METRIC entry (see the module docstring); NaN and infinities become null."""
    entry: dict[str, Any] = {"value": _finite(value), "stderr": _finite(stderr), "n": None if n is None else int(n),
                             "higher_is_better": bool(higher_is_better)}
    if ci95 is not None:
        entry["ci95"] = [_finite(ci95[0]), _finite(ci95[1])]
    return entry


def _finite(x: Optional[float]) -> Optional[float]:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def new_results(*, command: list[str], mode: str, seed: int, limit: Optional[int], device: str,
                libraries: dict[str, Optional[str]], machine: dict[str, Any]) -> dict[str, Any]:
    return {"format_version": FORMAT_VERSION, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": list(command), "mode": mode, "seed": seed, "limit": limit, "device": device,
            "libraries": dict(libraries), "machine": dict(machine), "wall_seconds": None, "checkpoints": []}


def validate(results: Any, source: str = "results") -> dict[str, Any]:
    """Check the structure a reader relies on; ResultsFormatError naming `source` otherwise."""
    if not isinstance(results, dict):
        raise ResultsFormatError(f"{source} is not a JSON object - {RERUN}")
    version = results.get("format_version")
    if version != FORMAT_VERSION:
        raise ResultsFormatError(f"{source} has format_version {version!r}; this code reads format "
                                 f"{FORMAT_VERSION} - {RERUN}")
    checkpoints = results.get("checkpoints")
    if not isinstance(checkpoints, list):
        raise ResultsFormatError(f"{source} has no list of checkpoints - {RERUN}")
    for i, ck in enumerate(checkpoints):
        if not isinstance(ck, dict) or not isinstance(ck.get("tasks"), dict) or "name" not in ck:
            raise ResultsFormatError(f"{source}: checkpoint entry {i} lacks name/tasks - {RERUN}")
        for task, entry in ck["tasks"].items():
            if not isinstance(entry, dict) or not isinstance(entry.get("metrics"), dict):
                raise ResultsFormatError(f"{source}: task {task!r} of {ck['name']} lacks metrics - {RERUN}")
            for name, m in entry["metrics"].items():
                if not isinstance(m, dict) or "value" not in m or "stderr" not in m:
                    raise ResultsFormatError(f"{source}: metric {task}/{name} of {ck['name']} lacks "
                                             f"value/stderr - {RERUN}")
    return results


def write_results(folder: Path, results: dict[str, Any]) -> Path:
    """Validate, then write `folder/results.json` atomically; returns its path."""
    validate(results, "the results being written")
    path = Path(folder) / RESULTS_FILE
    write_json(path, results)
    return path


def read_results(path: Path) -> dict[str, Any]:
    """results.json (or the folder holding it), validated; ResultsFormatError if unusable."""
    file, results = read_versioned_json(
        path, RESULTS_FILE, version=FORMAT_VERSION, error=ResultsFormatError, advice=RERUN,
        missing=f"{Path(path) / RESULTS_FILE if Path(path).is_dir() else path} does not exist - "
                "run 05_evaluation/run_evaluation.py first")
    return validate(results, str(file))


def iter_metrics(results: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Flat rows for tables and model cards: checkpoint, step, task, metric, value, stderr, n and
    each baseline's value under `baseline_<name>`."""
    for ck in results["checkpoints"]:
        for task, entry in ck["tasks"].items():
            baselines = entry.get("baselines") or {}
            for name, m in entry["metrics"].items():
                row = {"checkpoint": ck["name"], "step": ck.get("step"), "task": task, "metric": name,
                       "value": m["value"], "stderr": m["stderr"], "n": m.get("n"),
                       "higher_is_better": m.get("higher_is_better", True)}
                for base, metrics in baselines.items():
                    if name in metrics:
                        row[f"baseline_{base}"] = metrics[name]["value"]
                yield row
