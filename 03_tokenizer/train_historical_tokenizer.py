#!/usr/bin/env python3
"""Train the London historical tokenizer (stage 03): byte-level BPE on the cleaned documents.

Reads documents.jsonl (format 1) one line at a time, makes special tokens of <|endoftext|>,
<|pad|> and the conditioning tags the documents really carry (kind, quarter-century), holds a few
documents out for checks, and writes the tokenizer folder (format 1) atomically:
tokenizer.json, vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json and
london_tokenizer.json. Then check it: python 03_tokenizer/test_tokenizer.py

A thin door to london_llm.tokenization.cli (the logic and its tests live there).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the one bootstrap line: works from a clean clone
import config  # noqa: E402
from london_llm.errors import run_command  # noqa: E402
from london_llm.tokenization.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(run_command(main, None, paths_fn=config.paths, presets=config.PRESETS, prog="train_historical_tokenizer.py"))
