#!/usr/bin/env python3
"""Benchmark: one training process against torchrun with several (same global batch), and how
fast the monitor reads and plots a full-length metrics log.

    python bench/bench_distributed.py                   # tiny preset, 60 steps, 1 vs 2 processes
    python bench/bench_distributed.py --steps 200 --nproc 2 --batch_size 8

Training figures are tokens/s from the run's own metrics log (median over logging windows,
the first dropped as warm-up) and wall-clock including start-up. Inputs: the project's documents
and tokenizer when they exist, else a small documents file and tokenizer built from
../shared/corpus (as the tests do). Note the machine load (printed) beside any figure.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import config  # noqa: E402
from _machine import cpu_description, load_line  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny", choices=sorted(config.PRESETS), help="preset to train")
    p.add_argument("--steps", type=int, default=60, help="optimizer steps per run")
    p.add_argument("--batch_size", type=int, default=8, help="GLOBAL batch (split across processes)")
    p.add_argument("--nproc", type=int, default=2, help="processes in the torchrun run")
    p.add_argument("--dtype", default="auto", help="auto | bf16 | fp32")
    p.add_argument("--documents_file", default=None, help="documents.jsonl (default: stage 02's, else built)")
    p.add_argument("--tokenizer_dir", default=None, help="tokenizer (default: stage 03's, else built)")
    p.add_argument("--log_steps", type=int, default=60_000, help="length of the synthetic metrics log")
    p.add_argument("--work_dir", default=None, help="scratch folder (default: a temporary one)")
    return p.parse_args(argv)


def inputs(args, work: Path) -> tuple[Path, Path]:
    paths = config.paths()
    docs = Path(args.documents_file) if args.documents_file else paths.documents_file
    tok = Path(args.tokenizer_dir) if args.tokenizer_dir else paths.tokenizer_dir
    if not docs.is_file():
        sys.path.insert(0, str(ROOT / "tests"))
        from conftest import SHARED_CORPUS, build_small_documents
        docs = build_small_documents(SHARED_CORPUS, work / "documents.jsonl")
    if not (tok / "tokenizer.json").is_file():
        from london_llm.tokenization.training import train_tokenizer
        tok = train_tokenizer(docs, work / "tokenizer", vocab_size=1024, show_progress=False)
    return docs, tok


def train_once(args, docs: Path, tok: Path, work: Path, nproc: int, threads: int) -> dict:
    out = work / f"run_{nproc}x{threads}"
    flags = ["--model", args.model, "--fresh", "--no_wandb", "--documents_file", str(docs),
             "--tokenizer_dir", str(tok), "--data_dir", str(work / "pretokenized"), "--output_dir", str(out),
             "--max_steps", str(args.steps), "--batch_size", str(args.batch_size // nproc),
             "--logging_steps", "5", "--eval_steps", str(args.steps), "--save_steps", str(args.steps),
             "--eval_iters", "2", "--dtype", args.dtype]
    script = str(ROOT / "04_training" / "train_model_slm.py")
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    env = dict(os.environ, WANDB_MODE="disabled", OMP_NUM_THREADS=str(threads))
    t0 = time.perf_counter()
    subprocess.run(launcher + [script] + flags, check=True, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    records = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    tps = [r["train/tokens_per_sec"] for r in records if r["kind"] == "train"][1:]
    final = [r["train/loss"] for r in records if r["kind"] == "train"][-1]
    return {"nproc": nproc, "threads": env["OMP_NUM_THREADS"], "wall_s": wall,
            "tokens_per_sec": statistics.median(tps), "final_loss": final}


def monitor_figures(steps: int, work: Path) -> dict:
    from london_llm.training import metrics, status
    from london_llm.training.plots import render_plots
    path = work / "metrics_synthetic.jsonl"
    with open(path, "w") as fh:
        for s in range(10, steps + 1, 10):
            fh.write(json.dumps({"step": s, "time": 1e9 + s, "kind": "train", "train/loss": 3 + 1 / s,
                                 "train/lr": 3e-4, "train/mfu": 0.3, "train/dt_ms": 500.0,
                                 "train/tokens_per_sec": 18_000.0, "train/grad_norm": 0.5}) + "\n")
            if s % 500 == 0:
                fh.write(json.dumps({"step": s, "time": 1e9 + s, "kind": "eval", "eval/val_loss": 3.2,
                                     "eval/train_loss": 3.1, "eval/val_ppl": 24.5}) + "\n")
    t0 = time.perf_counter()
    log = metrics.read_metrics(path)
    status.run_status(log, [], steps, None)
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    render_plots(log, work / "plots")
    return {"records": len(log.records), "bytes": path.stat().st_size, "read_and_status_s": t_read,
            "plots_s": time.perf_counter() - t0}


def main(argv=None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work_dir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        print(cpu_description())
        print(load_line("before"), flush=True)
        docs, tok = inputs(args, work)
        cores = os.cpu_count() or 1
        # one process on all cores, one on one core (OpenMP threads suffer most on a busy machine),
        # then torchrun with the cores shared out
        configs = [(1, cores), (1, 1), (args.nproc, max(1, cores // args.nproc))]
        runs = [train_once(args, docs, tok, work, n, t) for n, t in configs]
        print(f"{args.model} preset, {args.steps} steps, global batch {args.batch_size}, dtype {args.dtype}")
        for r in runs:
            print(f"  {r['nproc']} process(es) x {r['threads']} thread(s): {r['tokens_per_sec']:,.0f} tokens/s (median), "
                  f"wall {r['wall_s']:.1f} s incl. start-up, final train loss {r['final_loss']:.4f}")
        print(f"  torchrun against one process on all cores: "
              f"{runs[-1]['tokens_per_sec'] / runs[0]['tokens_per_sec']:.2f}x; "
              f"final losses differ by {abs(runs[-1]['final_loss'] - runs[0]['final_loss']):.2e}")
        m = monitor_figures(args.log_steps, work)
        print(f"monitor: {m['records']:,} records ({m['bytes'] / 1e6:.1f} MB) read + status in "
              f"{m['read_and_status_s'] * 1000:.0f} ms; 5 PNGs in {m['plots_s']:.2f} s")
        print(load_line("after"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
