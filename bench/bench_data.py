#!/usr/bin/env python3
"""Benchmark the data stage's processing: all of ../shared/corpus, raw files -> finished corpus.

    python bench/bench_data.py                    # import + build with all cores
    python bench/bench_data.py --workers 1 2      # compare process counts (same input, fresh output)

Prints, for each worker count: import time, build time, MB/s over the raw input, time per
phase (parse+clean on the workers, deduplication, writing), CPU seconds used (independent of
other load on a shared machine), the machine load before the run, and the per-source statistics. Output goes to a temporary folder unless --out is given.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import config  # noqa: E402

from london_llm.cleaning.build import build_corpus  # noqa: E402
from london_llm.cleaning.importer import import_from_dir  # noqa: E402


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished workers (load-independent)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus_dir", "--corpus-dir", type=Path, default=config.ROOT.parent / "shared" / "corpus",
                   help="raw files in the sources' layouts (default: ../shared/corpus)")
    p.add_argument("--workers", type=int, nargs="+", default=[os.cpu_count() or 1],
                   help="cleaning process counts to time, one run each (default: all cores)")
    p.add_argument("--out", type=Path, help="keep the output here (default: a temporary folder, removed)")
    p.add_argument("--progress", action="store_true", help="show progress bars")
    args = p.parse_args(argv)
    if not args.corpus_dir.is_dir():
        print(f"error: no corpus at {args.corpus_dir} (../shared/corpus beside the repository)", file=sys.stderr)
        return 2
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_data."))
    try:
        for workers in args.workers:
            run_dir = out / f"workers{workers}"
            shutil.rmtree(run_dir, ignore_errors=True)
            load = os.getloadavg()
            cpu_before = _cpu_seconds()
            start = time.perf_counter()
            imported = import_from_dir(args.corpus_dir, run_dir / "downloads")
            import_s = time.perf_counter() - start
            stats = build_corpus(run_dir / "downloads", run_dir / "processed", run_dir / "corpus.txt",
                                 run_dir / "metadata", workers=workers, progress=args.progress)
            total_s = time.perf_counter() - start
            cpu_s = _cpu_seconds() - cpu_before
            t = stats["totals"]
            mb = t["bytes"] / 1e6
            print(f"\n== workers {workers} (load before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
                  f"{os.cpu_count()} cores)")
            print(f"import   {imported['imported']:>6} files        {import_s:7.2f} s")
            print(f"build    {t['files']:>6} files {mb:7.1f} MB {t['seconds']:7.2f} s  "
                  f"({', '.join(f'{k} {v:.2f} s' for k, v in t['phase_seconds'].items())})")
            print(f"total    {total_s:7.2f} s  ->  {mb / total_s:.2f} MB/s raw input end to end "
                  f"({mb / t['seconds']:.2f} MB/s build only)")
            print(f"cpu      {cpu_s:7.2f} s of CPU (this process and its workers): {mb / cpu_s:.2f} MB per "
                  f"CPU-second; wall time above depends on what else runs on the machine")
            print(f"result   {t['documents']:,} documents, {t['chars']:,} characters, {t['words']:,} words")
            print(f"{'source':34} {'files':>6} {'MB':>7} {'docs':>7} {'chars':>12} {'words':>11}  removed")
            for sid, s in stats["sources"].items():
                removed = ", ".join(f"{k} {v['documents']}" for k, v in sorted(s["removed"].items()))
                print(f"{sid:34} {s['files']:>6} {s['bytes'] / 1e6:>7.1f} {s['documents']:>7,} "
                      f"{s['chars']:>12,} {s['words']:>11,}  {removed}")
            print("contamination removed (chars): " + ", ".join(
                f"{k} {v:,}" for k, v in t["contamination_chars_removed"].items()))
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
