#!/usr/bin/env python3
"""Benchmark the downloader: the real collector over HTTP against the local mirror of ../shared/corpus.

    python bench/bench_collector.py                    # every Gutenberg book, Old Bailey XML and OA text staged
    python bench/bench_collector.py --faults           # the same with every fault injected once per file
    python bench/bench_collector.py --workers 1 8      # compare worker counts

Prints files, MB, seconds, MB/s and files/s per run (and the machine load, since the cores are shared).
The mirror runs in this process on 127.0.0.1, so the figures measure the client's own overhead
(retries, Range resume, md5/sha256, XML well-formedness checks, atomic renames, sidecars), not a network.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

from london_llm.collect.collector import CollectOptions, collect  # noqa: E402
from london_llm.collect.http import HttpSettings  # noqa: E402
from london_llm.collect.registry import load_registry  # noqa: E402
from mirror_server import FaultPlan, MirrorServer  # noqa: E402
from _machine import cpu_description, load_line  # noqa: E402


def staged_sources(registry: Path, corpus: Path):
    """Registry sources whose files the mirror can serve: the Gutenberg books, OBO sessions, OA texts,
    the London Lives inquests and removal orders, the IA items, Pepys and EEBO."""
    wanted = {"old_bailey_sessions", "old_bailey_ordinarys_accounts", "london_lives_coroners_inquests",
              "london_lives_removal_orders", "ia_royal_society_proceedings", "standard_ebooks_pepys_diary",
              "eebo_tcp_london_pamphlets"}
    return [s for s in load_registry(registry) if s.kind == "gutenberg" or s.id in wanted]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus", help="the shared corpus folder")
    p.add_argument("--registry", type=Path, default=REPO / "02_data_collection" / "data_sources.json",
                   help="the source registry to collect (default: 02_data_collection/data_sources.json)")
    p.add_argument("--workers", type=int, nargs="+", default=[4], help="worker counts to time (default: 4)")
    p.add_argument("--faults", action="store_true", help="inject every fault once per file (Retry-After 0)")
    args = p.parse_args()
    if not args.corpus.is_dir():
        print(f"error: corpus folder {args.corpus} not found (../shared/corpus beside the repository)", file=sys.stderr)
        return 2
    sources = staged_sources(args.registry, args.corpus)
    print(cpu_description())
    print(load_line("before"))
    print(f"{len(sources)} sources; faults {'on' if args.faults else 'off'}")
    for workers in args.workers:
        faults = FaultPlan(retry_after=0, stall_seconds=0.6) if args.faults else None
        settings = HttpSettings(timeout=0.5 if args.faults else 10, max_retries=9, backoff=0.0, rate_limit=0)
        out = Path(tempfile.mkdtemp(prefix="bench_collector_"))
        try:
            with MirrorServer(args.corpus, faults) as server:
                started = time.perf_counter()
                summary = collect(sources, CollectOptions(downloads_dir=out, mirrors=server.mirrors(),
                                                          settings=settings, workers=workers, progress=False))
                seconds = time.perf_counter() - started
                requests = len(server.requests)
            c = summary.counts()
            mb = summary.to_dict()["bytes_downloaded"] / 1e6
            print(f"workers {workers}: {c['downloaded']} files, {mb:.1f} MB in {seconds:.2f} s = "
                  f"{mb / seconds:.1f} MB/s, {c['downloaded'] / seconds:.0f} files/s; {requests} requests; "
                  f"failed {c['failed']}")
            for o in summary.failed[:5]:
                print(f"  failed {o.key}: {o.reason}")
        finally:
            shutil.rmtree(out, ignore_errors=True)
    print(load_line("after"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
