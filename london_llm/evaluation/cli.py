"""run_evaluation.py: evaluate checkpoints on period-aware tasks, offline, with baselines.

    python 05_evaluation/run_evaluation.py --mode quick --model tiny
    python 05_evaluation/run_evaluation.py --mode comprehensive --checkpoint checkpoint-500,checkpoint-1000
    python 05_evaluation/run_evaluation.py --checkpoint /path/to/hf_model --questions my_questions.jsonl
    python 05_evaluation/run_evaluation.py --human_export --checkpoint checkpoint-500 --checkpoint checkpoint-1000
    python 05_evaluation/run_evaluation.py --human_import 05_evaluation/results/slm/human
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

TASKS_DIR = Path(__file__).resolve().parents[2] / "05_evaluation" / "tasks"


def build_parser(prog: str, presets: Sequence[str], default_model: str) -> argparse.ArgumentParser:
    from london_llm.evaluation.run_settings import DEFAULT_TASKS, MODES, TASKS
    from london_llm.inference.flags import HelpFormatter, add_model_flags

    p = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0],
                                formatter_class=HelpFormatter, epilog="\n".join(__doc__.splitlines()[2:]))
    p.add_argument("--mode", choices=sorted(MODES), default="quick",
                   help="quick: subsets, minutes on a CPU for the tiny model; comprehensive: every question and "
                        "more passages and samples (default: quick)")
    add_model_flags(p, default_model, presets, several=True, dtype=False)  # the same as inference_unified.py's
    p.add_argument("--tasks", default=",".join(DEFAULT_TASKS),
                   help=f"comma list of {', '.join(TASKS)}, or all (default: {','.join(DEFAULT_TASKS)}; "
                        "questions/mmlu/hellaswag are added when their files are given)")
    p.add_argument("--output_dir", "--output-dir", help="where results.json, report.md and the charts go "
                   "(default: 05_evaluation/results/<model>)")
    p.add_argument("--seed", type=int, default=1234, help="seed of every subset, sample and baseline (default: 1234)")
    p.add_argument("--limit", type=int, help="at most this many items per harness task (the first N, as lm_eval --limit)")
    p.add_argument("--batch_size", "--batch-size", type=int, default=32, help="harness batch size (default: 32)")
    p.add_argument("--questions", help="your own multiple-choice questions (JSON lines, docs/evaluation.md)")
    p.add_argument("--mmlu_dir", "--mmlu-dir", help="MMLU in its CSV layout (<dir>/test/<subject>_test.csv)")
    p.add_argument("--hellaswag_file", "--hellaswag-file", help="HellaSwag validation JSON lines (hellaswag_val.jsonl)")
    p.add_argument("--documents_file", "--documents-file",
                   help="the documents.jsonl the model was trained on (default: recorded in trainer_state.json)")
    p.add_argument("--data_dir", "--data-dir",
                   help="the run's pretokenized_data folder (default: recorded in trainer_state.json)")
    p.add_argument("--no_baselines", "--no-baselines", action="store_true",
                   help="skip the unigram and untrained baselines (chance is always shown)")
    p.add_argument("--human_export", "--human-export", action="store_true",
                   help="also write blinded samples for human rating to <output_dir>/human "
                        "(samples.csv, form.html, key.json)")
    p.add_argument("--human_samples", "--human-samples", type=int, default=3,
                   help="samples per prompt and checkpoint for --human_export (default: 3)")
    p.add_argument("--human_import", "--human-import", metavar="FOLDER",
                   help="read filled ratings (ratings*.csv or samples.csv) beside key.json in FOLDER, summarise "
                        "them and add them to results.json in --output_dir if it is there; runs nothing else")
    p.add_argument("--log_file", "--log-file", help="log file (default: <output_dir>/evaluation.log)")
    return p


def _offline() -> None:
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(key, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _tasks(args) -> tuple[str, ...]:
    from london_llm.evaluation.errors import EvaluationError
    from london_llm.evaluation.run_settings import DEFAULT_TASKS, TASKS

    text = args.tasks.strip()
    tasks = list(DEFAULT_TASKS if text == "" else TASKS if text == "all" else
                 [t.strip() for t in text.split(",") if t.strip()])
    if text == "all":
        tasks = [t for t in TASKS if t not in ("questions", "mmlu", "hellaswag")]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise EvaluationError(f"unknown task(s) {', '.join(unknown)} in --tasks; choose from {', '.join(TASKS)}")
    for task, given in (("questions", args.questions), ("mmlu", args.mmlu_dir), ("hellaswag", args.hellaswag_file)):
        if given and task not in tasks:
            tasks.append(task)
    return tuple(dict.fromkeys(tasks))


def _startup(args, paths):
    """The inference core's start-up (checkpoints folder, every checkpoint resolved now, device)."""
    from london_llm.evaluation.errors import EvaluationError
    from london_llm.inference.errors import InferenceError
    from london_llm.inference.flags import startup

    try:
        return startup(args, lambda _home: paths)
    except InferenceError as exc:  # its message names the fix (--checkpoint where a checkpoint is missing)
        raise EvaluationError(str(exc)) from None


def _setup_logging(path: Path) -> Callable[[str], None]:
    from london_llm.logs import setup_logger

    logger = setup_logger("london_llm.evaluation", path)
    return logger.info


