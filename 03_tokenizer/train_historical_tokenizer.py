#!/usr/bin/env python3
"""Train the London historical tokenizer (stage 03): byte-level BPE on the cleaned documents.

Reads documents.jsonl (format 1) one line at a time, makes special tokens of <|endoftext|>,
<|pad|> and the conditioning tags the documents really carry (kind, quarter-century), holds a few
documents out for checks, and writes the tokenizer folder (format 1) atomically:
tokenizer.json, vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json and
london_tokenizer.json. Then check it: python 03_tokenizer/test_tokenizer.py
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import config  # noqa: E402

from london_llm.tokenization.logs import setup_logging  # noqa: E402
from london_llm.tokenization.errors import TokenizerError  # noqa: E402
from london_llm.tokenization.loading import tokenizer_info  # noqa: E402
from london_llm.tokenization.training import train_tokenizer  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    paths = config.paths()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=Path, default=paths.documents_file,
                        help="cleaned documents, JSON lines (default: %(default)s)")
    parser.add_argument("--output_dir", "--output-dir", type=Path, default=paths.tokenizer_dir,
                        help="tokenizer folder to write; replaced when it exists (default: %(default)s)")
    parser.add_argument("--vocab_size", "--vocab-size", type=int, default=config.PRESETS["slm"].vocab_size,
                        help="vocabulary size including the 256 byte symbols and special tokens "
                             "(default: the slm preset's, %(default)s)")
    parser.add_argument("--min_frequency", "--min-frequency", type=int, default=2,
                        help="a pair must occur this often to be merged (default: %(default)s)")
    parser.add_argument("--held_out_fraction", "--held-out-fraction", type=float, default=0.005,
                        help="share of documents (chosen by a stable hash of their id, at least one per kind "
                             "with two or more) left out of training for test_tokenizer.py (default: %(default)s)")
    parser.add_argument("--model_max_length", "--model-max-length", type=int,
                        default=max(p.max_length for p in config.PRESETS.values()),
                        help="model_max_length in tokenizer_config.json (default: the largest preset "
                             "context, %(default)s)")
    parser.add_argument("--log_file", "--log-file", type=Path, default=paths.logs_dir / "tokenizer_training.log",
                        help="append the log here as well as the terminal (default: %(default)s)")
    parser.add_argument("--no_progress", "--no-progress", action="store_true", help="no progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    log = setup_logging(args.log_file)
    log.info("training tokenizer: documents %s -> %s (vocab %d, min frequency %d)", args.documents,
             args.output_dir, args.vocab_size, args.min_frequency)
    try:
        folder = train_tokenizer(args.documents, args.output_dir, vocab_size=args.vocab_size,
                                 min_frequency=args.min_frequency, show_progress=not args.no_progress,
                                 held_out_fraction=args.held_out_fraction, model_max_length=args.model_max_length)
        info = tokenizer_info(folder)
    except TokenizerError as exc:
        log.error("%s", exc)
        return 2
    data = info["training_data"]
    log.info("tokenizer: %s", folder)
    log.info("vocabulary %d tokens (asked %d) trained in %.1f s on %d of %d documents (%s chars)",
             info["vocab_size"], info["requested_vocab_size"], info["training_seconds"],
             data["training_documents"], data["documents"], f"{data['chars']:,}")
    log.info("conditioning tags (%d): %s", len(info["conditioning_tags"]), " ".join(info["conditioning_tags"]))
    log.info("check it: python 03_tokenizer/test_tokenizer.py --tokenizer_dir %s", folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
