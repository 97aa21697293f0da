"""Count tokens of the cleaned corpus, per source and in total.

    python 02_data_collection/count_tokens.py --data_dir data/london_historical/processed

Uses the trained tokenizer (09_models/tokenizers/london_historical_tokenizer/tokenizer.json) when it
exists; otherwise says so and reports words and characters.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Callable, Optional

from london_llm.atomic import write_json
from london_llm.cleaning.token_counts import DocumentsError, count_tokens, documents_file, load_tokenizer
from london_llm.logs import setup_logger
from london_llm.settings import HOME_HELP, parse_under_home

log = logging.getLogger("london_llm.count_tokens")


def build_parser(paths, prog: Optional[str] = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--home", type=Path, help=HOME_HELP)
    p.add_argument("--data_dir", "--data-dir", type=Path, default=paths.processed_dir,
                   help=f"folder with documents.jsonl, or the file itself (default: {paths.processed_dir}); "
                        "a relative path is looked for in the current directory, then under the artifact root "
                        "($LONDON_LLM_HOME), then under the repository")
    p.add_argument("--tokenizer_dir", "--tokenizer-dir", type=Path, default=paths.tokenizer_dir,
                   help=f"trained tokenizer folder (default: {paths.tokenizer_dir})")
    p.add_argument("--batch_size", "--batch-size", type=int, default=64, help="documents per encode batch (default: 64)")
    p.add_argument("--output", type=Path, help="also write the counts as JSON to this file")
    p.add_argument("--json", action="store_true", help="print the counts as JSON instead of a table")
    p.add_argument("--log_file", "--log-file", type=Path, default=paths.logs_dir / "count_tokens.log",
                   help="log file (default: <home>/logs/count_tokens.log)")
    p.add_argument("--no_progress", "--no-progress", action="store_true", help="no progress bar")
    return p


def _resolve(path: Path, home: Path, root: Path) -> Path:
    """Relative paths as the guide writes them work from the artifact root ($LONDON_LLM_HOME) and the
    repository root too."""
    if path.is_absolute() or path.exists():
        return path
    for base in (home, root):
        if (base / path).exists():
            return base / path
    return home / path


def _table(counts: dict) -> str:
    unit = "tokens" if counts["tokenizer"] else "words"
    rows = [f"{'source':40} {'documents':>10} {'characters':>14} {'words':>12}" + (f" {'tokens':>12}" if counts["tokenizer"] else "")]
    for name, c in list(counts["sources"].items()) + [("TOTAL", counts["total"])]:
        rows.append(f"{name:40} {c['documents']:>10,} {c['chars']:>14,} {c['words']:>12,}"
                    + (f" {c['tokens']:>12,}" if counts["tokenizer"] else ""))
    rows.append(f"(counted in {unit})")
    return "\n".join(rows)


def main(argv: Optional[list[str]], *, paths_fn: Callable, root: Path, prog: Optional[str] = None) -> int:
    """02_data_collection/count_tokens.py; `paths_fn(home)` gives the artifact locations (config.paths),
    `root` the repository (a relative --data_dir is also looked for there)."""
    args = parse_under_home(lambda home: build_parser(paths_fn(home), prog), argv)
    paths = paths_fn(args.home)
    setup_logger("london_llm", args.log_file, named=True)  # every package logger, terminal and file
    if args.batch_size <= 0:
        print("error: --batch_size must be positive", file=sys.stderr)
        return 2
    try:
        path = documents_file(_resolve(args.data_dir, paths.home, Path(root)))
        tokenizer = load_tokenizer(args.tokenizer_dir)
    except DocumentsError as exc:
        log.error("%s", exc)
        return 2
    except Exception as exc:  # a corrupt tokenizer.json: name it and say what to rerun
        log.error("cannot load the tokenizer in %s (%s); retrain it with "
                  "`python 03_tokenizer/train_historical_tokenizer.py`", args.tokenizer_dir, exc)
        return 2
    if tokenizer is None:
        log.info("no trained tokenizer at %s (train one with 03_tokenizer/train_historical_tokenizer.py): "
                 "reporting words and characters", args.tokenizer_dir / "tokenizer.json")
    try:
        counts = count_tokens(path, tokenizer, args.batch_size, progress=not args.no_progress)
    except DocumentsError as exc:
        log.error("%s", exc)
        return 2
    counts["tokenizer_dir"] = str(args.tokenizer_dir) if tokenizer else None
    if args.output:
        write_json(args.output, counts)
    print(json.dumps(counts, indent=2) if args.json else _table(counts))
    log.info("counted %s documents in %s", f"{counts['total']['documents']:,}", path)
    return 0