def main(argv: Optional[list[str]] = None, *, prog: str = "run_evaluation.py", paths_fn: Callable,
         presets: Sequence[str] = ("slm", "regular", "tiny"), default_model: str = "slm") -> int:
    args = build_parser(prog, list(presets), default_model).parse_args(argv)
    _offline()
    from london_llm.evaluation.errors import EvaluationError

    try:
        paths = paths_fn(args.home)
        output_dir = Path(args.output_dir or paths.evaluation_dir / args.model).expanduser().resolve()
        if args.human_import:
            return _human_import(Path(args.human_import), output_dir)
        log = _setup_logging(Path(args.log_file) if args.log_file else output_dir / "evaluation.log")
        command = list(sys.argv) if argv is None else [prog, *argv]
        return _evaluate(args, paths, output_dir, log, command)
    except EvaluationError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\n[stopped]", file=sys.stderr)
        return 130


def _evaluate(args, paths, output_dir: Path, log, command: list[str]) -> int:
    from london_llm.evaluation import plots, report
    from london_llm.evaluation.results import write_results
    from london_llm.evaluation.run_settings import Settings
    from london_llm.evaluation.runner import evaluate

    tasks = _tasks(args)
    start = _startup(args, paths)
    settings = Settings(
        checkpoints=[str(p) for p in start.paths], checkpoints_dir=start.checkpoints_dir, output_dir=output_dir,
        tasks_dir=TASKS_DIR, mode=args.mode, tasks=tasks, seed=args.seed, limit=args.limit,
        device=args.device, documents_file=_path(args.documents_file), data_dir=_path(args.data_dir),
        questions_file=_path(args.questions), mmlu_dir=_path(args.mmlu_dir), hellaswag_file=_path(args.hellaswag_file),
        batch_size=args.batch_size, baselines=not args.no_baselines, command=command,
        threads=args.threads, keep_models=args.human_export, log=log)
    results, entries, run = evaluate(settings)
    charts = [p.name for p in plots.bpb_charts(results, output_dir) + plots.step_charts(results, output_dir)]
    results["charts"] = charts
    if args.human_export:
        results["human_export"] = str(_human_export(run, entries, output_dir / "human", args.human_samples, args.seed, log))
    path = write_results(output_dir, results)
    report.write_report(output_dir / "report.md", results, charts)
    log(f"Wrote {path}, {output_dir / 'report.md'}" + (f" and {', '.join(charts)}" if charts else ""))
    for line in report.headline(results):
        print(line)
    return 0


def _path(value: Optional[str]) -> Optional[Path]:
    return Path(value).expanduser().resolve() if value else None


def _human_export(run, entries, folder: Path, per_prompt: int, seed: int, log) -> Path:
    from tqdm import tqdm

    from london_llm.evaluation import human
    from london_llm.evaluation.generation import generate

    rows = []
    for e in entries:
        prompts = run.prompts(e.get("held"))
        with tqdm(total=len(prompts), desc=f"human-evaluation samples {e['name']}", unit="prompt") as bar:
            samples = generate(e["loaded"], prompts, n=per_prompt, max_new_tokens=run.budget.gen_tokens * 2,
                               seed=seed, progress=bar)
        rows += [(e["name"], s.prompt.text, s.text) for s in samples]
    files = human.export(folder, rows, seed)
    log(f"Human evaluation: {len(rows)} blinded samples in {files['csv']} and {files['form']} "
        f"(the key is {files['key']}: keep it from the raters)")
    return folder


def _human_import(folder: Path, output_dir: Path) -> int:
    import json

    from london_llm.atomic import write_json, write_text
    from london_llm.evaluation import human
    from london_llm.evaluation.errors import EvaluationError
    from london_llm.evaluation.results import metric, read_results, write_results, RESULTS_FILE

    key = folder / "key.json"
    files = sorted(folder.glob("ratings*.csv")) or ([folder / "samples.csv"] if (folder / "samples.csv").is_file() else [])
    if not files:
        raise EvaluationError(f"no ratings*.csv (or filled samples.csv) in {folder}")
    summary = human.summarise(human.read_ratings(key, files))
    write_json(folder / "human_evaluation.json", summary)
    lines = [f"Human evaluation: {summary['samples']} samples, raters {', '.join(summary['raters'])}", ""]
    lines.append("| checkpoint | " + " | ".join(human.CRITERIA) + " |")
    lines.append("|---|" + "---|" * len(human.CRITERIA))
    for ck, crit in summary["by_checkpoint"].items():
        cells = []
        for c in human.CRITERIA:
            v = crit[c]
            cells.append("-" if not v["n"] else f"{v['mean']:.2f} (95% CI {v['ci95'][0]:.2f}-{v['ci95'][1]:.2f}, n={v['n']})"
                         if v["ci95"][0] == v["ci95"][0] else f"{v['mean']:.2f} (n={v['n']})")
        lines.append(f"| {ck} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Krippendorff's alpha (ordinal): " + ", ".join(
        f"{c} {'-' if a is None else f'{a:.3f}'}" for c, a in summary["alpha"].items()))
    write_text(folder / "human_evaluation.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    if (output_dir / RESULTS_FILE).is_file():
        results = read_results(output_dir)
        for ck in results["checkpoints"]:
            crit = summary["by_checkpoint"].get(ck["name"])
            if crit:
                ck["tasks"]["human"] = {
                    "engine": "london_llm", "details": {"alpha": summary["alpha"], "raters": summary["raters"]},
                    "metrics": {c: metric(human.nan_to_none(v["mean"]), human.nan_to_none(v["stderr"]), v["n"],
                                          ci95=tuple(v["ci95"]) if None not in v["ci95"] else None)
                                for c, v in crit.items() if v["n"]},
                    "baselines": {}}
        write_results(output_dir, results)
        print(f"Added the ratings to {output_dir / RESULTS_FILE}")
    return 0
