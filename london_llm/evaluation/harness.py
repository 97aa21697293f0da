"""The bridge to lm-evaluation-harness: our YAML tasks (05_evaluation/tasks) on a loaded model.

The harness owns the likelihood arithmetic of the multiple-choice tasks (acc, acc_norm and their
standard errors) and of bits per byte (rolling log-likelihood over whole passages, each scored
after one <|endoftext|>, its prefix token, as documents follow each other in training). We pass
it the model object we loaded (HFLM accepts one), so it scores exactly the weights we checked, and
a TaskManager that indexes only our task folder (the built-in index of thousands of tasks takes
half a minute and is not needed offline). Per-document log-likelihoods come back as logged
samples; grouping them by kind and quarter-century is ours (the harness aggregates a task only
as a whole).

Tokenization as the harness does it with our tokenizer: a multiple-choice context is encoded
with no leading <|endoftext|> (our tokenizer's post-processor adds none and `add_bos_token` has
nothing to add; text that looks like a special token is split as characters), which is how most
training windows begin anyway: a random offset in the token stream. Rolling log-likelihood puts
the prefix token (bos = <|endoftext|>) first.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Optional

from london_llm.evaluation.errors import EvaluationError

LN2 = math.log(2)


def lm_eval_version() -> str:
    from importlib.metadata import version

    return version("lm_eval")


class _quiet:
    """lm-eval logs a warning per task for our custom datasets and for a model passed as an object
    (both expected here): keep its log to errors while it runs, so our progress bars stay readable."""

    def __enter__(self):
        self.logger = logging.getLogger("lm_eval")
        self.level = self.logger.level
        self.logger.setLevel(logging.ERROR)

    def __exit__(self, *exc):
        self.logger.setLevel(self.level)


class _no_env_report:
    """simple_evaluate ends by collecting torch's environment report (subprocesses: pip, conda,
    nvidia-smi; 0.6 s a call here, four calls a run); results.json records the libraries and the
    machine itself, so the harness's copy is skipped while we call it."""

    def __enter__(self):
        import lm_eval.evaluator as evaluator

        self.evaluator, self.saved = evaluator, evaluator.add_env_info
        evaluator.add_env_info = lambda storage: storage.setdefault("pretty_env_info", "not collected")

    def __exit__(self, *exc):
        self.evaluator.add_env_info = self.saved


def make_lm(model, tokenizer, *, batch_size: int = 32, max_length: Optional[int] = None):
    """An lm-eval HFLM around an already loaded model (no second load, no network)."""
    from lm_eval.models.huggingface import HFLM

    with _quiet():
        return HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size,
                    max_length=max_length or int(model.config.n_positions))


_MANAGERS: dict[tuple[str, str], Any] = {}


def task_manager(tasks_dir: Path, metadata: Optional[dict[str, Any]] = None):
    """A TaskManager indexing only our folder, made once per folder and metadata (indexing reads
    every YAML file: over a second a call here; a run calls the harness several times)."""
    import json

    from lm_eval.tasks import TaskManager

    key = (str(Path(tasks_dir).resolve()), json.dumps(metadata or {}, sort_keys=True))
    if key not in _MANAGERS:
        _MANAGERS[key] = TaskManager(include_path=str(tasks_dir), include_defaults=False, metadata=metadata or None)
    return _MANAGERS[key]


def evaluate(lm, task_names: list[str], tasks_dir: Path, *, metadata: Optional[dict[str, Any]] = None,
             limit: Optional[int] = None, samples: Optional[dict[str, list[int]]] = None,
             seed: int = 1234) -> dict[str, Any]:
    """simple_evaluate on our tasks; returns the harness's result dict (results + samples)."""
    import lm_eval

    with _quiet():
        manager = task_manager(tasks_dir, metadata)
    unknown = [t for t in task_names if t not in manager.all_tasks]
    if unknown:
        raise EvaluationError(f"lm-eval does not know task(s) {', '.join(unknown)} in {tasks_dir}")
    with _quiet(), _no_env_report():
        out = lm_eval.simple_evaluate(model=lm, tasks=task_names, task_manager=manager, limit=limit,
                                      samples=samples, log_samples=True, random_seed=seed,
                                      numpy_random_seed=seed, torch_random_seed=seed, fewshot_random_seed=seed)
    if out is None:
        raise EvaluationError("lm-eval returned no results")
    return out


def mc_metrics(out: dict[str, Any], task: str) -> dict[str, tuple[float, Optional[float], int]]:
    """acc and acc_norm of a multiple-choice task: (value, stderr, n)."""
    res = out["results"][task]
    n = int(out.get("n-samples", {}).get(task, {}).get("effective", len(out["samples"][task])))
    metrics = {}
    for name in ("acc", "acc_norm"):
        value = res.get(f"{name},none")
        if value is None:  # e.g. MMLU is scored by acc alone
            continue
        stderr = res.get(f"{name}_stderr,none")
        metrics[name] = (float(value), None if stderr in (None, "N/A") else float(stderr), n)
    return metrics


def rolling_samples(out: dict[str, Any], task: str) -> list[dict[str, Any]]:
    """Per-passage (loglikelihood in nats, bytes, the passage's fields) of a loglikelihood_rolling task."""
    rows = []
    for s in sorted(out["samples"][task], key=lambda s: s["doc_id"]):
        doc = s["doc"]
        ll = s["filtered_resps"][0]
        ll = ll[0] if isinstance(ll, (list, tuple)) else ll
        rows.append({"loglikelihood": float(ll), "bytes": len(doc["text"].encode("utf-8")),
                     "kind": doc.get("kind") or "", "year": doc.get("year"), "text": doc["text"]})
    return rows


def bits_per_byte(out: dict[str, Any], task: str) -> float:
    return float(out["results"][task]["bits_per_byte,none"])
