#!/usr/bin/env python3
"""Render a training run's metrics log (<checkpoint dir>/metrics.jsonl) as PNG plots, without W&B:
loss (train and validation), learning rate, tokens/s and MFU, step time, and an overview of all four.

A thin door to london_llm.training.plot_cli, which holds the usage, the flags (--help) and the logic.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the one bootstrap line: works from a clean clone
import config  # noqa: E402
from london_llm.errors import run_command  # noqa: E402
from london_llm.training.plot_cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(run_command(main, None, paths_fn=config.paths, presets=config.PRESETS, prog="plot_training.py"))
