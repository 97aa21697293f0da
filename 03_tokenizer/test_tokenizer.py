#!/usr/bin/env python3
"""Check the trained tokenizer (stage 03); exit 0 when sound, 1 when a check fails, 2 on unreadable input.

A thin door to london_llm.tokenization.check_cli, which holds the usage, the flags (--help) and the logic.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the one bootstrap line: works from a clean clone
import config  # noqa: E402
from london_llm.errors import run_command  # noqa: E402
from london_llm.tokenization.check_cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(run_command(main, None, paths_fn=config.paths, prog="test_tokenizer.py"))
