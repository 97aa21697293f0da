"""Clean the downloaded sources into documents.jsonl, the corpus file and statistics, on all cores.

    python 02_data_collection/clean_corpus.py                               # downloads/ -> corpus
    python 02_data_collection/clean_corpus.py --from_dir ../shared/corpus   # import a local copy first
    python 02_data_collection/clean_corpus.py --long_s keep --min_year 1600 --workers 2
    python 02_data_collection/clean_corpus.py --metadata my_books.csv --require_year   # date or drop
    python 02_data_collection/clean_corpus.py --add_texts ~/my_texts --texts_licence "CC0 1.0"   # your own .txt

Reads every complete download (a file with its <file>.meta.json sidecar) under downloads/,
writes processed/documents.jsonl + documents.meta.json, the comprehensive corpus file and
metadata/statistics.json (documents, characters, words per source; what each filter removed; the
editorial apparatus and contamination removed per class; the undated documents, listed).
Exit status: 0 done, 2 bad input (nothing downloaded, bad flags, unreadable folder).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Callable, Optional

from london_llm.cleaning.build import build_corpus, nothing_kept
from london_llm.cleaning.dating import MetadataError
from london_llm.cleaning.dedup import THRESHOLD
from london_llm.cleaning.filters import FilterSettings
from london_llm.cleaning.importer import import_from_dir
from london_llm.cleaning.normalise import LONG_S_MODES
from london_llm.cleaning import own_texts_cli
from london_llm.collect.fetch import DEFAULT_MAX_BYTES
from london_llm.collect.registry import RegistryError, load_registry
from london_llm.logs import setup_logger

log = logging.getLogger("london_llm.cleaning")
REGISTRY_FILE = "02_data_collection/data_sources.json"  # in the repository, beside the script


def _add_underscored(group, *names: str, **kwargs) -> None:
    """This script's spelling: --underscored_flag first, --dashed-flag as its alias."""
    spelled = [f"--{n[2:].replace('-', '_')}" for n in names]
    group.add_argument(*dict.fromkeys(spelled + list(names)), **kwargs)


def build_parser(paths, prog: Optional[str] = None, root: Optional[Path] = None) -> argparse.ArgumentParser:
    d = FilterSettings()
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    io = p.add_argument_group("folders (defaults from config.paths(); LONDON_LLM_HOME moves them all)")
    io.add_argument("--home", type=Path, help="artifact root (default: $LONDON_LLM_HOME or the repository)")
    io.add_argument("--from_dir", "--from-dir", type=Path, metavar="DIR",
                    help="first import DIR, laid out like ../shared/corpus, into downloads/ (offline run)")
    own_texts_cli.add_arguments(io, _add_underscored)
    io.add_argument("--downloads_dir", "--downloads-dir", type=Path, help=f"downloads (default: {paths.downloads_dir})")
    io.add_argument("--processed_dir", "--processed-dir", type=Path, help=f"cleaned documents (default: {paths.processed_dir})")
    io.add_argument("--corpus_file", "--corpus-file", type=Path, help=f"corpus text file (default: {paths.corpus_file})")
    io.add_argument("--metadata_dir", "--metadata-dir", type=Path, help=f"statistics (default: {paths.metadata_dir})")
    io.add_argument("--log_file", "--log-file", type=Path, help="log file (default: <home>/logs/data_cleaning.log)")
    io.add_argument("--registry", type=Path, default=Path(root) / REGISTRY_FILE if root else None,
                    help=f"sources registry: the year and title of registered books imported by --from_dir "
                         f"(default: {REGISTRY_FILE})")
    rules = p.add_argument_group("cleaning rules")
    rules.add_argument("--min_year", "--min-year", type=int, default=d.min_year, help=f"earliest year kept (default: {d.min_year})")
    rules.add_argument("--max_year", "--max-year", type=int, default=d.max_year, help=f"latest year kept (default: {d.max_year})")
    rules.add_argument("--long_s", "--long-s", choices=LONG_S_MODES, default="normalise",
                       help="long s and ligatures: normalise (ſ->s, ﬁ->fi) or keep as keyed (default: normalise)")
    rules.add_argument("--min_chars", "--min-chars", type=int, default=d.min_chars,
                       help=f"shortest document kept, characters (default: {d.min_chars})")
    rules.add_argument("--min_words", "--min-words", type=int, default=d.min_words,
                       help=f"shortest document kept, words (default: {d.min_words})")
    rules.add_argument("--metadata", type=Path, metavar="FILE",
                       help="your own dates: CSV (header row) or JSON lines with a 'year' and a 'file' (file name) "
                            "or 'ebook' (Gutenberg number) per row; beats every other dating route")
    rules.add_argument("--require_year", "--require-year", action="store_true",
                       help="drop documents no dating route dates (default: keep them, untagged, and list them)")
    rules.add_argument("--keep_editorial", "--keep-editorial", action="store_true",
                       help="keep modern editors' introductions, notes, footnotes, contents and title pages "
                            "(default: remove them; statistics.json counts them either way)")
    rules.add_argument("--no_unwrap", "--no-unwrap", action="store_true",
                       help="keep books' hard line wraps (default: join wrapped lines into paragraphs)")
    rules.add_argument("--near_threshold", "--near-threshold", type=float, default=THRESHOLD,
                       help=f"MinHash Jaccard at which two long documents are the same text (default: {THRESHOLD})")
    run = p.add_argument_group("running")
    run.add_argument("--workers", type=int, default=None, help="cleaning processes (default: all cores)")
    run.add_argument("--no_progress", "--no-progress", action="store_true", help="no progress bars")
    run.add_argument("--json", action="store_true", help="print the whole statistics as JSON")
    return p


