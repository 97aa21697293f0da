#!/usr/bin/env python3
"""Benchmark the data stage's processing: raw downloads -> finished corpus, beside bare lxml.

    python bench/bench_data.py                                  # all of ../shared/corpus, all cores
    python bench/bench_data.py --input oldbailey --size_gb 1.5 --workers 1 2
    python bench/bench_data.py --input oldbailey --size_gb 0.2 --zip      # the same, as one bulk zip
    python bench/bench_data.py --dedup_docs 2000000                       # the dedupe index alone

`--input oldbailey` builds the raw input from the shared Old Bailey session files: the unique set
once ("without repeats"), then, with --size_gb, the same files repeated under new names up to that
size (every repeat is a duplicate the dedupe must catch). For each input and worker count it
prints the wall time, MB/s of raw input end to end, the peak RSS of the whole process tree, CPU
seconds, the phases, and the peer a user would otherwise write: a bare lxml parse of the same XML
with the text of every <p> extracted (single process, and one process per core), timed in the same
run, with the ratio. The build's workers clean a repeated record once each (cleaning.memo), so the
run with repeats measures mostly the parse and the dedupe of the copies; the unique set measures
the whole cleaning of every record. The CPU line and the load average are printed first: on a shared
machine the wall times move with the load; the CPU seconds and the ratios measured in one run move less.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import config  # noqa: E402
from _machine import cpu_description, cpu_seconds, default_corpus_dir, load, load_line  # noqa: E402

from london_llm.cleaning.build import build_corpus  # noqa: E402
from london_llm.cleaning.importer import import_from_dir  # noqa: E402
from london_llm.collect.sidecar import write_sidecar  # noqa: E402


class PeakRss:
    """Peak resident memory of this process and all its descendants together, sampled every 0.1 s."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _tree_rss(pid: int) -> int:
        total, todo = 0, [pid]
        while todo:
            p = todo.pop()
            try:
                for line in open(f"/proc/{p}/status"):
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
                for task in os.listdir(f"/proc/{p}/task"):
                    todo.extend(int(c) for c in open(f"/proc/{p}/task/{task}/children").read().split())
            except (OSError, ValueError):
                continue
        return total

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._tree_rss(os.getpid()))
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._tree_rss(os.getpid()))


# -- the bare-lxml peer ------------------------------------------------------------------------
def _bare_lxml_file(path: str) -> int:
    """What a user would write: parse the XML, join the text of each <p>, collapse whitespace."""
    from lxml import etree
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    root = etree.parse(path, parser).getroot()
    chars = 0
    for p in root.iter("p"):
        chars += len(" ".join("".join(p.itertext()).split()))
    return chars


