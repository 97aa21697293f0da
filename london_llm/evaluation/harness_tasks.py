"""The lm-evaluation-harness part of a run: which of its tasks the run's tasks ask for, the seeded
subset of each multiple-choice task in quick mode, and the harness call that scores them.

`run` is the runner's Run: its settings (`s`), budget, data (the passage files the tasks read)
and questions.
"""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Optional

from london_llm.evaluation import harness
from london_llm.evaluation.run_settings import BENCHMARKS, CUTOFF_YEAR, DATA_FILES, MC_TASKS


def _count(path: Path, select=None) -> int:
    n = 0
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip() and (select is None or select(json.loads(line))):
                n += 1
    return n


def harness_task_names(tasks, held: Optional[dict]) -> list[str]:
    names = []
    if "bpb" in tasks:
        names += (["london_bpb"] if held else []) + ["london_bpb_modern"]
    for t in tasks:
        names += MC_TASKS.get(t, [])
    return names


def subsets(run, names: list[str]) -> Optional[dict[str, list[int]]]:
    """Seeded subsets of each multiple-choice task in quick mode (None: every item)."""
    if run.s.limit is not None:
        return None
    out = {}
    for name in names:
        n_total = task_size(run, name)
        cap = run.budget.mc_items
        if n_total is None or cap is None or n_total <= cap:
            continue  # every item
        rng = random.Random(f"{run.s.seed}:{name}")
        out[name] = sorted(rng.sample(range(n_total), cap))
    return out or None


def task_size(run, name: str) -> Optional[int]:
    data = run.s.tasks_dir / "data"
    if name == "london_cutoff_before":
        return _count(data / "cutoff_probe.jsonl", lambda r: int(r["year"]) <= CUTOFF_YEAR)
    if name == "london_cutoff_after":
        return _count(data / "cutoff_probe.jsonl", lambda r: int(r["year"]) > CUTOFF_YEAR)
    if name in DATA_FILES:
        return _count(data / DATA_FILES[name])
    if name == "london_questions":
        return len(run.questions or [])
    if name == "london_bpb":
        return None
    if name == "london_bpb_modern":
        return None
    return None  # mmlu / hellaswag: sized by the harness (benchmark cap applied through limit)


def metadata(run, held) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if held:
        meta["documents_file"] = str(held["passages_file"])
    if "bpb" in run.s.tasks:
        meta["modern_file"] = str(run.data.modern()[1])
    if run.questions is not None:
        meta["questions_file"] = str(run.questions_path)
    if run.s.mmlu_dir:
        meta["mmlu_dir"] = str(run.s.mmlu_dir)
    if run.s.hellaswag_file:
        meta["hellaswag_file"] = str(run.s.hellaswag_file)
    return meta


def run_harness(run, model, tokenizer, names, held) -> dict[str, Any]:
    lm = harness.make_lm(model, tokenizer, batch_size=run.s.batch_size)
    meta = metadata(run, held)
    main = [n for n in names if n not in BENCHMARKS]
    bench = [n for n in names if n in BENCHMARKS]
    out = None
    if main:
        out = harness.evaluate(lm, main, run.s.tasks_dir, metadata=meta, limit=run.s.limit,
                               samples=subsets(run, main), seed=run.s.seed)
    if bench:  # their sizes are known only once loaded: the first N items in quick mode
        extra = harness.evaluate(lm, bench, run.s.tasks_dir, metadata=meta, seed=run.s.seed,
                                 limit=run.s.limit or run.budget.benchmark_items)
        if out is None:
            return extra
        out["results"].update(extra["results"])
        out["samples"].update(extra["samples"])
        out.setdefault("n-samples", {}).update(extra.get("n-samples", {}))
    return out
