#!/usr/bin/env python3
"""Check the trained tokenizer (stage 03); exit 0 when sound, 1 when a check fails, 2 on unreadable input.

Checks: the folder loads with AutoTokenizer offline with bos/eos/pad set; decode(encode(text)) == text
exactly on held-out documents of every kind and on text with characters absent from training;
every special token is one id and ordinary text containing its string never produces it; tags put
in by id decode to their strings. Reports characters/token and tokens/word on held-out historical
text next to a byte-level BPE of the same size trained on modern English (the Python standard
library's reference docs and docstrings, shipped with every Python); when that text is too small for
min_frequency to reach our size, also at its size, against our tokenizer cut to as many ids.

A thin door to london_llm.tokenization.check_cli (the logic and its tests live there).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the one bootstrap line: works from a clean clone
import config  # noqa: E402
from london_llm.errors import run_command  # noqa: E402
from london_llm.tokenization.check_cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(run_command(main, None, paths_fn=config.paths, prog="test_tokenizer.py"))
