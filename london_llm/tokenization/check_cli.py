"""Check the trained tokenizer (stage 03); exit 0 when sound, 1 when a check fails, 2 on unreadable input.

Checks: the folder loads with AutoTokenizer offline with bos/eos/pad set; decode(encode(text)) == text
exactly on held-out documents of every kind and on text with characters absent from training;
every special token is one id and ordinary text containing its string never produces it; tags put
in by id decode to their strings. Reports characters/token and tokens/word on held-out historical
text next to a byte-level BPE of the same size trained on modern English (the Python standard
library's reference docs and docstrings, shipped with every Python); when that text is too small for
min_frequency to reach our size, also at its size, against our tokenizer cut to as many ids.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Optional

from london_llm import atomic
from london_llm.logs import setup_logger
from london_llm.settings import HOME_HELP, parse_under_home
from london_llm.tokenization.report import check_tokenizer
from london_llm.tokenization.errors import TokenizerError
from london_llm.tokenization.loading import tokenizer_info


LOGGER_NAME = "london_llm.tokenization"


def build_parser(paths, prog: Optional[str] = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, help=HOME_HELP)
    parser.add_argument("--tokenizer_dir", "--tokenizer-dir", type=Path, default=paths.tokenizer_dir,
                        help="tokenizer folder to check (default: %(default)s)")
    parser.add_argument("--documents", type=Path, default=None,
                        help="documents.jsonl holding the held-out documents (default: the file the "
                             "tokenizer was trained on, as london_tokenizer.json records, else "
                             f"{paths.documents_file})")
    parser.add_argument("--max_chars_per_kind", "--max-chars-per-kind", type=int, default=200_000,
                        help="held-out characters checked per document kind (default: %(default)s)")
    parser.add_argument("--no_comparison", "--no-comparison", action="store_true",
                        help="skip training the modern-English comparison tokenizer")
    parser.add_argument("--report", type=Path, default=paths.logs_dir / "tokenizer_report.json",
                        help="write the full report as JSON here (default: %(default)s)")
    parser.add_argument("--log_file", "--log-file", type=Path, default=paths.logs_dir / "tokenizer_check.log",
                        help="append the log here as well as the terminal (default: %(default)s)")
    return parser


def _figures(name: str, figures: dict) -> str:
    return (f"  {name:<44} {figures['chars_per_token']:>7.3f} chars/token {figures['tokens_per_word']:>7.3f} "
            f"tokens/word  ({figures['tokens']:,} tokens, {figures['chars']:,} chars)")


def main(argv: Optional[list[str]], *, paths_fn: Callable, prog: Optional[str] = None) -> int:
    """03_tokenizer/test_tokenizer.py; `paths_fn(home)` gives the artifact locations (config.paths)."""
    args = parse_under_home(lambda home: build_parser(paths_fn(home), prog), argv)
    log = setup_logger(LOGGER_NAME, args.log_file)
    try:
        documents = args.documents
        if documents is None:  # the file it was trained on; else this machine's default location
            recorded = Path(tokenizer_info(args.tokenizer_dir)["training_data"]["documents_file"])
            documents = recorded if recorded.is_file() else paths_fn(args.home).documents_file
        log.info("checking %s on held-out documents of %s ...", args.tokenizer_dir, documents)
        report = check_tokenizer(args.tokenizer_dir, documents, args.max_chars_per_kind,
                                 compare=not args.no_comparison)
    except TokenizerError as exc:
        log.error("%s", exc)
        return 2
    atomic.write_json(args.report, report)
    log.info("tokenizer %s: %d tokens, %d conditioning tags", report["tokenizer_dir"], report["vocab_size"],
             len(report["conditioning_tags"]))
    ids = report["autotokenizer_ids"]
    log.info("AutoTokenizer: bos %s, eos %s, pad %s", ids["bos"], ids["eos"], ids["pad"])
    for kind, result in report["round_trip"].items():
        log.info("round trip %-9s %s on %d texts, %s chars (%s)", kind, "EXACT" if result["exact"] else "FAILED",
                 result["texts"], f"{result['chars']:,}", result["source"])
    log.info("round trip on %d texts with unseen characters / special strings: %s",
             report["unseen_round_trip"]["texts"], "EXACT" if report["unseen_round_trip"]["exact"] else "FAILED")
    log.info("special tokens: %d, single ids, never produced from text: %s", report["special_tokens"]["count"],
             "OK" if report["special_tokens"]["ok"] else "FAILED")
    lines = ["compression on held-out historical text, by kind (historical tokenizer):"]
    lines += [_figures(kind, figures) for kind, figures in report["compression_by_kind"].items()]
    comparison = report.get("comparison")
    if comparison:
        lines.append(f"comparison: byte-level BPE of {comparison['modern_vocab_size']:,} tokens trained on "
                     f"{comparison['modern_training_chars']:,} chars of {comparison['modern_source']}")
        lines.append(_figures("historical tokenizer on held-out historical", comparison["historical_tokenizer_on_historical"]))
        lines.append(_figures("modern tokenizer on held-out historical", comparison["modern_tokenizer_on_historical"]))
        lines.append(_figures("historical tokenizer on held-out modern", comparison["historical_tokenizer_on_modern"]))
        lines.append(_figures("modern tokenizer on held-out modern", comparison["modern_tokenizer_on_modern"]))
        if "historical_tokenizer_at_modern_size_on_historical" in comparison:
            size = f"{comparison['modern_vocab_size']:,}"
            lines.append(f"at the same size ({size}; the modern text is too small for min_frequency to reach "
                         f"{report['vocab_size']:,}), the historical tokenizer's first {size} ids:")
            lines.append(_figures(f"historical@{size} on held-out historical",
                                  comparison["historical_tokenizer_at_modern_size_on_historical"]))
            lines.append(_figures(f"historical@{size} on held-out modern",
                                  comparison["historical_tokenizer_at_modern_size_on_modern"]))
    for line in lines:
        log.info("%s", line)
    for failure in report["failures"]:
        log.error("FAILED: %s", failure)
    log.info("report: %s", args.report)
    if report["failures"]:
        log.error("%d check(s) failed", len(report["failures"]))
        return 1
    log.info("all checks passed")
    return 0
