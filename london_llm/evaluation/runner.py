"""One evaluation run: every task on every checkpoint, with baselines, into one results dict.

Likelihood tasks go through lm-evaluation-harness (harness.py); what it cannot do is ours: bits
per byte per kind and quarter-century (from its per-passage log-likelihoods), the cutoff gap,
tag conditioning, generation tasks (anachronisms, ROUGE) on the inference core, and baselines.

This module runs the checkpoints in turn; the parts live beside it: run_settings (the tasks, modes
and settings), run_data (each checkpoint's data and the sampled passages), baseline_cache,
harness_tasks (the harness call), one task_* module per task family (its metrics and baselines)
and provenance (what ran it).
"""
from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any, Optional

from london_llm.evaluation import baselines as bl
from london_llm.evaluation import harness
from london_llm.evaluation.baseline_cache import BaselineCache
from london_llm.evaluation.errors import EvaluationError
from london_llm.evaluation.harness_tasks import harness_task_names, run_harness
from london_llm.evaluation.provenance import libraries, machine
from london_llm.evaluation.results import new_results
from london_llm.evaluation.run_data import RunData
from london_llm.evaluation.run_settings import MC_TASKS, MODES, TASKS, Settings
from london_llm.evaluation.task_anachronism import anachronism_entry
from london_llm.evaluation.task_bpb import bpb_entry
from london_llm.evaluation.task_conditioning import conditioning_entry
from london_llm.evaluation.task_multiple_choice import mc_entry
from london_llm.evaluation.task_rouge import rouge_entry
from london_llm.inference.loading import set_threads


@contextlib.contextmanager
def _timed(timings: dict[str, float], name: str):
    clock = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round(timings.get(name, 0.0) + time.perf_counter() - clock, 2)


