#!/usr/bin/env python3
"""Evaluate checkpoints: bits per byte on held-out period text against modern English, London
history and a knowledge-cutoff probe, period vocabulary, anachronisms, ROUGE, conditioning tags,
human evaluation, MMLU/HellaSwag from your files - offline, with baselines.

    python 05_evaluation/run_evaluation.py --mode comprehensive
    python 05_evaluation/run_evaluation.py --mode quick --model tiny
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the one bootstrap line: works from a clean clone
import config  # noqa: E402
from london_llm.errors import run_command  # noqa: E402
from london_llm.evaluation.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_command(main, None, prog="run_evaluation.py", paths_fn=config.paths, presets=list(config.PRESETS)))
