"""Render a training run's metrics log (<checkpoint dir>/metrics.jsonl) as PNG plots, without W&B:
loss (train and validation), learning rate, tokens/s and MFU, step time, and an overview of all four.

    python 10_scripts/plot_training.py                      # the slm run -> <checkpoint dir>/plots/
    python 10_scripts/plot_training.py --model regular --out_dir /tmp/plots
    python 10_scripts/plot_training.py --metrics path/to/metrics.jsonl
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Optional

from london_llm.settings import HOME_HELP
from london_llm.training import metrics
from london_llm.training.plots import render_plots


def parse_args(argv, presets: dict, prog: Optional[str] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(presets), default="slm", help="which run (default slm)")
    p.add_argument("--home", default=None, help=HOME_HELP)
    p.add_argument("--output_dir", "--output-dir", "--checkpoint_dir", dest="output_dir", default=None,
                   help="the run's checkpoint folder, holding metrics.jsonl (default: the model's)")
    p.add_argument("--metrics", default=None, help="a metrics.jsonl file (overrides --output_dir)")
    p.add_argument("--out_dir", "--out-dir", default=None,
                   help="where the PNGs go (default: plots/ beside the metrics file)")
    p.add_argument("--title", default=None, help="title over the plots (default: model and folder)")
    return p.parse_args(argv)


def main(argv: Optional[list[str]], *, paths_fn: Callable, presets: dict, prog: Optional[str] = None) -> int:
    """10_scripts/plot_training.py; `paths_fn(home)` and `presets` come from config.py."""
    args = parse_args(argv, presets, prog)
    run_dir = (Path(args.output_dir).expanduser().resolve() if args.output_dir
               else paths_fn(args.home).checkpoint_dir(args.model))
    source = Path(args.metrics).expanduser().resolve() if args.metrics else run_dir
    try:
        log = metrics.read_metrics(source)
    except metrics.MonitorError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    if not log.records:
        print(f"ERROR: {log.path} holds no metric records yet; plot again after the first "
              f"logging step", file=sys.stderr)
        return 2
    out_dir = Path(args.out_dir).expanduser().resolve() if args.out_dir else log.path.parent / "plots"
    title = args.title or f"{args.model}: {log.path.parent} (step {log.last_step:,})"
    for path in render_plots(log, out_dir, title):
        print(path)
    if len(log.branches) > 1:  # which line is which: the current branch and those kept beside it
        for branch in log.branches:
            print(f"{branch.state} branch {branch.describe()}"
                  + (" (abandoned steps dotted grey in loss.png)" if branch.id in log.abandoned else ""))
    if log.skipped_lines:
        print(f"warning: skipped {log.skipped_lines} unreadable line(s) in {log.path}", file=sys.stderr)
    return 0
