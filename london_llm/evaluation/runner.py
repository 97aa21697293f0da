"""One evaluation run: every task on every checkpoint, with baselines, into one results dict.

Likelihood tasks go through lm-evaluation-harness (harness.py); what it cannot do is ours: bits
per byte per kind and quarter-century (from its per-passage log-likelihoods), the cutoff gap,
tag conditioning, generation tasks (anachronisms, ROUGE) on the inference core, and baselines.
"""
from __future__ import annotations

import contextlib
import json
import math
import platform
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from tqdm import tqdm

from london_llm.evaluation import baselines as bl
from london_llm.evaluation import harness
from london_llm.evaluation.errors import EvaluationError
from london_llm.evaluation.heldout import (Passage, document_starts, held_out_documents, quarter_century,
                                           sample_passages, split_source, write_passages)
from london_llm.evaluation.results import metric, new_results
from london_llm.evaluation.stats import mean_stderr, poisson_interval, ratio_stderr
from london_llm.inference.loading import set_threads  # noqa: F401 - used below, and by older callers

LN2 = math.log(2)
TASKS = ("bpb", "history", "cutoff", "vocabulary", "conditioning", "anachronism", "rouge", "questions",
         "mmlu", "hellaswag")
DEFAULT_TASKS = ("bpb", "history", "cutoff", "vocabulary", "conditioning", "anachronism", "rouge")
MC_TASKS = {"history": ["london_history"], "cutoff": ["london_cutoff_before", "london_cutoff_after"],
            "vocabulary": ["london_vocabulary"], "questions": ["london_questions"], "mmlu": ["london_mmlu"],
            "hellaswag": ["london_hellaswag"]}
DATA_FILES = {"london_history": "history_mc.jsonl", "london_cutoff_before": "cutoff_probe.jsonl",
              "london_cutoff_after": "cutoff_probe.jsonl", "london_vocabulary": "vocabulary_pairs.jsonl"}
CUTOFF_YEAR = 1913
BENCHMARKS = ("london_mmlu", "london_hellaswag")


@dataclass(frozen=True)
class Budget:
    mc_items: Optional[int]  # per multiple-choice task (seeded subset); None = all
    passages: int  # held-out passages for bits per byte (and as many modern ones)
    passage_chars: int
    conditioning_docs: int
    heldout_prompts: int
    samples_per_prompt: int
    gen_tokens: int
    rouge_passages: int
    rouge_tokens: int
    benchmark_items: Optional[int]


MODES = {
    "quick": Budget(mc_items=60, passages=24, passage_chars=1000, conditioning_docs=12, heldout_prompts=4,
                    samples_per_prompt=2, gen_tokens=48, rouge_passages=8, rouge_tokens=32, benchmark_items=100),
    "comprehensive": Budget(mc_items=None, passages=120, passage_chars=2000, conditioning_docs=60,
                            heldout_prompts=16, samples_per_prompt=3, gen_tokens=96, rouge_passages=32,
                            rouge_tokens=64, benchmark_items=None),
}


@dataclass
class Settings:
    checkpoints: list[str]
    checkpoints_dir: Optional[Path]
    output_dir: Path
    tasks_dir: Path
    mode: str = "quick"
    tasks: tuple[str, ...] = DEFAULT_TASKS
    seed: int = 1234
    limit: Optional[int] = None
    device: str = "auto"
    documents_file: Optional[Path] = None
    data_dir: Optional[Path] = None
    questions_file: Optional[Path] = None
    mmlu_dir: Optional[Path] = None
    hellaswag_file: Optional[Path] = None
    batch_size: int = 32
    baselines: bool = True
    command: list[str] = field(default_factory=list)
    threads: Optional[int] = None  # torch intra-op threads; None: 1 for small models (see set_threads)
    keep_models: bool = False  # keep each loaded model (human-evaluation export generates from them)
    log: Callable[[str], None] = print


