"""The whole cleaning run: downloads/ -> documents.jsonl, the corpus file, statistics.json.

Parsing and cleaning run on all cores (one download item per task, largest first); the
deduplication pass is sequential, in a fixed priority order (longest document first, then
source id and file), so the output is the same whatever the number of workers.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import multiprocessing as mp
import os
import time
from collections import Counter
from pathlib import Path
from typing import Optional

from tqdm import tqdm

from ..atomic import atomic_path, write_json
from . import filters as filters_mod
from .clean import CleaningOptions, ItemResult, process_item
from .contamination import CATEGORIES
from .dedup import Deduplicator, THRESHOLD
from .documents import DOCUMENTS_FILE, write_documents
from .normalise import LONG_S_MODES
from .sidecar import SidecarError, find_sidecars, read_sidecar

log = logging.getLogger(__name__)
FORMAT_VERSION = 1  # of statistics.json (documents.jsonl: cleaning.documents.FORMAT_VERSION)

FILTER_DESCRIPTIONS = {
    "unreadable": "files that could not be parsed as their declared format (truncated, HTML, corrupt)",
    "licence_restricted": "texts whose licence forbids use (Gutenberg 'WORLD LIBRARY, INC.' personal-use files)",
    "api_snippet": "Old Bailey API search hits: ~500-character snippets, not whole records",
    "editorial_matter": "modern front/back matter files (imprint, colophon, endnotes, introductions)",
    "out_of_range": "documents dated outside [min_year, max_year]",
    "modern_contamination": "documents that are mostly licence text, URLs, e-mail or scanner boilerplate",
    "too_short": "fragments: documents under min_chars characters or min_words words that are not a complete "
                 "record (under min_record_words words, cut mid-sentence, or a trial with no verdict)",
    "not_english": "documents with too few English function words",
    "ocr_garbage": "documents with too little text in plausible words",
    "exact_duplicate": "same text (ASCII-folded) as a document kept earlier",
    "near_duplicate": "MinHash Jaccard >= threshold with a document kept earlier",
}


class BuildError(ValueError):
    pass


def _process(args) -> ItemResult:
    item, options = args
    return process_item(item, options)


def _source_stats() -> dict:
    return {"source": None, "files": 0, "bytes": 0, "documents": 0, "chars": 0, "words": 0,
            "kinds": Counter(), "removed": {}, "contamination_chars_removed": Counter()}


def _add_removed(stats: dict, name: str, counts) -> None:
    slot = stats["removed"].setdefault(name, {"documents": 0, "chars": 0})
    slot["documents"] += counts["documents"]
    slot["chars"] += counts["chars"]


def build_corpus(downloads_dir, processed_dir, corpus_file, metadata_dir, *, min_year: int = 1500,
                 max_year: int = 1913, long_s: str = "normalise", workers: Optional[int] = None,
                 progress: bool = True, min_chars: int = 100, min_words: int = 20,
                 near_threshold: float = THRESHOLD) -> dict:
    """Clean every complete download under `downloads_dir`; return the statistics written."""
    started = time.perf_counter()
    downloads_dir, processed_dir = Path(downloads_dir), Path(processed_dir)
    corpus_file, metadata_dir = Path(corpus_file), Path(metadata_dir)
    if long_s not in LONG_S_MODES:
        raise BuildError(f"long_s must be one of {', '.join(LONG_S_MODES)}, not {long_s!r}")
    if min_year > max_year:
        raise BuildError(f"min_year {min_year} is after max_year {max_year}")
    sidecars = find_sidecars(downloads_dir) if downloads_dir.is_dir() else []
    if not sidecars:
        raise BuildError(f"no complete downloads (no *.meta.json sidecars) under {downloads_dir}; run "
                         "02_data_collection/historical_data_collector.py first (or its --from-dir)")
    options = CleaningOptions(filters_mod.FilterSettings(min_year=min_year, max_year=max_year,
                                                         min_chars=min_chars, min_words=min_words), long_s)
    items, errors = [], []
    for path in sidecars:
        try:
            items.append(read_sidecar(path))
        except SidecarError as exc:
            errors.append(str(exc))
            log.warning("%s", exc)
    items.sort(key=lambda it: -it.size)  # largest first: the pool ends evenly
    workers = max(1, workers or os.cpu_count() or 1)
    results = _run(items, options, workers, progress)
    parsed = time.perf_counter()

    per_source: dict[str, dict] = {}
    candidates = []
    contamination_total: Counter = Counter()
    for res in results:
        stats = per_source.setdefault(res.source_id, _source_stats())
        stats["source"] = res.source
        stats["files"] += 1
        stats["bytes"] += res.bytes
        for name, counts in res.removed.items():
            _add_removed(stats, name, counts)
        stats["contamination_chars_removed"].update(res.contamination)
        contamination_total.update(res.contamination)
        if res.error:
            errors.append(res.error)
            log.warning("unreadable: %s", res.error)
        candidates.extend(res.candidates)

    kept = _deduplicate(candidates, near_threshold, per_source, progress)
    deduplicated = time.perf_counter()
    kept.sort(key=lambda c: c.order)
    documents = []
    for cand in kept:
        rec = cand.record
        rec_id = hashlib.sha256("\n".join(map(str, cand.order)).encode()).hexdigest()[:16]
        documents.append({"id": rec_id, **rec})
        stats = per_source[rec["source_id"]]
        stats["documents"] += 1
        stats["chars"] += rec["chars"]
        stats["words"] += rec["words"]
        stats["kinds"][rec["kind"]] += 1

    jsonl = processed_dir / DOCUMENTS_FILE
    created = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    _write_outputs(documents, jsonl, corpus_file, {"created": created, "options": options.to_dict(),
                                                   "near_threshold": near_threshold, "corpus_file": str(corpus_file)})
    input_bytes = sum(s["bytes"] for s in per_source.values())
    seconds = time.perf_counter() - started
    statistics = {
        "format_version": FORMAT_VERSION, "created": created, "options": options.to_dict(),
        "totals": {"files": sum(s["files"] for s in per_source.values()), "bytes": input_bytes,
                   "documents": len(documents), "chars": sum(d["chars"] for d in documents),
                   "words": sum(d["words"] for d in documents), "seconds": round(seconds, 2),
                   "workers": workers, "removed": _sum_removed(per_source),
                   "phase_seconds": {"parse_clean": round(parsed - started, 2),
                                     "deduplicate": round(deduplicated - parsed, 2),
                                     "write": round(seconds - (deduplicated - started), 2)},
                   "contamination_chars_removed": {c: contamination_total.get(c, 0) for c in CATEGORIES}},
        "sources": {sid: {**s, "kinds": dict(s["kinds"]),
                          "contamination_chars_removed": dict(s["contamination_chars_removed"])}
                    for sid, s in sorted(per_source.items())},
        "filters": FILTER_DESCRIPTIONS,
        "errors": errors,
    }
    write_json(metadata_dir / "statistics.json", statistics)
    log.info("cleaned %d files (%.1f MB) into %d documents in %.1f s", statistics["totals"]["files"],
             input_bytes / 1e6, len(documents), seconds)
    return statistics


def _run(items, options, workers: int, progress: bool) -> list[ItemResult]:
    bar = tqdm(total=len(items), unit="file", desc="cleaning", disable=not progress)
    results = []
    try:
        if workers == 1:
            for item in items:
                results.append(process_item(item, options))
                bar.update()
        else:
            with mp.get_context("fork").Pool(workers) as pool:
                for res in pool.imap_unordered(_process, ((it, options) for it in items), chunksize=4):
                    results.append(res)
                    bar.update()
    finally:
        bar.close()
    return results


def _deduplicate(candidates, threshold: float, per_source: dict, progress: bool) -> list:
    """Keep the first of each group of duplicates: marked-up formats before extracted text, then the
    longest to the nearest 1,000 characters (a complete copy before a truncated one), then the
    one with more typography (æ, curly quotes: the UTF-8 or Latin-1 file before the ASCII one),
    then by source id and file."""
    dedup = Deduplicator(threshold)
    kept = []
    ordered = sorted(candidates, key=lambda c: (c.rank, -(c.record["chars"] // 1000), -c.typography, c.order))
    for cand in tqdm(ordered, unit="doc", desc="deduplicating", disable=not progress):
        key = "\x00".join(map(str, cand.order))
        verdict = dedup.check(key, cand.exact_hash, cand.minhash)
        if verdict is None:
            kept.append(cand)
        else:
            _add_removed(per_source[cand.record["source_id"]], verdict[0],
                         {"documents": 1, "chars": cand.record["chars"]})
    return kept


def _sum_removed(per_source: dict) -> dict:
    total: dict = {}
    for stats in per_source.values():
        for name, counts in stats["removed"].items():
            _add_removed({"removed": total}, name, counts)
    return total


def _write_outputs(documents: list, jsonl: Path, corpus_file: Path, meta: dict) -> dict:
    """documents.jsonl (+ its meta, cleaning.documents' writer) and the corpus file, each atomically."""
    written = write_documents(documents, jsonl, extra_meta=meta)
    with atomic_path(corpus_file) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for i, doc in enumerate(documents):
            fh.write(("\n\n" if i else "") + doc["text"])
        fh.write("\n")
    return written
