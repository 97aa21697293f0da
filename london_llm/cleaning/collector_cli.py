"""Stage 02: download the historical London sources, then clean them into the corpus.

    python 02_data_collection/historical_data_collector.py                    # everything enabled
    python 02_data_collection/historical_data_collector.py --list-sources
    python 02_data_collection/historical_data_collector.py --sources gutenberg old_bailey_sessions
    python 02_data_collection/historical_data_collector.py --from-dir ../shared/corpus   # offline
    python 02_data_collection/historical_data_collector.py --from-dir ~/Downloads/obo    # a deposit zip
    python 02_data_collection/historical_data_collector.py --add-texts ~/my_texts --texts-licence "CC BY 4.0"
    python 02_data_collection/historical_data_collector.py --clean-only

Downloads land in data/london_historical/downloads/<source_id>/<file> with <file>.meta.json written
last; a rerun fetches only what is missing. Every base URL can point at a mirror (flags below or
LONDON_LLM_<NAME>_MIRROR). Exit status: 0 when done (failures listed in the summary), 1 with
--strict when any item failed or when no host answered (offline: the message says what to do),
2 on bad input (registry, flags, missing folders).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Callable, Optional

from london_llm import atomic
from london_llm.collect.collector import DEFAULT_MAX_ARCHIVE_BYTES, OFFLINE_ADVICE, CollectOptions, collect
from london_llm.collect.fetch import DEFAULT_MAX_BYTES
from london_llm.collect.http import USER_AGENT, HttpSettings
from london_llm.collect.registry import (DEPOSIT_FILES_ENV, MIRRORS, RegistryError, load_registry,
                                        override_deposit_files, resolve_mirrors, select_sources)
from london_llm.logs import setup_logger

from . import own_texts_cli

REGISTRY_FILE = "02_data_collection/data_sources.json"  # in the repository, beside the script
log = logging.getLogger("london_llm.collect")


def _add(group, *names: str, **kwargs) -> None:
    """Each --dashed-flag also answers to --underscored_flag, the spelling the guide and clean_corpus.py use."""
    aliases = ["--" + n[2:].replace("-", "_") for n in names if n.startswith("--") and "-" in n[2:]]
    group.add_argument(*names, *aliases, **kwargs)


def build_parser(root: Path, prog: Optional[str] = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.split("\n\n")[1:]))
    what = p.add_argument_group("what to do")
    _add(what, "--registry", type=Path, default=Path(root) / REGISTRY_FILE,
                      help=f"sources registry (default: {REGISTRY_FILE})")
    _add(what, "--sources", nargs="+", metavar="ID",
                      help="only these source ids, or kinds/collections (gutenberg, old_bailey, ...); "
                           "a disabled source runs when named by id (default: every enabled source)")
    _add(what, "--list-sources", action="store_true", help="print the registry's sources and exit")
    _add(what, "--download-only", action="store_true", help="download, do not clean")
    _add(what, "--clean-only", action="store_true", help="clean what is already downloaded, fetch nothing")
    _add(what, "--from-dir", type=Path, metavar="DIR",
                      help="import already-downloaded files in the sources' own layouts (e.g. ../shared/corpus), "
                           "and bulk deposit zips you downloaded (read in place, as the online bulk route does), "
                           "instead of downloading, then clean")
    own_texts_cli.add_arguments(what, _add)
    _add(what, "--deposit-files", nargs="+", metavar="PATTERN",
         help="file names (glob patterns) of the bulk deposits' files to fetch from Figshare, replacing the "
              f"registry's `files` (env {DEPOSIT_FILES_ENV}, comma-separated; the registry's names were "
              "not checked against the live deposit)")
    _add(what, "--strict", action="store_true", help="exit 1 when any item failed")

    where = p.add_argument_group("where")
    _add(where, "--home", type=Path, help="artifact root (default: $LONDON_LLM_HOME or the repository)")
    _add(where, "--output-dir", type=Path,
                       help="data folder holding downloads/, processed/, metadata/ and the corpus "
                            "(default: <home>/data/london_historical)")
    _add(where, "--log-file", type=Path, help="log file (default: <home>/logs/data_collection.log)")

    net = p.add_argument_group("network (politeness and robustness)")
    _add(net, "--workers", type=int, default=4, help="parallel downloads (default: 4)")
    _add(net, "--max-retries", type=int, default=5, help="retries per request and per file (default: 5)")
    _add(net, "--backoff", type=float, default=1.0,
                     help="exponential backoff factor in seconds: waits backoff*2^(n-1) (default: 1.0)")
    _add(net, "--timeout", type=float, default=30.0,
                     help="seconds to wait between received bytes (default: 30)")
    _add(net, "--connect-timeout", type=float, default=10.0,
                     help="seconds to establish a connection; a host that cannot be connected to (name does "
                          "not resolve, connection refused, this timeout) is not retried and its remaining "
                          "items fail at once (default: 10)")
    _add(net, "--rate-limit", type=float, default=1.0,
                     help="minimum seconds between requests to one host (default: 1.0; 0 disables)")
    _add(net, "--retry-after-max", type=float, default=600.0,
                     help="longest Retry-After wait honoured, seconds (default: 600)")
    _add(net, "--max-bytes", type=int, default=DEFAULT_MAX_BYTES,
                     help=f"largest file accepted (default: {DEFAULT_MAX_BYTES:,})")
    _add(net, "--max-archive-bytes", type=int, default=DEFAULT_MAX_ARCHIVE_BYTES,
                     help=f"largest bulk archive accepted, e.g. the Old Bailey's XML deposit "
                          f"(default: {DEFAULT_MAX_ARCHIVE_BYTES:,})")
    _add(net, "--user-agent", default=USER_AGENT, help="User-Agent header (default: descriptive, names the project)")
    mirrors = p.add_argument_group("mirrors (each also read from its environment variable)")
    for m in MIRRORS.values():
        _add(mirrors, m.flag, dest=f"mirror_{m.name}", metavar="URL",
                             help=f"{m.what} (env {m.env}; default {m.default})")
    _add(mirrors, "--archive-mirror", dest="mirror_internet_archive", metavar="URL",
                         help="alias of --internet-archive-mirror")

    clean = p.add_argument_group("cleaning (passed to london_llm.cleaning.build.build_corpus)")
    _add(clean, "--min-year", type=int, default=1500, help="earliest year kept (default: 1500)")
    _add(clean, "--max-year", type=int, default=1913, help="latest year kept (default: 1913)")
    _add(clean, "--long-s", default="normalise", choices=("normalise", "keep"), help="long s (ſ) rule: normalise | keep (default: normalise)")
    _add(clean, "--clean-workers", type=int, default=None, help="cleaning processes (default: all cores)")
    _add(clean, "--metadata", type=Path, metavar="FILE",
         help="your own dates and titles: CSV or JSON lines, a row per 'file' (its name, or its path inside "
              "--add-texts FOLDER) or 'ebook', with 'year' (beats every other route), 'title', 'author', and for "
              "--add-texts files 'licence' and 'kind'")
    _add(clean, "--require-year", action="store_true", help="drop documents no dating route dates (default: keep, listed)")
    _add(clean, "--keep-editorial", action="store_true",
         help="keep modern editors' introductions, notes, footnotes, contents and title pages (default: remove)")
    _add(p, "--no-progress", action="store_true", help="no progress bars")
    return p


def setup_logging(log_file: Path) -> None:
    """Every london_llm logger into the log file; only errors on the terminal (the summary says the rest)."""
    setup_logger("london_llm", log_file, terminal_level=logging.ERROR, named=True)


def list_sources(sources) -> None:
    print(f"{'id':44} {'kind':24} {'route':8} {'on':3} {'doc':9} {'years':10} what")
    for s in sources:
        print(f"{s.id:44} {s.kind:24} {s.route:8} {'yes' if s.enabled else 'no':3} {s.doc_kind:9} "
              f"{s.date_range[0]}-{s.date_range[1]:<5} {s.summary()}")
    print(f"{len(sources)} sources, {sum(s.enabled for s in sources)} enabled")


def run_cleaning(args, data_dir: Path) -> int:
    try:
        from london_llm.cleaning.build import BuildError, build_corpus, nothing_kept
    except ImportError as exc:
        print(f"error: the cleaning library is not available ({exc}); use --download-only", file=sys.stderr)
        return 2
    try:
        stats = build_corpus(data_dir / "downloads", data_dir / "processed",
                             data_dir / "london_historical_corpus_comprehensive.txt", data_dir / "metadata",
                             min_year=args.min_year, max_year=args.max_year, long_s=args.long_s,
                             workers=args.clean_workers, progress=not args.no_progress,
                             metadata_file=args.metadata, require_year=args.require_year,
                             keep_editorial=args.keep_editorial)
    except (BuildError, ValueError, OSError) as exc:  # the message names the file and what to rerun
        print(f"error: cleaning failed: {exc}", file=sys.stderr)
        return 2
    totals = stats.get("totals", {}) if isinstance(stats, dict) else {}
    errors = stats.get("errors") if isinstance(stats, dict) else None
    if errors:  # e.g. an HTML page saved as a book's .txt: the terminal shows only errors, so say it here
        print(f"warning: {len(errors)} unreadable file(s) left out of the corpus, listed in metadata/statistics.json "
              f"'errors' (fix or remove them and rerun); first: {errors[0]}", file=sys.stderr)
    if totals.get("undated"):
        print(f"warning: {totals['undated']} undated document(s), listed in metadata/statistics.json 'undated' "
              "(date them with --metadata FILE, or drop them with --require-year)", file=sys.stderr)
    print("cleaned: " + ", ".join(f"{k} {totals[k]:,}" for k in ("files", "documents", "chars", "words")
                                  if isinstance(totals.get(k), int)))
    empty = nothing_kept(stats) if isinstance(stats, dict) else None
    if empty:  # exit 0 here let ./run.sh go on to a tokenizer stage that can only say "no documents"
        print(f"error: {empty}", file=sys.stderr)
        return 2
    print(f"corpus: {data_dir / 'london_historical_corpus_comprehensive.txt'}")
    return 0


def main(argv: Optional[list[str]], *, paths_fn: Callable, root: Path, prog: Optional[str] = None) -> int:
    """02_data_collection/historical_data_collector.py: download, then clean (so it sits in the cleaning
    layer, above collect). `paths_fn(home)` gives the artifact locations (config.paths), `root` the repository."""
    args = build_parser(root, prog).parse_args(argv)
    if args.download_only and args.clean_only:
        print("error: --download-only and --clean-only exclude each other", file=sys.stderr)
        return 2
    misused = own_texts_cli.misused(args)
    if misused:
        print(f"error: {misused}", file=sys.stderr)
        return 2
    paths = paths_fn(args.home)
    data_dir = (args.output_dir.expanduser().resolve() if args.output_dir else paths.data_dir)
    try:
        registry = override_deposit_files(load_registry(args.registry), args.deposit_files)
        if args.list_sources:
            list_sources(registry)
            return 0
        chosen = select_sources(registry, args.sources)
        mirrors = resolve_mirrors({name: getattr(args, f"mirror_{name}") for name in MIRRORS})
    except RegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, value in (("--workers", args.workers), ("--max-retries", args.max_retries + 1),
                        ("--timeout", args.timeout), ("--connect-timeout", args.connect_timeout),
                        ("--max-bytes", args.max_bytes), ("--max-archive-bytes", args.max_archive_bytes)):
        if value <= 0:
            print(f"error: {name} must be positive", file=sys.stderr)
            return 2
    setup_logging(args.log_file or paths.logs_dir / "data_collection.log")
    downloads = data_dir / "downloads"
    summary = None
    if args.from_dir:
        try:
            from london_llm.cleaning.importer import import_from_dir
            counts = import_from_dir(args.from_dir.expanduser().resolve(), downloads, registry=registry)
        except (ImportError, OSError, ValueError) as exc:
            said = str(exc)  # the importer's own messages already start with the flag and folder
            print(f"error: {said if said.startswith('--from-dir') else f'--from-dir {args.from_dir}: {said}'}",
                  file=sys.stderr)
            return 2
        print(f"imported from {args.from_dir}: {json.dumps(counts, default=str)}")
        if not counts.get("imported") and not counts.get("skipped"):
            unmapped = counts.get("unmapped") or []
            print(f"error: --from-dir {args.from_dir}: no file there is in a known source's layout"
                  + (f" (not recognised: {', '.join(map(str, unmapped[:5]))}{' ...' if len(unmapped) > 5 else ''})"
                     if unmapped else "")
                  + "; point --from-dir at a copy of ../shared/corpus (the sources' own folder layouts), or import "
                    "a folder of your own .txt files with --add-texts FOLDER",
                  file=sys.stderr)
            return 2
    if args.add_texts and own_texts_cli.run(args, downloads, data_dir / "metadata",
                                            registered=[s.id for s in registry], max_bytes=args.max_bytes):
        return 2
    if not args.from_dir and not args.add_texts and not args.clean_only:
        settings = HttpSettings(timeout=args.timeout, connect_timeout=args.connect_timeout,
                                max_retries=args.max_retries, backoff=args.backoff,
                                rate_limit=args.rate_limit, retry_after_max=args.retry_after_max,
                                user_agent=args.user_agent)
        options = CollectOptions(downloads_dir=downloads, mirrors=mirrors, settings=settings,
                                 workers=args.workers, max_bytes=args.max_bytes,
                                 max_archive_bytes=args.max_archive_bytes, progress=not args.no_progress,
                                 registry_dir=args.registry.resolve().parent)
        log.info("collecting %d source(s) into %s", len(chosen), downloads)
        try:
            summary = collect(chosen, options)
        except KeyboardInterrupt:
            print("\ninterrupted: completed files are kept and partial ones resume; rerun the same command",
                  file=sys.stderr)
            return 130
        atomic.write_json(data_dir / "metadata" / "download_summary.json", summary.to_dict())
        print(summary.report())
        log.info("summary: %s", json.dumps(summary.to_dict()))
        if summary.no_host_answered:
            present = summary.counts()["present"]
            print(f"error: no host answered (could not connect to {', '.join(sorted(summary.hosts_down))}): "
                  f"{OFFLINE_ADVICE}"
                  + (f"; --clean-only cleans the {present} file(s) already downloaded" if present else ""),
                  file=sys.stderr)
            return 1
    status = 0
    if not args.download_only:
        status = run_cleaning(args, data_dir)
    if status == 0 and summary is not None and summary.failed and args.strict:
        status = 1
    return status
