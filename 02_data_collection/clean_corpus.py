#!/usr/bin/env python3
"""Clean the downloaded sources into documents.jsonl, the corpus file and statistics, on all cores.

    python 02_data_collection/clean_corpus.py                               # downloads/ -> corpus
    python 02_data_collection/clean_corpus.py --from_dir ../shared/corpus   # import a local copy first
    python 02_data_collection/clean_corpus.py --long_s keep --min_year 1600 --workers 2

Reads every complete download (a file with its <file>.meta.json sidecar) under downloads/,
writes processed/documents.jsonl + documents.meta.json, the comprehensive corpus file and
metadata/statistics.json (documents, characters, words per source; what each filter removed).
Exit status: 0 done, 2 bad input (nothing downloaded, bad flags, unreadable folder).

A thin door to london_llm.cleaning.cli (the logic and its tests live there).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the one bootstrap line: works from a clean clone
import config  # noqa: E402
from london_llm.errors import run_command  # noqa: E402
from london_llm.cleaning.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(run_command(main, None, paths_fn=config.paths, prog="clean_corpus.py"))