def bare_lxml(files: list[Path], workers: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of the bare-lxml peer over `files` with `workers` processes."""
    cpu_before, start = cpu_seconds(), time.perf_counter()
    if workers == 1:
        sum(_bare_lxml_file(str(f)) for f in files)
    else:
        with ProcessPoolExecutor(workers) as pool:  # the pool's processes are waited for on leaving
            sum(pool.map(_bare_lxml_file, map(str, files), chunksize=4))
    return time.perf_counter() - start, cpu_seconds() - cpu_before


# -- inputs -------------------------------------------------------------------------------------
def oldbailey_input(corpus: Path, downloads: Path, size_gb: float, as_zip: bool) -> list[Path]:
    """The shared Old Bailey sessions under downloads/, repeated under new names until `size_gb`
    (0: once). Files are hard links (no disk used); each copy gets its own sidecar, as a download
    would. With `as_zip` they go into one stored bulk zip instead. Returns the XML files."""
    sessions = sorted((corpus / "old-bailey-obo-xml-7.2" / "sessionsPapers").glob("*.xml"))
    if not sessions:
        raise SystemExit(f"error: no Old Bailey sessions under {corpus}/old-bailey-obo-xml-7.2/sessionsPapers")
    unique = sum(f.stat().st_size for f in sessions)
    copies = max(1, round(size_gb * 1e9 / unique)) if size_gb else 1
    folder = downloads / "old_bailey_bench"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    archive = zipfile.ZipFile(folder / "bench_sessions.zip", "w", zipfile.ZIP_STORED) if as_zip else None
    for copy in range(copies):
        for src in sessions:
            name = f"c{copy:03d}_{src.name}"
            if archive is not None:
                archive.write(src, f"sessionsPapers/{name}")
                continue
            dst = folder / name
            try:
                os.link(src, dst)
            except OSError:
                shutil.copyfile(src, dst)
            write_sidecar(dst, source_id="old_bailey_bench", kind="trial", fmt="oldbailey_tei",
                          title="Old Bailey Proceedings (benchmark copy)", licence="CC BY-NC 4.0",
                          url=f"bench:{name}", digests=(src.stat().st_size, "", ""))
            files.append(dst)
    if archive is not None:
        archive.close()
        zpath = folder / "bench_sessions.zip"
        write_sidecar(zpath, source_id="old_bailey_bench", kind="trial", fmt="oldbailey_tei",
                      title="Old Bailey Proceedings (benchmark bulk zip)", licence="CC BY-NC 4.0",
                      url="bench:bench_sessions.zip", digests=(zpath.stat().st_size, "", ""), archive="zip",
                      members=["sessionsPapers/*.xml"])
        files = [s for _ in range(copies) for s in sessions]
    return files


# -- runs ---------------------------------------------------------------------------------------
def run_build(run_dir: Path, workers: int, progress: bool) -> tuple[dict, float, float, int]:
    cpu_before = cpu_seconds()
    with PeakRss() as rss:
        start = time.perf_counter()
        stats = build_corpus(run_dir / "downloads", run_dir / "processed", run_dir / "corpus.txt",
                             run_dir / "metadata", workers=workers, progress=progress)
        seconds = time.perf_counter() - start
    return stats, seconds, cpu_seconds() - cpu_before, rss.peak


def report(label: str, stats: dict, seconds: float, cpu_s: float, peak: int, peers: dict[int, tuple],
           workers: int) -> None:
    t = stats["totals"]
    mb = t["bytes"] / 1e6
    removed = t.get("removed", {})
    dups = sum(removed.get(k, {}).get("documents", 0) for k in ("exact_duplicate", "near_duplicate"))
    print(f"  {label}: workers {workers}: {seconds:7.2f} s  {mb / seconds:6.2f} MB/s raw input end to end  "
          f"peak RSS {peak / 2**30:.2f} GiB  CPU {cpu_s:.1f} s ({mb / max(cpu_s, 1e-9):.2f} MB per CPU-s)  "
          f"load {load()}")
    print(f"      {t['files']:,} files, {mb:,.1f} MB -> {t['documents']:,} documents, {t['chars']:,} chars; "
          f"duplicates removed {dups:,}; phases " + ", ".join(f"{k} {v:.2f} s" for k, v in t["phase_seconds"].items()))
    for n, (peer, peer_cpu) in sorted(peers.items()):
        # the CPU-seconds ratio moves less with the load of a shared machine than the wall-time one
        print(f"      vs bare lxml ({n} process{'es' if n > 1 else ''}, {peer:.2f} s, {mb / peer:.1f} MB/s, "
              f"CPU {peer_cpu:.1f} s): {seconds / peer:.2f}x its time, {cpu_s / max(peer_cpu, 1e-9):.2f}x its CPU seconds")


def bench_oldbailey(args, out: Path) -> None:
    sizes = [0.0] + ([args.size_gb] if args.size_gb else [])
    for size in sizes:
        label = "unique sessions (no repeats)" if not size else f"repeated to {size:g} GB"
        run_root = out / f"oldbailey_{size:g}"
        shutil.rmtree(run_root, ignore_errors=True)
        files = oldbailey_input(args.corpus_dir, run_root / "downloads", size, args.zip)
        raw = sum(f.stat().st_size for f in files)
        print(f"\n== input: {label}{' in one zip' if args.zip else ''}: {len(files):,} XML files, {raw / 1e9:.2f} GB")
        peers = {}
        for n in sorted({1, max(args.workers)}):
            peers[n] = bare_lxml(files, n)
        results = {}
        for workers in args.workers:
            shutil.rmtree(run_root / "processed", ignore_errors=True)
            stats, seconds, cpu_s, peak = run_build(run_root, workers, args.progress)
            results[workers] = (seconds, peak, cpu_s)
            report(label, stats, seconds, cpu_s, peak, peers, workers)
        speedup = None
        if 1 in results and len(results) > 1:
            best = max(results)
            speedup = results[1][0] / results[best][0]
            print(f"  speed-up 1 -> {best} workers: {speedup:.2f}x")
        most = max(results)
        seconds, peak, cpu_s = results[most]
        print(f"  against the issue's targets ({label}, {most} worker{'s' if most > 1 else ''}): "
              f"{raw / 1e6 / seconds:.1f} MB/s (20), "
              f"1 -> {most} workers {f'{speedup:.2f}x' if speedup else 'not measured'} (1.8), peak RSS "
              f"{peak / 2**30:.2f} GiB (< 3), {seconds / peers[most][0]:.2f}x bare lxml's time (<= 3; "
              f"{cpu_s / max(peers[most][1], 1e-9):.2f}x its CPU seconds)")
        shutil.rmtree(run_root, ignore_errors=True)


def bench_corpus(args, out: Path) -> None:
    for workers in args.workers:
        run_dir = out / f"corpus_workers{workers}"
        shutil.rmtree(run_dir, ignore_errors=True)
        start = time.perf_counter()
        imported = import_from_dir(args.corpus_dir, run_dir / "downloads")
        import_s = time.perf_counter() - start
        stats, seconds, cpu_s, peak = run_build(run_dir, workers, args.progress)
        print(f"\n== all of {args.corpus_dir}: import {imported['imported']} files in {import_s:.2f} s")
        report("shared corpus", stats, seconds, cpu_s, peak, {}, workers)
        print(f"  {'source':34} {'files':>6} {'MB':>7} {'docs':>7} {'chars':>12}  removed")
        for sid, s in stats["sources"].items():
            removed = ", ".join(f"{k} {v['documents']}" for k, v in sorted(s["removed"].items()))
            print(f"  {sid:34} {s['files']:>6} {s['bytes'] / 1e6:>7.1f} {s['documents']:>7,} {s['chars']:>12,}  {removed}")
        shutil.rmtree(run_dir, ignore_errors=True)


def bench_dedup(n_docs: int, long_share: float) -> None:
    """The dedupe index alone at scale: n documents, a share long enough for MinHash; 1% are exact
    repeats of an earlier document and 1% near copies (a long document's signature, 5% changed)."""
    import numpy as np
    from london_llm.cleaning.dedup import NUM_PERM, Deduplicator
    rng = np.random.default_rng(0)
    dedup = Deduplicator()
    verdicts = {"exact_duplicate": 0, "near_duplicate": 0}
    planted = {"exact_duplicate": 0, "near_duplicate": 0}
    last_long = None
    with PeakRss() as rss:
        base = rss._tree_rss(os.getpid())
        start = time.perf_counter()
        for i in range(n_docs):
            exact, signature = i + (1 << 40), None
            if i and i % 100 == 0:  # an exact repeat of the previous document
                exact, planted["exact_duplicate"] = i - 1 + (1 << 40), planted["exact_duplicate"] + 1
            elif i % 100 == 50 and last_long is not None:  # a near copy of the last long document
                signature = last_long.copy()
                changed = rng.choice(NUM_PERM, NUM_PERM // 20, replace=False)
                signature[changed] = rng.integers(0, 2**32, changed.size, dtype=np.uint32)
                planted["near_duplicate"] += 1
            elif rng.random() < long_share:
                signature = last_long = rng.integers(0, 2**32, NUM_PERM, dtype=np.uint32)
            verdict = dedup.check(i, exact, signature)
            if verdict:
                verdicts[verdict[0]] += 1
        seconds = time.perf_counter() - start
    grown = rss.peak - base
    print(f"\n== dedupe index: {n_docs:,} documents ({long_share:.0%} with a MinHash signature): {seconds:.1f} s "
          f"({n_docs / seconds:,.0f} docs/s); caught {verdicts['exact_duplicate']:,} of {planted['exact_duplicate']:,} "
          f"exact and {verdicts['near_duplicate']:,} of {planted['near_duplicate']:,} near repeats; the index grew "
          f"the RSS by {grown / 2**30:.2f} GiB ({grown / n_docs:.0f} bytes a document)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus_dir", "--corpus-dir", type=Path, default=default_corpus_dir(config.ROOT),
                   help="raw files in the sources' layouts (default: $LONDON_LLM_SHARED_CORPUS, else ../shared/corpus)")
    p.add_argument("--input", choices=("corpus", "oldbailey"), default="corpus",
                   help="corpus: all of --corpus_dir imported as the data stage does; oldbailey: the Old Bailey "
                        "sessions alone, once and (with --size_gb) repeated (default: corpus)")
    p.add_argument("--size_gb", "--size-gb", type=float, default=0.0,
                   help="with --input oldbailey: also a run on the sessions repeated under new names up to this "
                        "many GB of raw XML (the issue's figure is 1.5; default: only the unique set)")
    p.add_argument("--zip", action="store_true", help="with --input oldbailey: the input as one bulk zip archive, "
                   "read member by member as a downloaded deposit is")
    p.add_argument("--workers", type=int, nargs="+", default=[os.cpu_count() or 1],
                   help="cleaning process counts to time, one run each (default: all cores)")
    p.add_argument("--dedup_docs", "--dedup-docs", type=int, default=0,
                   help="also time the dedupe index alone on this many synthetic documents")
    p.add_argument("--long_share", "--long-share", type=float, default=0.3,
                   help="share of --dedup_docs documents long enough for a MinHash signature (default 0.3)")
    p.add_argument("--out", type=Path, help="work folder (default: a temporary folder, removed)")
    p.add_argument("--progress", action="store_true", help="show progress bars")
    args = p.parse_args(argv)
    print(cpu_description())
    print(load_line("before"))  # a shared machine: wall times move with the load
    if args.dedup_docs:
        bench_dedup(args.dedup_docs, args.long_share)
    if args.dedup_docs and not args.corpus_dir.is_dir():
        print("\n" + load_line("after"))
        return 0
    if not args.corpus_dir.is_dir():
        print(f"error: no corpus at {args.corpus_dir} (../shared/corpus beside the repository)", file=sys.stderr)
        return 2
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_data."))
    try:
        (bench_oldbailey if args.input == "oldbailey" else bench_corpus)(args, out)
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    print("\n" + load_line("after"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
