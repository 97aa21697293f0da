"""The whole pipeline in one command (10_scripts/run_pipeline.py, ./run.sh): environment check, data,
tokenizer, training, checkpoint check, quick evaluation, and the publishing dry run.

Each stage is the stage's own script, run as a user would run it, so this file only decides the
order and the flags. A rerun skips the data and tokenizer stages when their artifacts exist (name
them in --redo to rebuild) and training resumes from the newest checkpoint (--fresh starts over).
Its own lines (each stage's command, time and failure, the summary) are also appended, time-stamped,
to <home>/logs/pipeline.log; each stage logs to its own file as well.

    ./run.sh --from-dir ../shared/corpus --model tiny     # offline, a few minutes on a CPU
    ./run.sh                                              # download the registry's sources, train the SLM
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional

from london_llm.settings import model_tokenizer_dir
from london_llm.training.checkpoint import newest_good

STAGES = ("environment", "data", "tokenizer", "train", "check", "evaluate", "publish")
LOG_NAME = "pipeline.log"  # under the artifact root's logs/


def pipeline_log(log_file: Optional[Path]) -> Callable[..., None]:
    """log(message, error=False): the terminal (stderr for errors), and `log_file` time-stamped."""
    def log(message: str, error: bool = False) -> None:
        print(message, file=sys.stderr if error else sys.stdout, flush=True)
        if log_file is not None:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            with open(log_file, "a", encoding="utf-8") as fh:
                fh.writelines(f"{stamp} {'ERROR' if error else 'INFO'} {line}\n"
                              for line in message.strip("\n").splitlines())
    return log


def build_parser(presets: dict, home_env: str, prog: Optional[str] = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(presets), default=None,
                   help="preset to train (default: slm where a GPU exists, else tiny, saying so)")
    p.add_argument("--from-dir", "--from_dir", dest="from_dir", type=Path, default=None,
                   help="import already-downloaded sources from DIR (e.g. ../shared/corpus) instead of downloading")
    p.add_argument("--add-texts", "--add_texts", dest="add_texts", type=Path, default=None, metavar="FOLDER",
                   help="also import your own .txt files from FOLDER (the collector's --add-texts; the data stage "
                        "then runs again, adding only what is new)")
    p.add_argument("--texts-licence", "--texts_licence", dest="texts_licence", default=None, metavar="TEXT",
                   help="the licence of the --add-texts files (the collector's --texts-licence)")
    p.add_argument("--home", type=Path, default=None,
                   help=f"artifact root (default: ${home_env} or the repository)")
    p.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES),
                   help="stages to run, in pipeline order (default: all)")
    p.add_argument("--redo", nargs="+", choices=("data", "tokenizer"), default=[],
                   help="rebuild these stages' artifacts even when they exist")
    p.add_argument("--fresh", action="store_true",
                   help="start training from step 0 (default: resume from the newest checkpoint)")
    p.add_argument("--vocab_size", "--vocab-size", type=int, default=None,
                   help="tokenizer vocabulary (default: the preset's vocab_size)")
    p.add_argument("--train_args", "--train-args", default="",
                   help="extra flags for the training script, quoted, e.g. \"--max_steps 100 --no_wandb\"")
    p.add_argument("--dry_run", "--dry-run", action="store_true", help="print the commands, run nothing")
    return p


def _gpu_count() -> int:
    try:
        import torch
        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except ImportError:
        return 0


def plan(args: argparse.Namespace, *, root: Path, paths, presets: dict,
         log: Callable[[str], None] = print) -> list[tuple[str, list[str]]]:
    """The (stage, command) pairs to run, given the flags and the artifacts already on disk.

    `root` is the repository whose stage scripts run; `paths` the artifact locations (config's Paths).
    """
    ROOT = Path(root)
    py = sys.executable
    home = ["--home", str(paths.home)]
    model = args.model
    tok_dir = model_tokenizer_dir(paths.tokenizer_dir, model)
    vocab = args.vocab_size or presets[model].vocab_size
    steps: list[tuple[str, list[str]]] = []
    for stage in args.stages:
        if stage == "environment":
            steps.append((stage, [py, str(ROOT / "01_environment/setup_environment.py"), "--check", *home]))
        elif stage == "data":
            if paths.documents_file.exists() and "data" not in args.redo and not args.add_texts:
                log(f"data: {paths.documents_file} exists; skipping (--redo data rebuilds)")
                continue
            cmd = [py, str(ROOT / "02_data_collection/historical_data_collector.py"), *home]
            if args.from_dir:
                cmd += ["--from-dir", str(args.from_dir.resolve())]
            if args.add_texts:
                cmd += ["--add-texts", str(args.add_texts.resolve())]
                cmd += ["--texts-licence", args.texts_licence] if args.texts_licence else []
            steps.append((stage, cmd))
        elif stage == "tokenizer":
            if (tok_dir / "tokenizer.json").exists() and "tokenizer" not in args.redo:
                log(f"tokenizer: {tok_dir} exists; skipping (--redo tokenizer retrains)")
            else:
                steps.append((stage, [py, str(ROOT / "03_tokenizer/train_historical_tokenizer.py"), *home,
                                      "--documents", str(paths.documents_file), "--output_dir", str(tok_dir),
                                      "--vocab_size", str(vocab)]))
            steps.append(("tokenizer check", [py, str(ROOT / "03_tokenizer/test_tokenizer.py"), *home,
                                              "--tokenizer_dir", str(tok_dir), "--no_comparison"]))
        elif stage == "train":
            newest = None if args.fresh else newest_good(paths.checkpoint_dir(model), log=lambda _m: None)
            if newest is None:  # nothing to resume (or --fresh): the launcher starts at step 0
                train = [str(ROOT / "launch_training.sh"), "--model", model]
            else:
                train = [str(ROOT / "resume_training.sh"), "--model", model, str(newest)]
            train += [*home, "--tokenizer_dir", str(tok_dir), "--documents_file", str(paths.documents_file)]
            train += shlex.split(args.train_args)
            steps.append((stage, train))
        elif stage == "check":
            steps.append((stage, [py, str(ROOT / "04_training/test_checkpoint.py"), "--model", model, *home,
                                  "--max_new_tokens", "40"]))
        elif stage == "evaluate":  # the quick mode: a couple of minutes for tiny on a CPU
            steps.append((stage, [py, str(ROOT / "05_evaluation/run_evaluation.py"), "--mode", "quick",
                                  "--model", model, *home]))
        elif stage == "publish":  # export and list what would go up; nothing leaves the machine
            steps.append((stage, [py, str(ROOT / "10_scripts/publish_to_huggingface.py"), "--model", model,
                                  "--dry_run", *home]))
    return steps


def summary(model: str, paths, ran: list[str]) -> list[str]:
    """The closing lines: the evaluation's headline numbers, the exported folder, how to use the model."""
    lines = []
    if "evaluate" in ran:
        from london_llm.evaluation.report import headline
        from london_llm.evaluation.results import ResultsFormatError, read_results
        try:
            lines += ["Evaluation (quick): " + line for line in headline(read_results(paths.evaluation_dir / model))]
        except (ResultsFormatError, OSError) as exc:
            lines.append(f"Evaluation: no readable results ({exc})")
    if "publish" in ran:
        lines.append(f"Hub export (dry run): {paths.models_dir / 'hf_export' / model}; publish it with "
                     f"huggingface-cli login, then python 10_scripts/publish_to_huggingface.py --model {model} "
                     "--repo_id NAME/REPO")
    lines += [f"Chat with it:  python 06_inference/inference_unified.py --model {model} --interactive",
              f"Serve it:      python 06_inference/serve.py --model {model}   "
              "# OpenAI-compatible API on http://127.0.0.1:8000"]
    return lines


def main(argv: Optional[list[str]], *, root: Path, presets: dict, paths_fn: Callable, home_env: str,
         prog: Optional[str] = None) -> int:
    """./run.sh: every stage's own script in order; the first failure stops the run with its exit status."""
    args = build_parser(presets, home_env, prog).parse_args(argv)
    paths = paths_fn(args.home)
    log = pipeline_log(None if args.dry_run else paths.logs_dir / LOG_NAME)  # a dry run writes nothing
    if args.model is None:
        gpus = _gpu_count()
        args.model = "slm" if gpus else "tiny"
        log(f"model: {args.model} ({gpus} GPU(s) found; --model chooses another)")
    if args.home:  # every stage gets --home; the variable reaches what they start in turn (torchrun's workers)
        os.environ[home_env] = str(paths.home)
    ran = []
    for stage, cmd in plan(args, root=root, paths=paths, presets=presets, log=log):
        log(f"\n== {stage}: {shlex.join(cmd)}")
        if args.dry_run:
            continue
        started = time.time()
        rc = subprocess.run(cmd).returncode
        if rc:
            log(f"\nstage '{stage}' failed (exit {rc}); fix what it reported and rerun ./run.sh "
                f"(finished stages are skipped)", error=True)
            return rc
        log(f"== {stage}: done in {time.time() - started:.1f} s")
        ran.append(stage)
    if not args.dry_run:
        log("\n" + "\n".join(summary(args.model, paths, ran)))
    return 0