def libraries() -> dict[str, Optional[str]]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, Optional[str]] = {"python": platform.python_version()}
    for name in ("torch", "transformers", "lm_eval", "rouge_score", "tokenizers", "datasets", "krippendorff"):
        try:
            out[name] = version(name.replace("_", "-") if name == "rouge_score" else name)
        except PackageNotFoundError:
            out[name] = None
    out["london_llm"] = _git_commit()
    return out


def _git_commit() -> Optional[str]:
    import subprocess

    try:
        root = Path(__file__).resolve().parents[2]
        return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine() -> dict[str, Any]:
    import os

    cpu = platform.processor() or ""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform()}


def _tokenizer_key(loaded) -> str:
    import hashlib

    backend = getattr(loaded.tokenizer, "backend_tokenizer", None)
    text = backend.to_str() if backend is not None else repr(sorted(loaded.tokenizer.get_vocab().items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@contextlib.contextmanager
def _timed(timings: dict[str, float], name: str):
    clock = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round(timings.get(name, 0.0) + time.perf_counter() - clock, 2)


def _count(path: Path, select=None) -> int:
    n = 0
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip() and (select is None or select(json.loads(line))):
                n += 1
    return n


class Run:
    def __init__(self, s: Settings):
        if s.mode not in MODES:
            raise EvaluationError(f"--mode must be quick or comprehensive, not {s.mode!r}")
        unknown = [t for t in s.tasks if t not in TASKS]
        if unknown:
            raise EvaluationError(f"unknown task(s) {', '.join(unknown)}; choose from {', '.join(TASKS)}")
        self.s = s
        self.budget = MODES[s.mode]
        self.data_dir_out = s.output_dir / "data"
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
        self._heldout_cache: dict[tuple, Any] = {}
        self._untrained_cache: dict[tuple, Any] = {}
        self._baseline_cache: dict[tuple, Any] = {}
        self._unigram_cache: dict[str, Any] = {}
        self._modern: Optional[list[Passage]] = None

    # --- data --------------------------------------------------------------------------------
    def run_files(self, loaded) -> dict[str, Any]:
        """Where the run's data and held-out documents are (flags first, then trainer_state.json)."""
        state = {}
        try:
            state = json.loads((loaded.path / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
        data_dir = self.s.data_dir or (Path(state["data_dir"]) if state.get("data_dir") else None)
        documents = self.s.documents_file or (Path(state["documents_file"]) if state.get("documents_file") else None)
        return {"state": state, "data_dir": data_dir, "documents_file": documents}

    def check_tokenizer(self, loaded, files) -> None:
        """A checkpoint folder's tokenizer must be the one its weights were trained with."""
        from london_llm.tokenization.format import tokenizer_fingerprint

        current = tokenizer_fingerprint(loaded.path)
        recorded = files["state"].get("tokenizer_sha256")
        if recorded and current and current != recorded:
            raise EvaluationError(f"{loaded.path}: tokenizer.json is not the tokenizer this model was trained with "
                                  f"(sha256 {current[:12]}, trainer_state.json says {recorded[:12]}); "
                                  "the folder mixes files of two runs - copy the run's tokenizer back or pick "
                                  "another checkpoint")
        meta_file = files["data_dir"] / "metadata.json" if files["data_dir"] else None
        if meta_file is not None and meta_file.is_file() and current:
            built_with = json.loads(meta_file.read_text(encoding="utf-8")).get("tokenizer_sha256")
            if built_with and built_with != current:
                raise EvaluationError(f"{loaded.path}: its tokenizer.json is not the one the training data in "
                                      f"{files['data_dir']} was built with; pass the run's own --data_dir")

    def heldout(self, files) -> Optional[dict[str, Any]]:
        if files["data_dir"] is None or not (Path(files["data_dir"]) / "metadata.json").is_file():
            return None
        source = split_source(files["data_dir"], files["documents_file"])
        key = (str(source.documents_file), source.seed, source.val_fraction)
        if key not in self._heldout_cache:
            self.s.log(f"Finding the held-out documents of {source.documents_file} (seed {source.seed}, "
                       f"val_fraction {source.val_fraction})")
            docs = held_out_documents(source)
            if not docs:
                raise EvaluationError(f"no held-out documents found in {source.documents_file}")
            b = self.budget
            passages = sample_passages(docs, b.passages, b.passage_chars, self.s.seed)
            tag = f"{len(self._heldout_cache)}"
            self._heldout_cache[key] = {
                "documents": docs, "passages": passages,
                "passages_file": write_passages(self.data_dir_out / f"heldout{tag}.jsonl", passages),
                "starts": document_starts(docs, b.conditioning_docs, b.passage_chars, self.s.seed + 1),
                "prompt_passages": sample_passages(docs, max(b.heldout_prompts, b.rouge_passages), 1200,
                                                   self.s.seed + 2),
                "source": source}
        return self._heldout_cache[key]

    def modern(self) -> tuple[list[Passage], Path]:
        if self._modern is None:
            from london_llm.evaluation.modern import modern_passages

            self._modern = modern_passages(self.budget.passages, self.budget.passage_chars, self.s.seed)
            self._modern_file = write_passages(self.data_dir_out / "modern.jsonl", self._modern)
        return self._modern, self._modern_file

    # --- harness -----------------------------------------------------------------------------
    def harness_tasks(self, held: Optional[dict]) -> list[str]:
        names = []
        if "bpb" in self.s.tasks:
            names += (["london_bpb"] if held else []) + ["london_bpb_modern"]
        for t in self.s.tasks:
            names += MC_TASKS.get(t, [])
        return names

    def subsets(self, names: list[str]) -> Optional[dict[str, list[int]]]:
        """Seeded subsets of each multiple-choice task in quick mode (None: every item)."""
        if self.s.limit is not None:
            return None
        out = {}
        for name in names:
            n_total = self.task_size(name)
            cap = self.budget.mc_items
            if n_total is None or cap is None or n_total <= cap:
                continue  # every item
            rng = random.Random(f"{self.s.seed}:{name}")
            out[name] = sorted(rng.sample(range(n_total), cap))
        return out or None

    def task_size(self, name: str) -> Optional[int]:
        data = self.s.tasks_dir / "data"
        if name == "london_cutoff_before":
            return _count(data / "cutoff_probe.jsonl", lambda r: int(r["year"]) <= CUTOFF_YEAR)
        if name == "london_cutoff_after":
            return _count(data / "cutoff_probe.jsonl", lambda r: int(r["year"]) > CUTOFF_YEAR)
        if name in DATA_FILES:
            return _count(data / DATA_FILES[name])
        if name == "london_questions":
            return len(self.questions or [])
        if name == "london_bpb":
            return None
        if name == "london_bpb_modern":
            return None
        return None  # mmlu / hellaswag: sized by the harness (benchmark cap applied through limit)

    def metadata(self, held) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        if held:
            meta["documents_file"] = str(held["passages_file"])
        if "bpb" in self.s.tasks:
            meta["modern_file"] = str(self.modern()[1])
        if self.questions is not None:
            meta["questions_file"] = str(self.questions_path)
        if self.s.mmlu_dir:
            meta["mmlu_dir"] = str(self.s.mmlu_dir)
        if self.s.hellaswag_file:
            meta["hellaswag_file"] = str(self.s.hellaswag_file)
        return meta

    def run_harness(self, model, tokenizer, names, held) -> dict[str, Any]:
        lm = harness.make_lm(model, tokenizer, batch_size=self.s.batch_size)
        meta = self.metadata(held)
        main = [n for n in names if n not in BENCHMARKS]
        bench = [n for n in names if n in BENCHMARKS]
        out = None
        if main:
            out = harness.evaluate(lm, main, self.s.tasks_dir, metadata=meta, limit=self.s.limit,
                                   samples=self.subsets(main), seed=self.s.seed)
        if bench:  # their sizes are known only once loaded: the first N items in quick mode
            extra = harness.evaluate(lm, bench, self.s.tasks_dir, metadata=meta, seed=self.s.seed,
                                     limit=self.s.limit or self.budget.benchmark_items)
            if out is None:
                return extra
            out["results"].update(extra["results"])
            out["samples"].update(extra["samples"])
            out.setdefault("n-samples", {}).update(extra.get("n-samples", {}))
        return out

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
        files = self.run_files(loaded)
        self.check_tokenizer(loaded, files)
        set_threads(loaded.model, self.s.threads, loaded.device)
        self.s.log(f"Evaluating {loaded.path} (step {loaded.step}) on {loaded.device}")
        self.device = str(loaded.device)
        started = time.perf_counter()
        with _timed(timings, "heldout"):
            held = self.heldout(files) if any(t in self.s.tasks for t in ("bpb", "conditioning", "anachronism", "rouge")) else None
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
            unigram = self.unigram(files["data_dir"], vocab) if self.s.baselines else None
        if self.s.baselines and unigram is None:
            entry["notes"].append("no train.bin for this model: the unigram baseline is skipped")
        names = self.harness_tasks(held)
        if names:
            self.s.log(f"lm-evaluation-harness: {', '.join(names)}")
            with _timed(timings, "harness"):
                out = self.run_harness(loaded.model, loaded.tokenizer, names, held)
            base_out = None
            if self.s.baselines:
                with _timed(timings, "harness_untrained"):
                    base_out = self.baseline_once(("harness", tuple(names)), loaded, lambda: self.run_harness(
                        self.untrained(loaded), loaded.tokenizer, names, held),
                        "lm-evaluation-harness on the untrained baseline (same shape, random weights)")
            entry["harness"] = {"lm_eval": harness.lm_eval_version(), "tasks": names,
                                "results": {n: out["results"].get(n) for n in names}}
            with _timed(timings, "harness_tables"):  # baselines, groupings
                if "bpb" in self.s.tasks:
                    entry["tasks"]["bpb"] = self.bpb_entry(out, base_out, held, unigram, loaded, vocab)
                for task in self.s.tasks:
                    if task in MC_TASKS:
                        entry["tasks"][task] = self.mc_entry(task, out, base_out, unigram, loaded)
        if "conditioning" in self.s.tasks and held is not None:
            with _timed(timings, "conditioning"):
                entry["tasks"]["conditioning"] = self.conditioning_entry(loaded, held, entry["notes"])
        if "anachronism" in self.s.tasks:
            with _timed(timings, "anachronism"):
                entry["tasks"]["anachronism"] = self.anachronism_entry(loaded, held, unigram)
        if "rouge" in self.s.tasks and held is not None:
            with _timed(timings, "rouge"):
                entry["tasks"]["rouge"] = self.rouge_entry(loaded, held, unigram)
        entry["seconds"] = round(time.perf_counter() - started, 2)
        entry["timings"] = timings  # seconds per phase (the harness runs its tasks together)
        self.s.log(f"{loaded.path.name}: done in {entry['seconds']:.0f} s")
        entry["held"] = held
        if self.s.keep_models:
            entry["loaded"] = loaded  # generation for human evaluation reuses it
        return entry

    def baseline_once(self, what: tuple, loaded, compute, message: Optional[str] = None):
        """The untrained baseline's result, computed once per model shape and tokenizer (checkpoints of
        one run share it)."""
        key = (what, loaded.model.config.to_json_string(), _tokenizer_key(loaded))
        if key not in self._baseline_cache:
            if message:
                self.s.log(message)
            self._baseline_cache[key] = compute()
        return self._baseline_cache[key]

    def untrained(self, loaded):
        key = (tuple(sorted(loaded.model.config.to_dict().items(), key=lambda kv: kv[0]).__repr__()),)
        if key not in self._untrained_cache:
            self._untrained_cache.clear()  # one at a time: a large model twice is too much memory
            self._untrained_cache[key] = bl.untrained_model(loaded.model, self.s.seed)
        return self._untrained_cache[key]

    def unigram(self, data_dir: Optional[Path], vocab: int):
        if data_dir is None:
            return None
        key = f"{data_dir}:{vocab}"
        if key not in self._unigram_cache:
            self._unigram_cache[key] = bl.optional_unigram(Path(data_dir), vocab)
        return self._unigram_cache[key]

    # --- task entries --------------------------------------------------------------------------
    def bpb_entry(self, out, base_out, held, unigram, loaded, vocab) -> dict[str, Any]:
        tok = loaded.tokenizer
        details: dict[str, Any] = {"convention": "rolling log-likelihood of each passage after <|endoftext|>, "
                                   "summed over passages and divided by their UTF-8 bytes (lm-eval bits_per_byte)"}
        metrics: dict[str, Any] = {}
        base: dict[str, dict] = {"chance": {}, "unigram": {}, "untrained": {}}

        def pooled(rows):
            bits = [-r["loglikelihood"] / LN2 for r in rows]
            return ratio_stderr(bits, [r["bytes"] for r in rows])

        def add(name, rows, base_rows, higher=False):
            value, se = pooled(rows)
            metrics[name] = metric(value, se, len(rows), higher_is_better=higher)
            if base_rows is not None:
                v, e = pooled(base_rows)
                base["untrained"][name] = metric(v, e, len(base_rows), higher_is_better=higher)
            ids = bl.passages_tokens(tok, [r["text"] for r in rows])
            n_bytes = [r["bytes"] for r in rows]
            v, e = ratio_stderr([len(i) * bl.uniform_bits_per_token(vocab) for i in ids], n_bytes)
            base["chance"][name] = metric(v, e, len(rows), higher_is_better=higher)
            if unigram is not None:
                v, e = ratio_stderr([unigram.bits(i) for i in ids], n_bytes)
                base["unigram"][name] = metric(v, e, len(rows), higher_is_better=higher)
            return value

        modern_rows = harness.rolling_samples(out, "london_bpb_modern")
        base_modern = harness.rolling_samples(base_out, "london_bpb_modern") if base_out else None
        modern_value = add("bpb_modern", modern_rows, base_modern)
        details["modern_source"] = __import__("london_llm.evaluation.modern", fromlist=["x"]).description()
        if held:
            rows = harness.rolling_samples(out, "london_bpb")
            base_rows = harness.rolling_samples(base_out, "london_bpb") if base_out else None
            value = add("bpb_heldout", rows, base_rows)
            details["harness_bits_per_byte"] = harness.bits_per_byte(out, "london_bpb")
            # the gap: how much easier period text is than modern text (positive = period easier)
            metrics["period_advantage"] = metric(modern_value - value,
                                                 math.hypot(metrics["bpb_modern"]["stderr"] or 0,
                                                            metrics["bpb_heldout"]["stderr"] or 0),
                                                 len(rows) + len(modern_rows), higher_is_better=True)
            details["by_kind"] = self._grouped(rows, base_rows, lambda r: r["kind"] or "unknown", pooled)
            details["by_quarter_century"] = self._grouped(
                rows, base_rows, lambda r: quarter_century(r["year"]) or "undated", pooled)
            details["heldout_documents"] = len(held["documents"])
            details["heldout_passages"] = len(rows)
        return {"engine": f"lm-eval {harness.lm_eval_version()}", "metrics": metrics, "baselines": base,
                "details": details}

    @staticmethod
    def _grouped(rows, base_rows, key, pooled) -> dict[str, Any]:
        groups: dict[str, list] = {}
        for i, r in enumerate(rows):
            groups.setdefault(key(r), []).append(i)
        out = {}
        for g, idx in sorted(groups.items()):
            value, se = pooled([rows[i] for i in idx])
            item = {"bpb": value, "stderr": se, "n": len(idx)}
            if base_rows is not None:
                item["untrained"] = pooled([base_rows[i] for i in idx])[0]
            out[g] = item
        return out

    def mc_entry(self, task, out, base_out, unigram, loaded) -> dict[str, Any]:
        names = MC_TASKS[task]
        metrics, base = {}, {"chance": {}, "unigram": {}, "untrained": {}}
        details: dict[str, Any] = {}
        per_task = {}
        for name in names:
            if name not in out["results"]:
                continue
            m = harness.mc_metrics(out, name)
            per_task[name] = m
            suffix = "" if len(names) == 1 else "_" + name.rsplit("_", 1)[1]
            for k, (v, se, n) in m.items():
                if v is None or (isinstance(v, float) and math.isnan(v)):
                    continue
                metrics[k + suffix] = metric(v, se, n)
            docs = [s["doc"] for s in sorted(out["samples"][name], key=lambda s: s["doc_id"])]
            questions = [self._as_question(d) for d in docs]
            chance = bl.chance_mc(questions)
            for k in m:
                base["chance"][k + suffix] = metric(chance, None, len(questions))
            if unigram is not None:
                u = bl.unigram_mc(unigram, loaded.tokenizer, questions)
                for k in m:
                    if k in u:
                        base["unigram"][k + suffix] = metric(*mean_stderr(u[k]), len(questions))
            if base_out is not None:
                for k, (v, se, n) in harness.mc_metrics(base_out, name).items():
                    if v is not None:
                        base["untrained"][k + suffix] = metric(v, se, n)
            if name == "london_history":
                details["by_topic"] = self._by_field(out["samples"][name], "topic")
            if name == "london_mmlu":
                from london_llm.evaluation.mmlu import breakdown

                details.update(breakdown(out["samples"][name]))
        if task == "cutoff" and {"london_cutoff_before", "london_cutoff_after"} <= per_task.keys():
            b, a = per_task["london_cutoff_before"]["acc"], per_task["london_cutoff_after"]["acc"]
            metrics["gap"] = metric(b[0] - a[0], math.hypot(b[1] or 0, a[1] or 0), b[2] + a[2])
            details["reading"] = ("gap = acc before 1914 - acc after 1913; a faithful period model is at chance "
                                  "(0.25) after the cutoff")
            for kind in ("unigram", "untrained"):
                bb, aa = base[kind].get("acc_before"), base[kind].get("acc_after")
                if bb and aa:
                    base[kind]["gap"] = metric(bb["value"] - aa["value"],
                                               math.hypot(bb["stderr"] or 0, aa["stderr"] or 0), bb["n"] + aa["n"])
            base["chance"]["gap"] = metric(0.0, None, None)
        return {"engine": f"lm-eval {harness.lm_eval_version()}", "metrics": metrics, "baselines": base,
                "details": details}

    @staticmethod
    def _as_question(doc: dict) -> dict:
        if "context" in doc:
            return {"context": doc["context"], "choices": list(doc["choices"]), "answer": int(doc["answer"])}
        if "query" in doc:  # hellaswag
            return {"context": doc["query"], "choices": list(doc["choices"]), "answer": int(doc["label"])}
        letters = ["A", "B", "C", "D"]  # mmlu: the choices are the letters after the prompt
        prompt = (f"The following are multiple choice questions (with answers) about "
                  f"{doc['subject'].replace('_', ' ')}.\n\n{doc['question'].strip()}\n"
                  + "".join(f"{l}. {c}\n" for l, c in zip(letters, doc["choices"])) + "Answer:")
        return {"context": prompt, "choices": letters, "answer": int(doc["answer"])}

    @staticmethod
    def _by_field(samples, field_name) -> dict[str, Any]:
        groups: dict[str, list[float]] = {}
        for s in samples:
            groups.setdefault(str(s["doc"].get(field_name) or ""), []).append(float(s["acc"]))
        return {g: {"acc": mean_stderr(v)[0], "stderr": mean_stderr(v)[1], "n": len(v)} for g, v in sorted(groups.items())}

    def conditioning_entry(self, loaded, held, notes) -> dict[str, Any]:
        from london_llm.evaluation.conditioning import CONDITIONS, score_passages

        if not loaded.conditioning_tags:
            notes.append("the tokenizer has no conditioning tags: conditioning skipped")
            return {"engine": "london_llm", "metrics": {}, "baselines": {}, "details": {"skipped": "no tags"}}
        with tqdm(total=len(held["starts"]), desc="conditioning", unit="doc") as bar:
            scored = score_passages(loaded.model, loaded.tokenizer, held["starts"], loaded.conditioning_tags, bar)
        metrics, by_kind = {}, {}

        def summary(items):
            out = {}
            for c in CONDITIONS:
                out[c] = ratio_stderr([x.bits[c] for x in items], [x.bytes for x in items])
            gain = ratio_stderr([x.bits["none"] - x.bits["own"] for x in items], [x.bytes for x in items])
            wrong = ratio_stderr([x.bits["wrong"] - x.bits["own"] for x in items], [x.bytes for x in items])
            return out, gain, wrong

        if scored:
            out, gain, wrong = summary(scored)
            for c in CONDITIONS:
                metrics[f"bpb_{c}_tags"] = metric(*out[c], len(scored), higher_is_better=False)
            metrics["gain_own_vs_none"] = metric(*gain, len(scored))
            metrics["gain_own_vs_wrong"] = metric(*wrong, len(scored))
        for kind in sorted({x.kind for x in scored}):
            items = [x for x in scored if x.kind == kind]
            out, gain, wrong = summary(items)
            by_kind[kind] = {"n": len(items), **{f"bpb_{c}": out[c][0] for c in CONDITIONS},
                             "gain_vs_none": gain[0], "gain_vs_none_stderr": gain[1],
                             "gain_vs_wrong": wrong[0], "helps": bool(gain[0] > 0)}
        return {"engine": "london_llm", "metrics": metrics,
                "baselines": {"chance": {"gain_own_vs_none": metric(0.0, None, None),
                                         "gain_own_vs_wrong": metric(0.0, None, None)}},
                "details": {"by_kind": by_kind, "reading": "gain = bits per byte saved by the document's own tags "
                            "(positive: the tags help)", "documents": len(scored)}}

    def prompts(self, held) -> list:
        from london_llm.evaluation.generation import GUIDE_PROMPTS, Prompt, prompt_from_passage

        prompts = [Prompt(t, "guide") for t in GUIDE_PROMPTS]
        if held:
            for p in held["prompt_passages"][: self.budget.heldout_prompts]:
                pr = prompt_from_passage(p, 24, 0)
                if pr:
                    prompts.append(pr)
        return prompts

    def anachronism_entry(self, loaded, held, unigram) -> dict[str, Any]:
        from london_llm.evaluation.generation import (count_anachronisms, generate, unigram_texts, words_found,
                                                      Sample, Prompt)
        from london_llm.evaluation.lexicon import Matcher, read_lexicon

        matcher = Matcher(read_lexicon(self.s.tasks_dir / "data" / "lexicon.jsonl"))
        prompts = self.prompts(held)
        b = self.budget
        total = len(prompts) * b.samples_per_prompt

        def run(model_loaded, desc):
            with tqdm(total=len(prompts), desc=desc, unit="prompt") as bar:
                return generate(model_loaded, prompts, n=b.samples_per_prompt, max_new_tokens=b.gen_tokens,
                                seed=self.s.seed, progress=bar)

        samples = run(loaded, "anachronism samples")

        def rate(samples_, definite_only=False):  # of samples already counted (count_anachronisms)
            per_sample = [sum(1 for h in s.hits if h.definite or not definite_only) for s in samples_]
            hits = sum(per_sample)
            words = sum(s.words for s in samples_)
            value, se = ratio_stderr([1000 * k for k in per_sample], [s.words for s in samples_])
            low, high = poisson_interval(hits)
            ci = (1000 * low / words, 1000 * high / words) if words else (math.nan, math.nan)
            return metric(value if words else math.nan, se, words, higher_is_better=False, ci95=ci), hits, words

        def rates(samples_):  # every hit, and without the "sense" entries a word match cannot confirm
            count_anachronisms(samples_, matcher)
            return {"per_1000_words": rate(samples_)[0], "per_1000_words_definite": rate(samples_, True)[0]}

        count_anachronisms(samples, matcher)
        m, hits, words = rate(samples)
        definite, definite_hits, _ = rate(samples, definite_only=True)
        metrics = {"per_1000_words": m, "per_1000_words_definite": definite}
        period_samples = [Sample(s.prompt, s.text) for s in samples]
        count_anachronisms(period_samples, matcher, by_prompt_year=True)
        if words:
            metrics["per_1000_words_vs_prompt_year"] = rate(period_samples)[0]
        base: dict[str, dict] = {}
        if self.s.baselines:
            ul = self._as_loaded(loaded, self.untrained(loaded))
            base["untrained"] = rates(self.baseline_once(
                ("anachronism",), loaded, lambda: run(ul, "anachronism (untrained)")))
            if unigram is not None:
                texts = unigram_texts(unigram, loaded.tokenizer, total, b.gen_tokens, self.s.seed,
                                      set(range(bl.real_vocab_size(loaded.model, loaded.tokenizer),
                                                loaded.model.get_input_embeddings().num_embeddings)) | {0, 1})
                base["unigram"] = rates([Sample(Prompt("", "unigram"), t) for t in texts])
            if held:  # real period text: the lexicon's false-alarm rate on the corpus itself
                ref = [Sample(Prompt("", "heldout"), p.text) for p in held["passages"]]
                base["chance"] = rates(ref)
        return {"engine": "london_llm (inference core)", "metrics": metrics, "baselines": base,
                "details": {"hits": hits, "definite_hits": definite_hits, "words": words, "samples": len(samples),
                            "prompts": len(prompts),
                            "words_found": words_found(samples), "cutoff_year": CUTOFF_YEAR,
                            "sampling": {"temperature": 0.8, "top_p": 0.95, "max_new_tokens": b.gen_tokens,
                                         "seed": self.s.seed},
                            "baseline_chance_is": "the held-out period text itself (the lexicon's false alarms)",
                            "examples": [{"prompt": s.prompt.text, "text": s.text,
                                          "found": [h.term for h in s.hits]} for s in samples[:6]],
                            "sense_entries_are": "possible anachronisms only: a whole-word match cannot tell a "
                                                 "later sense from the older one (per_1000_words_definite "
                                                 "leaves them out)"}}

    @staticmethod
    def _as_loaded(loaded, model):
        from dataclasses import replace

        return replace(loaded, model=model, sha256=None, step=None)

    def rouge_entry(self, loaded, held, unigram) -> dict[str, Any]:
        from london_llm.evaluation.generation import generate, prompt_from_passage
        from london_llm.evaluation.rouge import ROUGE_TYPES, rouge_scores

        b = self.budget
        prompts = [p for p in (prompt_from_passage(x, 32, b.rouge_tokens)
                               for x in held["prompt_passages"][: b.rouge_passages]) if p and p.reference]

        def scores(model_loaded, desc):
            with tqdm(total=len(prompts), desc=desc, unit="passage") as bar:
                samples = generate(model_loaded, prompts, n=1, max_new_tokens=b.rouge_tokens, seed=self.s.seed,
                                   greedy=True, progress=bar)
            return rouge_scores([s.text for s in samples], [p.reference for p in prompts]), samples

        per, samples = scores(loaded, "ROUGE continuations")
        metrics = {t: metric(*mean_stderr(per[t]), len(prompts)) for t in ROUGE_TYPES}
        base: dict[str, dict] = {}
        if self.s.baselines:
            up, _ = self.baseline_once(("rouge",), loaded, lambda: scores(
                self._as_loaded(loaded, self.untrained(loaded)), "ROUGE (untrained)"))
            base["untrained"] = {t: metric(*mean_stderr(up[t]), len(prompts)) for t in ROUGE_TYPES}
            if unigram is not None:  # the unigram model's greedy continuation: its most frequent token, repeated
                import numpy as np

                top = int(np.argmax(unigram.log2p[2:])) + 2
                text = loaded.tokenizer.decode([top] * b.rouge_tokens)
                ug = rouge_scores([text] * len(prompts), [p.reference for p in prompts])
                base["unigram"] = {t: metric(*mean_stderr(ug[t]), len(prompts)) for t in ROUGE_TYPES}
        return {"engine": "rouge-score (normalised, no stemming)", "metrics": metrics, "baselines": base,
                "details": {"passages": len(prompts), "prompt_words": 32, "max_new_tokens": b.rouge_tokens,
                            "decoding": "greedy",
                            "examples": [{"prompt": p.text, "reference": p.reference, "generated": s.text}
                                         for p, s in list(zip(prompts, samples))[:3]]}}


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