class Run:
    """What the checkpoints of one run share: its settings and budget, data, baselines and questions."""

    def __init__(self, s: Settings):
        if s.mode not in MODES:
            raise EvaluationError(f"--mode must be quick or comprehensive, not {s.mode!r}")
        unknown = [t for t in s.tasks if t not in TASKS]
        if unknown:
            raise EvaluationError(f"unknown task(s) {', '.join(unknown)}; choose from {', '.join(TASKS)}")
        self.s = s
        self.budget = MODES[s.mode]
        self.data = RunData(s, self.budget)
        self.data_dir_out = self.data.data_dir_out
        self.questions: Optional[list[dict]] = None
        if "questions" in s.tasks:
            from london_llm.evaluation.questions import read_questions, write_questions

            if s.questions_file is None:
                raise EvaluationError("task 'questions' needs --questions FILE")
            self.questions = read_questions(s.questions_file)
            self.questions_path = write_questions(self.data_dir_out / "questions.jsonl", self.questions)
        for task, value, flag in (("mmlu", s.mmlu_dir, "--mmlu_dir"), ("hellaswag", s.hellaswag_file, "--hellaswag_file")):
            if task in s.tasks and value is None:
                raise EvaluationError(f"task {task!r} needs {flag} (nothing is downloaded)")
            if value is not None and not Path(value).exists():
                raise EvaluationError(f"{flag} {value} does not exist")
        self.baselines = BaselineCache(s)

    def prompts(self, held) -> list:
        """The generation prompts: the guide's and held-out openings (the anachronism task and the
        human-evaluation export)."""
        from london_llm.evaluation.generation import GUIDE_PROMPTS, Prompt, prompt_from_passage

        prompts = [Prompt(t, "guide") for t in GUIDE_PROMPTS]
        if held:
            for p in held["prompt_passages"][: self.budget.heldout_prompts]:
                pr = prompt_from_passage(p, 24, 0)
                if pr:
                    prompts.append(pr)
        return prompts

    # --- one checkpoint ----------------------------------------------------------------------
    def evaluate_checkpoint(self, spec: str) -> dict[str, Any]:
        from london_llm.inference.errors import InferenceError
        from london_llm.inference.loading import load_model

        timings: dict[str, float] = {}
        clock = time.perf_counter()
        try:
            loaded = load_model(spec, checkpoints_dir=self.s.checkpoints_dir, device=self.s.device)
        except InferenceError as exc:
            raise EvaluationError(str(exc)) from None
        timings["load"] = round(time.perf_counter() - clock, 2)
        files = self.data.run_files(loaded)
        self.data.check_tokenizer(loaded, files)
        set_threads(loaded.model, self.s.threads, loaded.device)
        self.s.log(f"Evaluating {loaded.path} (step {loaded.step}) on {loaded.device}")
        self.device = str(loaded.device)
        started = time.perf_counter()
        with _timed(timings, "heldout"):
            needs_heldout = any(t in self.s.tasks for t in ("bpb", "conditioning", "anachronism", "rouge"))
            held = self.data.heldout(files) if needs_heldout else None
        cfg = loaded.model.config
        entry: dict[str, Any] = {
            "name": loaded.path.name, "path": str(loaded.path), "step": loaded.step, "sha256": loaded.sha256,
            "tokenizer_sha256": files["state"].get("tokenizer_sha256"),
            "shape": {k: getattr(cfg, k, None) for k in ("n_layer", "n_head", "n_embd", "n_positions", "vocab_size")},
            "data_dir": str(files["data_dir"]) if files["data_dir"] else None, "notes": [], "tasks": {}}
        if held is None and any(t in self.s.tasks for t in ("bpb", "conditioning", "rouge")):
            entry["notes"].append("no held-out documents (no pretokenized data_dir with metadata.json for this "
                                  "model): held-out bits per byte, conditioning and ROUGE skipped; pass --data_dir "
                                  "and --documents_file of the training run")
        vocab = bl.real_vocab_size(loaded.model, loaded.tokenizer)
        with _timed(timings, "unigram"):
            unigram = self.baselines.unigram(files["data_dir"], vocab) if self.s.baselines else None
        if self.s.baselines and unigram is None:
            entry["notes"].append("no train.bin for this model: the unigram baseline is skipped")
        names = harness_task_names(self.s.tasks, held)
        if names:
            self.s.log(f"lm-evaluation-harness: {', '.join(names)}")
            with _timed(timings, "harness"):
                out = run_harness(self, loaded.model, loaded.tokenizer, names, held)
            base_out = None
            if self.s.baselines:
                with _timed(timings, "harness_untrained"):
                    base_out = self.baselines.once(("harness", tuple(names)), loaded, lambda: run_harness(
                        self, self.baselines.untrained(loaded), loaded.tokenizer, names, held),
                        "lm-evaluation-harness on the untrained baseline (same shape, random weights)")
            entry["harness"] = {"lm_eval": harness.lm_eval_version(), "tasks": names,
                                "results": {n: out["results"].get(n) for n in names}}
            with _timed(timings, "harness_tables"):  # baselines, groupings
                if "bpb" in self.s.tasks:
                    entry["tasks"]["bpb"] = bpb_entry(out, base_out, held, unigram, loaded, vocab)
                for task in self.s.tasks:
                    if task in MC_TASKS:
                        entry["tasks"][task] = mc_entry(task, out, base_out, unigram, loaded)
        if "conditioning" in self.s.tasks and held is not None:
            with _timed(timings, "conditioning"):
                entry["tasks"]["conditioning"] = conditioning_entry(loaded, held, entry["notes"])
        if "anachronism" in self.s.tasks:
            with _timed(timings, "anachronism"):
                entry["tasks"]["anachronism"] = anachronism_entry(self, loaded, held, unigram)
        if "rouge" in self.s.tasks and held is not None:
            with _timed(timings, "rouge"):
                entry["tasks"]["rouge"] = rouge_entry(self, loaded, held, unigram)
        entry["seconds"] = round(time.perf_counter() - started, 2)
        entry["timings"] = timings  # seconds per phase (the harness runs its tasks together)
        self.s.log(f"{loaded.path.name}: done in {entry['seconds']:.0f} s")
        entry["held"] = held
        if self.s.keep_models:
            entry["loaded"] = loaded  # generation for human evaluation reuses it
        return entry


def evaluate(s: Settings) -> tuple[dict[str, Any], list[dict], "Run"]:
    """Run every checkpoint; returns (results, the checkpoint entries with their runtime extras, the run)."""
    started = time.perf_counter()
    run = Run(s)
    results = new_results(command=s.command, mode=s.mode, seed=s.seed, limit=s.limit, device=s.device,
                          libraries=libraries(), machine=machine())
    results["tasks"] = list(s.tasks)
    entries = []
    for spec in s.checkpoints:
        entry = run.evaluate_checkpoint(spec)
        entries.append(entry)
    entries.sort(key=lambda e: (e["step"] is None, e["step"] or 0))
    results["checkpoints"] = [{k: v for k, v in e.items() if k not in ("loaded", "held")} for e in entries]
    results["wall_seconds"] = round(time.perf_counter() - started, 2)
    results["device"] = getattr(run, "device", s.device)
    return results, entries, run
