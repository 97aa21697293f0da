#!/usr/bin/env python3
"""What the cleaning removes, per class, from all of ../shared/corpus; and what its book steps cost.

    python bench/bench_editorial.py                 # import + build (all cores), then the figures
    python bench/bench_editorial.py --workers 2 --steps

Prints, per class of editorial apparatus and contamination: characters removed and their share of
the cleaned documents' text before removal (corpus characters + everything removed), and of the
books' text alone; the traces left (documents in which `contamination.residue` still finds a class:
0 for a clean corpus); the documents per dating route and the undated ones. `--steps` also times
the book-only steps (editorial.strip, unwrap.unwrap, contamination.residue) over every Gutenberg
file, in CPU seconds per MB, beside the Gutenberg parse itself.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import config  # noqa: E402
from _machine import cpu_description, cpu_seconds, default_corpus_dir, load_line  # noqa: E402

from london_llm.cleaning import contamination, editorial, gutenberg_txt, unwrap  # noqa: E402
from london_llm.cleaning.build import build_corpus  # noqa: E402
from london_llm.cleaning.importer import import_from_dir  # noqa: E402
from london_llm.collect.registry import load_registry  # noqa: E402

REGISTRY = config.ROOT / "02_data_collection" / "data_sources.json"


def step_costs(corpus_dir: Path) -> None:
    files = sorted(corpus_dir.glob("gutenberg-*/**/*.txt"))
    totals = {"parse": 0.0, "editorial": 0.0, "unwrap": 0.0, "residue": 0.0}
    size = 0
    for path in files:
        data = path.read_bytes()
        size += len(data)
        start = cpu_seconds()
        raw = gutenberg_txt.parse(data, {})[0]
        totals["parse"] += cpu_seconds() - start
        start = cpu_seconds()
        text, _ = editorial.strip(raw.text, author=raw.author)
        totals["editorial"] += cpu_seconds() - start
        start = cpu_seconds()
        text = unwrap.unwrap(text)
        totals["unwrap"] += cpu_seconds() - start
        start = cpu_seconds()
        contamination.residue(text)
        totals["residue"] += cpu_seconds() - start
    print(f"\nbook steps over {len(files)} Gutenberg files ({size / 1e6:.1f} MB), CPU seconds (per MB):")
    for name, seconds in totals.items():
        print(f"  {name:10} {seconds:7.2f} s  ({seconds / (size / 1e6):.3f} s/MB)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus_dir", "--corpus-dir", type=Path, default=default_corpus_dir(config.ROOT),
                   help="raw files in the sources' layouts (default: $LONDON_LLM_SHARED_CORPUS, else ../shared/corpus)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="cleaning processes (default: all cores)")
    p.add_argument("--steps", action="store_true", help="also time the book-only steps (CPU seconds per MB)")
    p.add_argument("--out", type=Path, help="keep the output here (default: a temporary folder, removed)")
    args = p.parse_args(argv)
    if not args.corpus_dir.is_dir():
        print(f"error: no corpus at {args.corpus_dir} (../shared/corpus beside the repository)", file=sys.stderr)
        return 2
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_editorial."))
    try:
        print(cpu_description())
        print(load_line("before"))
        start = time.perf_counter()
        import_from_dir(args.corpus_dir, out / "downloads", registry=load_registry(REGISTRY))
        stats = build_corpus(out / "downloads", out / "processed", out / "corpus.txt", out / "metadata",
                             workers=args.workers, progress=False)
        seconds = time.perf_counter() - start
        totals = stats["totals"]
        removed = totals["contamination_chars_removed"]
        book_chars = sum(s["chars"] for s in stats["sources"].values() if s["kinds"].get("book"))
        book_removed = sum(removed[c] for c in editorial.CLASSES)
        before = totals["chars"] + sum(removed.values())
        print(f"{totals['documents']:,} documents, {totals['chars']:,} characters kept, {seconds:.1f} s "
              f"({args.workers} workers)\n")
        print(f"{'class':20} {'chars removed':>14} {'% of all text':>14} {'% of books':>11} {'docs left with it':>18}")
        for name in removed:
            books_share = f"{100 * removed[name] / (book_chars + book_removed):.3f}" if name in editorial.CLASSES else ""
            print(f"{name:20} {removed[name]:>14,} {100 * removed[name] / before:>14.3f} {books_share:>11} "
                  f"{totals['residual_documents'].get(name, 0):>18}")
        print(f"{'editorial total':20} {book_removed:>14,} {100 * book_removed / before:>14.3f} "
              f"{100 * book_removed / (book_chars + book_removed):>11.3f}")
        print(f"\nyear sources: {totals['year_sources']}; undated: {totals['undated']} "
              + ", ".join(str(u['title']) for u in stats['undated']['list'][:10]))
        print(f"fragments removed (too_short): {totals['removed'].get('too_short', {}).get('documents', 0)}")
        if args.steps:
            step_costs(args.corpus_dir)
        print(load_line("after"))
    finally:
        if not args.out:
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
