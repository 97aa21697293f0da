#!/usr/bin/env python3
"""Count tokens of the cleaned corpus, per source and in total.

A thin door to london_llm.cleaning.count_cli, which holds the usage, the flags (--help) and the logic.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the one bootstrap line: works from a clean clone
import config  # noqa: E402
from london_llm.errors import run_command  # noqa: E402
from london_llm.cleaning.count_cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(run_command(main, None, paths_fn=config.paths, root=config.ROOT, prog="count_tokens.py"))