def setup_logging(log_file: Path) -> None:
    """Every london_llm logger into the log file; warnings and errors on the terminal too."""
    setup_logger("london_llm", log_file, terminal_level=logging.WARNING, named=True)


def report(stats: dict) -> str:
    t = stats["totals"]
    lines = [f"{'source':34} {'files':>6} {'MB in':>8} {'docs':>7} {'chars':>12} {'words':>11}  removed"]
    for sid, s in stats["sources"].items():
        removed = ", ".join(f"{k} {v['documents']}" for k, v in sorted(s["removed"].items()))
        lines.append(f"{sid:34} {s['files']:>6} {s['bytes'] / 1e6:>8.1f} {s['documents']:>7,} {s['chars']:>12,} "
                     f"{s['words']:>11,}  {removed}")
    lines.append(f"{'TOTAL':34} {t['files']:>6} {t['bytes'] / 1e6:>8.1f} {t['documents']:>7,} {t['chars']:>12,} "
                 f"{t['words']:>11,}")
    apparatus = ", ".join(f"{k} {v:,}" for k, v in t["contamination_chars_removed"].items() if v)
    if apparatus:
        lines.append(f"removed (characters): {apparatus}")
    left = {k: v for k, v in t.get("residual_documents", {}).items() if v}
    lines.append("traces left in the corpus: " + (", ".join(f"{k} in {v} doc(s)" for k, v in left.items()) or "none"))
    if t.get("undated"):
        lines.append(f"{t['undated']} undated document(s) (no period tag): listed in statistics.json 'undated'; "
                     "date them with --metadata FILE or drop them with --require_year")
    lines.append(f"{t['seconds']:.1f} s with {t['workers']} worker(s): {t['bytes'] / 1e6 / max(t['seconds'], 1e-9):.1f} MB/s")
    if stats["errors"]:
        lines.append(f"{len(stats['errors'])} unreadable item(s), see the log; first: {stats['errors'][0]}")
    return "\n".join(lines)


def main(argv: Optional[list[str]], *, paths_fn: Callable, prog: Optional[str] = None,
         root: Optional[Path] = None) -> int:
    """02_data_collection/clean_corpus.py; `paths_fn(home)` gives the artifact locations (config.paths),
    `root` the repository (for the registry's default place)."""
    args = build_parser(paths_fn(), prog, root).parse_args(argv)
    paths = paths_fn(args.home)
    setup_logging(args.log_file or paths.logs_dir / "data_cleaning.log")
    if args.workers is not None and args.workers <= 0:
        log.error("--workers must be positive")
        return 2
    misused = own_texts_cli.misused(args)
    if misused:
        log.error("%s", misused)
        return 2
    downloads = args.downloads_dir or paths.downloads_dir
    try:
        registry = load_registry(args.registry) if args.registry and (args.from_dir or args.add_texts) else None
        if args.add_texts and own_texts_cli.run(args, downloads, args.metadata_dir or paths.metadata_dir,
                                                registered=[s.id for s in registry or ()],
                                                max_bytes=DEFAULT_MAX_BYTES):
            return 2
        if args.from_dir:
            summary = import_from_dir(args.from_dir.expanduser(), downloads, registry=registry)
            print(f"imported {summary['imported']} file(s) ({summary['skipped']} already present) from {args.from_dir}")
            if summary["unmapped"]:
                log.info("not imported (no rule for them): %s", ", ".join(summary["unmapped"]))
            if not summary["imported"] and not summary["skipped"]:
                log.error("--from_dir %s: no file there is in a known source's layout%s; point --from_dir at a "
                          "copy of ../shared/corpus (the sources' own folder layouts), or import a folder of your "
                          "own .txt files with --add_texts FOLDER", args.from_dir,
                          f" (not recognised: {', '.join(summary['unmapped'][:5])})" if summary["unmapped"] else "")
                return 2
        stats = build_corpus(downloads, args.processed_dir or paths.processed_dir,
                             args.corpus_file or paths.corpus_file, args.metadata_dir or paths.metadata_dir,
                             min_year=args.min_year, max_year=args.max_year, long_s=args.long_s,
                             workers=args.workers, progress=not args.no_progress, min_chars=args.min_chars,
                             min_words=args.min_words, near_threshold=args.near_threshold,
                             keep_editorial=args.keep_editorial, require_year=args.require_year,
                             metadata_file=args.metadata, unwrap_books=not args.no_unwrap)
    except (ValueError, OSError, MetadataError, RegistryError) as exc:
        log.error("%s", exc)
        return 2
    print(json.dumps(stats, indent=2) if args.json else report(stats))
    empty = nothing_kept(stats)
    if empty:
        log.error("%s", empty)
        return 2
    return 0
