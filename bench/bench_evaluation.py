#!/usr/bin/env python3
"""Stage 05's wall time: `--mode quick` and `--mode comprehensive` through the real
05_evaluation/run_evaluation.py on a `tiny` checkpoint, per phase and in total against the
targets (quick < 2 min, comprehensive < 10 min), and beside them the peer a user would otherwise
pick: the `lm_eval` command on the same checkpoint and the same YAML task, its time and whether
its numbers equal ours.

    python bench/bench_evaluation.py                          # trains a tiny checkpoint in a temp dir first
    python bench/bench_evaluation.py --checkpoint 09_models/checkpoints/tiny/checkpoint-200 --model tiny
    python bench/bench_evaluation.py --modes quick --steps 12 --no_peer      # a short proof run

Without --checkpoint it builds a small documents.jsonl from ../shared/corpus (Gutenberg novels and
Ordinary's Accounts, as the tests do), trains a tokenizer and the `tiny` preset for --steps steps
at the preset's own context (128) through 04_training/train_model_slm.py in a temp folder, and
evaluates that checkpoint. Prints figures, asserts nothing; the CPU line and the load
average are printed first: quote them with the times (the machine may be shared).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from _machine import cpu_description, cpu_seconds, load, load_line  # noqa: E402
TASKS = ROOT / "05_evaluation" / "tasks"
TRAIN = ROOT / "04_training" / "train_model_slm.py"
TARGETS = {"quick": 120.0, "comprehensive": 600.0}  # seconds, for the tiny preset on a CPU
PEER_TASK = ("history", "london_history")
GUTENBERG_BODY = re.compile(r"\*\*\* ?START OF.*?\*\*\*(.*?)\*\*\* ?END OF", re.S | re.I)
NOVEL_YEARS = {"FrancesBurney__Evelina": 1778, "HenryFielding__TomJones": 1749, "SamuelRichardson__Pamela": 1740,
               "TobiasSmollett__HumphryClinker": 1771, "TobiasSmollett__FerdinandFathom": 1753}


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--checkpoint", help="evaluate this checkpoint folder instead of training one")
    p.add_argument("--model", default="tiny", help="the preset the checkpoint is of (names the targets)")
    p.add_argument("--modes", default="quick,comprehensive", help="comma list of quick, comprehensive")
    p.add_argument("--steps", type=int, default=24, help="training steps of the checkpoint trained here")
    p.add_argument("--corpus", default=os.environ.get("LONDON_LLM_SHARED_CORPUS", str(ROOT.parent / "shared" / "corpus")),
                   help="the shared corpus folder the checkpoint is trained on ($LONDON_LLM_SHARED_CORPUS, "
                        "else ../shared/corpus)")
    p.add_argument("--no_peer", action="store_true", help="skip the lm_eval comparison")
    p.add_argument("--workdir", help="keep the trained checkpoint and outputs here (default: a temp folder)")
    p.add_argument("--threads", type=int, help="passed to run_evaluation.py --threads")
    p.add_argument("--baseline_tree", help="also time this other checkout's run_evaluation.py (e.g. an older "
                   "commit unpacked with git archive) on the same checkpoint, mode for mode, in the same run")
    return p.parse_args(argv)


def environment() -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               WANDB_MODE="disabled", TOKENIZERS_PARALLELISM="false")
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def small_documents(corpus: Path, out: Path, novel_chars: int = 150_000, accounts: int = 40) -> Path:
    """~1 MB of real period text (the tests' small_documents): novels, dated, and Ordinary's Accounts."""
    records = []
    novels = sorted((corpus / "gutenberg-18c-novels-dighums" / "texts").glob("*.txt"))
    ordinary = sorted((corpus / "old-bailey-ordinarys-accounts-txt" / "oa_txt").glob("OA*.txt"))[:accounts]
    if not novels and not ordinary:
        raise SystemExit(f"no corpus text under {corpus}; pass --checkpoint or --corpus")
    for kind, path in [("book", p) for p in novels] + [("ordinary", p) for p in ordinary]:
        raw = path.read_text(encoding="utf-8", errors="replace")
        found = GUTENBERG_BODY.search(raw) if kind == "book" else None
        text = ((found.group(1) if found else raw)[:novel_chars] if kind == "book" else raw).strip()
        year = NOVEL_YEARS.get(path.stem) if kind == "book" else int(path.stem[2:6])
        records.append({"id": hashlib.sha256(path.name.encode()).hexdigest()[:16], "source": "bench",
                        "source_id": "bench", "kind": kind, "title": path.stem, "year": year,
                        "licence": "public domain", "text": text})
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return out


def train_checkpoint(work: Path, corpus: Path, steps: int, env: dict) -> Path:
    from london_llm.tokenization.training import train_tokenizer

    docs = small_documents(corpus, work / "documents.jsonl")
    tok = train_tokenizer(docs, work / "tokenizer", vocab_size=1200, show_progress=False)
    env["LONDON_LLM_HOME"] = str(work / "home")
    started = time.perf_counter()
    r = subprocess.run([sys.executable, str(TRAIN), "--model", "tiny", "--no_wandb", "--max_steps", str(steps),
                        "--save_steps", str(steps), "--eval_steps", str(steps), "--logging_steps", "4",
                        "--eval_iters", "2", "--batch_size", "4", "--warmup_steps", "4",
                        "--tokenizer_dir", str(tok), "--documents_file", str(docs)],
                       cwd=work, env=env, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"training failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    ck = work / "home" / "09_models" / "checkpoints" / "tiny" / f"checkpoint-{steps}"
    print(f"trained {ck} ({steps} steps of tiny at context 128) in {time.perf_counter() - started:.0f} s")
    return ck


def run_ours(ck: Path, model: str, out: Path, env: dict, extra: list[str], tree: Path = ROOT) -> tuple[float, dict]:
    if tree != ROOT:
        env = dict(env, PYTHONPATH=str(tree))
    started, cpu = time.perf_counter(), cpu_seconds()
    r = subprocess.run([sys.executable, str(tree / "05_evaluation" / "run_evaluation.py"), "--model", model, "--checkpoint", str(ck), "--output_dir", str(out),
                        *extra], cwd=out.parent, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if r.returncode:
        raise SystemExit(f"run_evaluation.py {' '.join(extra)} failed:\n{r.stderr[-3000:]}")
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    results["bench_cpu_seconds"] = cpu_seconds() - cpu  # less sensitive to other jobs than wall time
    return wall, results


def run_peer(ck: Path, out: Path, env: dict, batch_size: int) -> tuple[float, dict]:
    """What a user would type: the lm_eval command on the checkpoint folder and our YAML task."""
    started, cpu = time.perf_counter(), cpu_seconds()
    r = subprocess.run([sys.executable, "-m", "lm_eval", "--model", "hf", "--model_args", f"pretrained={ck}",
                        "--include_path", str(TASKS), "--tasks", PEER_TASK[1], "--device", "cpu",
                        "--batch_size", str(batch_size), "--output_path", str(out)],
                       cwd=out.parent, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if r.returncode:
        raise SystemExit(f"lm_eval failed:\n{r.stderr[-3000:]}")
    (result_file,) = out.rglob("results_*.json")
    print(f"  (lm_eval: {cpu_seconds() - cpu:.1f} CPU-s)")
    return wall, json.loads(result_file.read_text(encoding="utf-8"))["results"][PEER_TASK[1]]


def show_mode(mode: str, wall: float, results: dict, model: str) -> None:
    target = TARGETS.get(mode) if model == "tiny" else None
    verdict = "" if target is None else f" (target < {target:.0f} s: {'met' if wall < target else 'NOT met'})"
    print(f"\n--mode {mode}: {wall:.1f} s wall ({results['bench_cpu_seconds']:.1f} CPU-s) through "
          f"run_evaluation.py{verdict}; load average {load()}")
    for ck in results["checkpoints"]:
        print(f"  {ck['name']}: {ck.get('seconds', float('nan')):.1f} s evaluating after its load")
        for phase, seconds in (ck.get("timings") or {}).items():
            print(f"    {phase:<18} {seconds:7.2f} s")
    inside = sum((ck.get("seconds") or 0) + (ck.get("timings") or {}).get("load", 0) for ck in results["checkpoints"])
    print(f"  start-up (Python, imports), charts and report: {wall - inside:.1f} s")


def compare_with_peer(ck: Path, model: str, work: Path, env: dict, threads: list[str]) -> None:
    """The same YAML task, every item, no baselines: our script against the lm_eval command."""
    wall, results = run_ours(ck, model, work / "out_peer", env,
                             ["--mode", "comprehensive", "--tasks", PEER_TASK[0], "--no_baselines", *threads])
    ours = results["checkpoints"][0]["tasks"][PEER_TASK[0]]["metrics"]
    peer_wall, theirs = run_peer(ck, work / "out_lm_eval", env, batch_size=32)
    print(f"\n{PEER_TASK[1]} ({ours['acc']['n']} questions), same checkpoint, batch size 32; load average {load()}")
    print(f"  run_evaluation.py --tasks {PEER_TASK[0]} --no_baselines: {wall:6.1f} s "
          f"({results['bench_cpu_seconds']:.1f} CPU-s)")
    print(f"  lm_eval --model hf --tasks {PEER_TASK[1]}:              {peer_wall:6.1f} s")
    same = True
    for name in ("acc", "acc_norm"):
        a, b = ours[name]["value"], theirs[f"{name},none"]
        se_a, se_b = ours[name]["stderr"], theirs[f"{name}_stderr,none"]
        match = abs(a - b) < 1e-9 and abs(se_a - se_b) < 1e-9
        same &= match
        print(f"  {name:<9} ours {a:.6f} ± {se_a:.6f}   lm_eval {b:.6f} ± {se_b:.6f}   {'equal' if match else 'DIFFER'}")
    print("  the numbers match" if same else "  THE NUMBERS DIFFER")


def main(argv=None) -> int:
    args = parse(argv)
    print(cpu_description())
    print(load_line("before"), flush=True)
    import torch

    print(f"torch {torch.__version__}")
    env = environment()
    with tempfile.TemporaryDirectory(prefix="bench_eval_") as tmp:
        work = Path(args.workdir).resolve() if args.workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        ck = Path(args.checkpoint).resolve() if args.checkpoint else train_checkpoint(work, Path(args.corpus),
                                                                                      args.steps, env)
        threads = ["--threads", str(args.threads)] if args.threads else []
        for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
            wall, results = run_ours(ck, args.model, work / f"out_{mode}", env, ["--mode", mode, *threads])
            show_mode(mode, wall, results, args.model)
            if args.baseline_tree:
                tree = Path(args.baseline_tree).resolve()
                b_wall, b_results = run_ours(ck, args.model, work / f"out_{mode}_baseline", env, ["--mode", mode, *threads],
                                             tree=tree)
                print(f"  the same through {tree}: {b_wall:.1f} s wall ({b_results['bench_cpu_seconds']:.1f} CPU-s); "
                      f"this tree takes {wall / b_wall:.2f}x its wall time, "
                      f"{results['bench_cpu_seconds'] / b_results['bench_cpu_seconds']:.2f}x its CPU time; "
                      f"load average {load()}")
        if not args.no_peer:
            compare_with_peer(ck, args.model, work, env, threads)
    print(load_line("after"))
    return 0

if __name__ == "__main__":
    sys.exit(main())
