#!/usr/bin/env python3
"""Benchmark stage 03: training time of the tokenizer on the full cleaned corpus, and compression.

Builds the cleaned documents of ../shared/corpus with the data stage's own library
(london_llm.cleaning: import_from_dir + build_corpus) in a work folder - unless --documents names an
existing documents.jsonl, or the data stage is unavailable, in which case it falls back to every
Gutenberg novel and Ordinary's Account of the corpus via the tests' documents helper and says so.
Then times train_tokenizer at the given vocabulary (the figure the README quotes; target < 60 s on
the 2-core project machine) and prints the compression report of 03_tokenizer/test_tokenizer.py.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import config  # noqa: E402
from _machine import cpu_description, cpu_seconds, load_line  # noqa: E402

from london_llm.tokenization.report import check_tokenizer  # noqa: E402
from london_llm.tokenization.loading import tokenizer_info  # noqa: E402
from london_llm.tokenization.training import train_tokenizer  # noqa: E402


def build_documents(corpus: Path, work: Path) -> tuple[Path, str]:
    """documents.jsonl of the whole corpus, cleaned by the data stage when it is importable."""
    try:
        from london_llm.cleaning.build import build_corpus
        from london_llm.cleaning.importer import import_from_dir
    except ImportError as exc:  # the data stage is built alongside; the benchmark still gives a figure
        sys.path.insert(0, str(ROOT / "tests"))
        from conftest import build_small_documents
        out = build_small_documents(corpus, work / "documents.jsonl", novel_chars=10**12, accounts=10**9)
        return out, f"fallback (data stage not importable: {exc}): all Gutenberg novels + Ordinary's Accounts"
    paths = config.paths(work)
    import_from_dir(corpus, paths.downloads_dir)
    build_corpus(paths.downloads_dir, paths.processed_dir, paths.corpus_file, paths.metadata_dir)
    return paths.documents_file, "cleaned by london_llm.cleaning (import_from_dir + build_corpus)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus",
                        help="the real corpus to clean (default: %(default)s)")
    parser.add_argument("--documents", type=Path, default=None,
                        help="use this documents.jsonl instead of building one")
    parser.add_argument("--work_dir", "--work-dir", type=Path, default=None,
                        help="where documents and the tokenizer are written (default: a temporary folder)")
    parser.add_argument("--vocab_size", "--vocab-size", type=int, default=config.PRESETS["slm"].vocab_size,
                        help="vocabulary to train (default: %(default)s)")
    parser.add_argument("--no_check", "--no-check", action="store_true",
                        help="time training only; skip round trips and the compression comparison")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_tokenizer_") as scratch:
        work = args.work_dir or Path(scratch)
        print(cpu_description())
        print(load_line("before"), flush=True)
        if args.documents:
            documents, origin = args.documents, "given with --documents"
        else:
            started = time.perf_counter()
            documents, origin = build_documents(args.corpus, work)
            print(f"documents built in {time.perf_counter() - started:.1f} s", flush=True)
        size = documents.stat().st_size
        print(f"documents: {documents} ({size / 1e6:.1f} MB; {origin})", flush=True)

        print(load_line("before training"), flush=True)
        started, cpu_started = time.perf_counter(), cpu_seconds()
        folder = train_tokenizer(documents, work / "tokenizer", vocab_size=args.vocab_size, show_progress=True)
        total, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
        info = tokenizer_info(folder)
        data = info["training_data"]
        print(load_line("after training"))
        print(f"TRAINING: {info['vocab_size']:,} tokens from {data['training_documents']:,} documents, "
              f"{data['chars']:,} chars ({size / 1e6:.1f} MB): {info['training_seconds']:.1f} s BPE training, "
              f"{total:.1f} s including the scan and writing the folder ({size / 1e6 / total:.1f} MB/s)")
        cores = os.cpu_count() or 1
        print(f"CPU time: {cpu:.1f} s over {total:.1f} s wall ({cpu / total:.2f} cores ours); on an idle {cores}-core "
              f"machine the wall time lies between {cpu / cores:.1f} s (every core busy) and {cpu:.1f} s (one)")
        print(f"conditioning tags ({len(info['conditioning_tags'])}): {' '.join(info['conditioning_tags'])}")
        if not args.no_check:
            report = check_tokenizer(folder, documents, max_chars_per_kind=500_000)
            print(json.dumps({k: report[k] for k in ("round_trip", "compression_by_kind", "comparison",
                                                     "failures") if k in report}, indent=2, ensure_ascii=False))
        print(load_line("after"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
