#!/usr/bin/env python3
"""Render a training run's metrics log (<checkpoint dir>/metrics.jsonl) as PNG plots, without W&B:
loss (train and validation), learning rate, tokens/s and MFU, step time, and an overview of all four.

    python 10_scripts/plot_training.py                      # the slm run -> <checkpoint dir>/plots/
    python 10_scripts/plot_training.py --model regular --out_dir /tmp/plots
    python 10_scripts/plot_training.py --metrics path/to/metrics.jsonl

A thin door to london_llm.training.plot_cli (the logic and its tests live there).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the one bootstrap line: works from a clean clone
import config  # noqa: E402
from london_llm.errors import run_command  # noqa: E402
from london_llm.training.plot_cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(run_command(main, None, paths_fn=config.paths, presets=config.PRESETS, prog="plot_training.py"))
