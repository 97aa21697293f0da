"""Train the London historical tokenizer (stage 03): byte-level BPE on the cleaned documents.

Reads documents.jsonl (format 1) one line at a time, makes special tokens of <|endoftext|>,
<|pad|> and the conditioning tags the documents really carry (kind, quarter-century), holds a few
documents out for checks, and writes the tokenizer folder (format 1) atomically:
tokenizer.json, vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json and
london_tokenizer.json. Then check it: python 03_tokenizer/test_tokenizer.py
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Optional

from london_llm.logs import setup_logger
from london_llm.settings import HOME_HELP, parse_under_home
from london_llm.tokenization.errors import TokenizerError
from london_llm.tokenization.loading import tokenizer_info
from london_llm.tokenization.training import train_tokenizer


LOGGER_NAME = "london_llm.tokenization"


def build_parser(paths, presets: dict, prog: Optional[str] = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, help=HOME_HELP)
    parser.add_argument("--documents", type=Path, default=paths.documents_file,
                        help="cleaned documents, JSON lines (default: %(default)s)")
    parser.add_argument("--output_dir", "--output-dir", type=Path, default=paths.tokenizer_dir,
                        help="tokenizer folder to write; replaced when it exists (default: %(default)s)")
    parser.add_argument("--vocab_size", "--vocab-size", type=int, default=presets["slm"].vocab_size,
                        help="vocabulary size including the 256 byte symbols and special tokens "
                             "(default: the slm preset's, %(default)s)")
    parser.add_argument("--min_frequency", "--min-frequency", type=int, default=2,
                        help="a pair must occur this often to be merged (default: %(default)s)")
    parser.add_argument("--held_out_fraction", "--held-out-fraction", type=float, default=0.005,
                        help="share of documents (chosen by a stable hash of their id, at least one per kind "
                             "with two or more) left out of training for test_tokenizer.py (default: %(default)s)")
    parser.add_argument("--model_max_length", "--model-max-length", type=int,
                        default=max(p.max_length for p in presets.values()),
                        help="model_max_length in tokenizer_config.json (default: the largest preset "
                             "context, %(default)s)")
    parser.add_argument("--log_file", "--log-file", type=Path, default=paths.logs_dir / "tokenizer_training.log",
                        help="append the log here as well as the terminal (default: %(default)s)")
    parser.add_argument("--no_progress", "--no-progress", action="store_true", help="no progress bars")
    return parser


def main(argv: Optional[list[str]], *, paths_fn: Callable, presets: dict, prog: Optional[str] = None) -> int:
    """03_tokenizer/train_historical_tokenizer.py; `paths_fn(home)` and `presets` come from config.py."""
    args = parse_under_home(lambda home: build_parser(paths_fn(home), presets, prog), argv)
    log = setup_logger(LOGGER_NAME, args.log_file)
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
