#!/usr/bin/env python3
"""Count tokens of the cleaned corpus, per source and in total.

    python 02_data_collection/count_tokens.py --data_dir data/london_historical/processed

Uses the trained tokenizer (09_models/tokenizers/london_historical_tokenizer/tokenizer.json) when it
exists; otherwise says so and reports words and characters.

A thin door to london_llm.cleaning.count_cli (the logic and its tests live there).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the one bootstrap line: works from a clean clone
import config  # noqa: E402
from london_llm.errors import run_command  # noqa: E402
from london_llm.cleaning.count_cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(run_command(main, None, paths_fn=config.paths, root=config.ROOT, prog="count_tokens.py"))
