"""The whole cleaning run: downloads/ -> documents.jsonl, the corpus file, statistics.json.

It streams, so memory is bounded by the dedupe index, not by the corpus:
1. clean, on all cores: one task per download item, or per member of a bulk archive read straight
   out of its zip (cleaning.archive; never unpacked). A worker runs the per-document cleaning
   (clean.process_item; a record it has met before is not cleaned again: cleaning.memo) and
   appends each candidate document to its own spool file as soon as it is cleaned; only its index
   entry goes back to the main process: the dedup priority,
   the exact hash, the MinHash signature, and where the record lies in the spool.
2. deduplicate, in the main process: the index entries in a fixed priority order (marked-up
   formats first, then the longest, then typography, then source id and file) through
   dedup.Deduplicator (exact + datasketch MinHash LSH, compact for millions of documents).
3. write: the kept records read back from the spool in (source id, file, index) order into
   documents.jsonl and the corpus file, each atomically; the spool is removed.
The output is the same whatever the number of workers: documents.jsonl byte for byte, and statistics.json
but for its timings (each count keyed in a fixed order, not the order the workers' results arrived in).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import multiprocessing as mp
import os
import pickle
import shutil
import signal
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from tqdm import tqdm

from ..atomic import atomic_path, write_json
from . import filters as filters_mod
from .archive import ArchiveError, is_archive, member_items
from .clean import CleaningOptions, ItemResult, process_item
from .contamination import CATEGORIES
from .dating import load_metadata
from .dedup import Deduplicator, THRESHOLD
from .documents import DOCUMENTS_FILE, write_documents
from .memo import MEMO_CHARS, BoundedMemo
from .normalise import LONG_S_MODES
from .sidecar import SidecarError, find_sidecars, read_sidecar
from ..errors import LondonLLMError
from ..tags import KINDS

log = logging.getLogger(__name__)
FORMAT_VERSION = 1  # of statistics.json (documents.jsonl: cleaning.documents.FORMAT_VERSION)

FILTER_DESCRIPTIONS = {
    "unreadable": "files that could not be parsed as their declared format (truncated, HTML, corrupt)",
    "licence_restricted": "texts whose licence forbids use (Gutenberg 'WORLD LIBRARY, INC.' personal-use files)",
    "api_snippet": "Old Bailey API search hits: ~500-character snippets, not whole records",
    "editorial_matter": "modern front/back matter files (imprint, colophon, endnotes, introductions)",
    "out_of_range": "documents dated outside [min_year, max_year]",
    "undated": "documents no dating route dates (removed only with --require_year)",
    "modern_contamination": "documents that are mostly licence text, URLs, e-mail or scanner boilerplate",
    "too_short": "fragments: documents under min_chars characters or min_words words that are not a complete "
                 "record (under min_record_words words, cut mid-sentence, or a trial with no verdict)",
    "not_english": "documents with too few English function words",
    "ocr_garbage": "documents with too little text in plausible words",
    "exact_duplicate": "same text (ASCII-folded) as a document kept earlier",
    "near_duplicate": "MinHash Jaccard >= threshold with a document kept earlier",
}


class BuildError(LondonLLMError, ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Entry:
    """A candidate document in the dedupe index; its record stays in the spool on disk."""

    priority: tuple  # (format rank, -(chars // 1000), -typography, order): lower is kept first
    order: tuple  # (source_id, file, index)
    exact: int  # 64 bits of the sha256 of the folded text
    signature: object  # MinHash hash values (numpy uint32) or None for a short document
    shard: int  # spool file number
    offset: int
    length: int
    source_id: str
    kind: str
    chars: int
    words: int
    year_source: Optional[str]  # which dating route dated it (None: undated)
    undated: Optional[tuple]  # (title, origin) of an undated document, for statistics' list; else None
    residue: tuple = ()  # contamination/apparatus categories with a trace left (should be none)
    editorial: Optional[tuple] = None  # (title, {class: chars removed}) of a book with apparatus removed


class _Spool:
    """Append-only files of pickled records, one per worker process (no locking needed)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._fh = None
        self.number = -1

    def append(self, record: dict) -> tuple[int, int, int]:
        if self._fh is None:
            self.number = os.getpid()
            self._fh = open(self.folder / f"{self.number}.spool", "ab", buffering=1 << 20)
        data = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
        offset = self._fh.tell()
        self._fh.write(data)
        return self.number, offset, len(data)

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()


_WORKER: dict = {}


def _init_worker(folder: str, options: CleaningOptions) -> None:
    # a fresh memo per build: a repeated record (the same file under another name) is cleaned once
    # per worker; each copy still reaches the dedupe index and is counted there as before
    _WORKER["spool"], _WORKER["options"] = _Spool(Path(folder)), options
    _WORKER["memo"] = BoundedMemo(MEMO_CHARS)


def _init_pool_worker(folder: str, options: CleaningOptions) -> None:
    # Ctrl-C reaches the whole process group: the parent alone answers it (one line, then the pool is
    # terminated), so a worker ignores it rather than print its own KeyboardInterrupt traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _init_worker(folder, options)


def _clean_to_spool(item) -> ItemResult:
    """The worker's task: clean one item, spool its candidates, return its counts and index entries."""
    spool = _WORKER["spool"]
    result = process_item(item, _WORKER["options"], _WORKER["memo"])
    entries = []
    for cand in result.candidates:
        rec = cand.record
        shard, offset, length = spool.append(rec)
        entries.append(Entry((cand.rank, -(rec["chars"] // 1000), -cand.typography, cand.order), cand.order,
                             int(cand.exact_hash[:16], 16), cand.minhash, shard, offset, length,
                             rec["source_id"], rec["kind"], rec["chars"], rec["words"], rec.get("year_source"),
                             (rec.get("title"), rec.get("origin")) if rec.get("year") is None else None,
                             tuple(c for c, n in getattr(cand, "residue", {}).items() if n),
                             (rec.get("title"), rec["editorial_removed"]) if rec.get("editorial_removed") else None))
    spool.flush()  # the main process reads the spool only after every task has returned
    result.candidates = entries
    return result


def _source_stats() -> dict:
    return {"source": None, "files": 0, "bytes": 0, "documents": 0, "chars": 0, "words": 0,
            "kinds": Counter(), "removed": {}, "contamination_chars_removed": Counter(), "undated": 0}


def _add_removed(stats: dict, name: str, counts) -> None:
    slot = stats["removed"].setdefault(name, {"documents": 0, "chars": 0})
    slot["documents"] += counts["documents"]
    slot["chars"] += counts["chars"]


def expand_items(items: list, errors: list) -> list:
    """Download items with each bulk archive replaced by its members (read in place)."""
    out = []
    for item in items:
        if not is_archive(item):
            out.append(item)
            continue
        try:
            members = list(member_items(item))
        except ArchiveError as exc:
            errors.append(str(exc))
            log.warning("%s", exc)
            continue
        if not members:
            errors.append(f"{item.path}: no member matches {item.meta.get('members')}")
        out.extend(members)
    return out


def build_corpus(downloads_dir, processed_dir, corpus_file, metadata_dir, *, min_year: int = 1500,
                 max_year: int = 1913, long_s: str = "normalise", workers: Optional[int] = None,
                 progress: bool = True, min_chars: int = 100, min_words: int = 20,
                 near_threshold: float = THRESHOLD, keep_editorial: bool = False, require_year: bool = False,
                 metadata_file=None, unwrap_books: bool = True) -> dict:
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
                                                         min_chars=min_chars, min_words=min_words), long_s,
                              keep_editorial=keep_editorial, require_year=require_year, unwrap_books=unwrap_books,
                              metadata=load_metadata(metadata_file) if metadata_file else {})
    items, errors, item_errors = [], [], []
    for path in sidecars:
        try:
            items.append(read_sidecar(path))
        except SidecarError as exc:
            errors.append(str(exc))
            log.warning("%s", exc)
    items = expand_items(items, errors)
    items.sort(key=lambda it: -it.size)  # largest first: the pool ends evenly
    workers = max(1, workers or os.cpu_count() or 1)
    processed_dir.mkdir(parents=True, exist_ok=True)
    spool_dir = Path(tempfile.mkdtemp(prefix=".spool-", dir=processed_dir))
    try:
        per_source: dict[str, dict] = {}
        contamination_total: Counter = Counter()
        source_names: dict[str, Counter] = {}  # source id -> its files' collection names
        entries: list[Entry] = []
        for res in _run(items, options, workers, progress, spool_dir):
            stats = per_source.setdefault(res.source_id, _source_stats())
            source_names.setdefault(res.source_id, Counter())[res.source] += 1
            stats["files"] += 1
            stats["bytes"] += res.bytes
            for name, counts in res.removed.items():
                _add_removed(stats, name, counts)
            stats["contamination_chars_removed"].update(res.contamination)
            contamination_total.update(res.contamination)
            if res.error:
                item_errors.append(res.error)
                log.warning("unreadable: %s", res.error)
            entries.extend(res.candidates)
        parsed = time.perf_counter()

        kept = _deduplicate(entries, near_threshold, per_source, progress)
        del entries
        deduplicated = time.perf_counter()
        kept.sort(key=lambda e: e.order)
        totals, undated, residual, year_sources, apparatus = Counter(), [], Counter(), Counter(), []
        for entry in kept:
            stats = per_source[entry.source_id]
            stats["documents"] += 1
            stats["chars"] += entry.chars
            stats["words"] += entry.words
            stats["kinds"][entry.kind] += 1
            totals["chars"] += entry.chars
            totals["words"] += entry.words
            residual.update(entry.residue)  # documents with a trace left
            year_sources[entry.year_source or "none"] += 1
            if entry.editorial is not None:
                apparatus.append({"id": document_id(entry), "source_id": entry.source_id,
                                  "title": entry.editorial[0], **entry.editorial[1]})
            if entry.undated is not None:
                stats["undated"] += 1
                undated.append({"id": document_id(entry), "source_id": entry.source_id, "title": entry.undated[0],
                                "origin": entry.undated[1]})
        if undated:
            log.warning("%d document(s) have no year (no period tag; --require_year drops them, --metadata FILE "
                        "dates them); listed in statistics.json undated.documents. First: %s", len(undated),
                        ", ".join(str(u["title"] or u["origin"]) for u in undated[:5]))

        jsonl = processed_dir / DOCUMENTS_FILE
        created = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        _write_outputs(kept, spool_dir, jsonl, corpus_file,
                       {"created": created, "options": options.to_dict(), "near_threshold": near_threshold,
                        "corpus_file": str(corpus_file)})
    finally:
        shutil.rmtree(spool_dir, ignore_errors=True)
    errors += sorted(item_errors)  # (they arrive in the order the workers finish)
    for sid, names in source_names.items():  # the name most of its files give (then the first by name)
        per_source[sid]["source"] = min(names, key=lambda name: (-names[name], name))
    input_bytes = sum(s["bytes"] for s in per_source.values())
    seconds = time.perf_counter() - started
    statistics = {
        "format_version": FORMAT_VERSION, "created": created, "options": options.to_dict(),
        "totals": {"files": sum(s["files"] for s in per_source.values()), "bytes": input_bytes,
                   "documents": len(kept), "chars": totals["chars"],
                   "words": totals["words"], "seconds": round(seconds, 2),
                   "workers": workers, "removed": _ordered(_sum_removed(per_source), FILTER_DESCRIPTIONS),
                   "phase_seconds": {"parse_clean": round(parsed - started, 2),
                                     "deduplicate": round(deduplicated - parsed, 2),
                                     "write": round(seconds - (deduplicated - started), 2)},
                   "contamination_chars_removed": {c: contamination_total.get(c, 0) for c in CATEGORIES},
                   "residual_documents": {c: residual.get(c, 0) for c in CATEGORIES},
                   "undated": len(undated),
                   "year_sources": _ordered(year_sources)},
        "undated": {"documents": len(undated), "list": undated},
        "editorial_by_document": apparatus,  # characters of each apparatus class removed, per book
        "sources": {sid: {**s, "kinds": _ordered(s["kinds"], KINDS),
                          "removed": _ordered(s["removed"], FILTER_DESCRIPTIONS),
                          "contamination_chars_removed": _ordered(s["contamination_chars_removed"], CATEGORIES)}
                    for sid, s in sorted(per_source.items())},
        "filters": FILTER_DESCRIPTIONS,
        "errors": errors,
    }
    write_json(metadata_dir / "statistics.json", statistics)
    log.info("cleaned %d files (%.1f MB) into %d documents in %.1f s", statistics["totals"]["files"],
             input_bytes / 1e6, len(kept), seconds)
    return statistics


TASK_FILES = 64  # at most this many same-size items in one worker task ...
TASK_BYTES = 64 << 20  # ... and at most this many bytes (the pool still ends evenly)


def _tasks(items: list) -> list[list]:
    """The items (largest first) cut into worker tasks: a run of items of one size, which is most often
    one file under several names (the size order puts them side by side), goes to one worker, so
    its memo cleans their records once rather than once in each worker."""
    tasks: list[list] = []
    last_size = None
    for item in items:
        size = item.size  # (a stat: asked once)
        if size == last_size and len(tasks[-1]) < TASK_FILES and size * (len(tasks[-1]) + 1) <= TASK_BYTES:
            tasks[-1].append(item)
        else:
            tasks.append([item])
        last_size = size
    return tasks


def _clean_task(items: list) -> list[ItemResult]:
    return [_clean_to_spool(item) for item in items]


def _run(items, options, workers: int, progress: bool, spool_dir: Path) -> Iterator[ItemResult]:
    """Each item's result as its worker finishes it (the texts stay in the spool)."""
    bar = tqdm(total=len(items), unit="file", desc="cleaning", disable=not progress)
    try:
        if workers == 1:
            _init_worker(str(spool_dir), options)
            for item in items:
                yield _clean_to_spool(item)
                bar.update()
        else:
            with mp.get_context("fork").Pool(workers, initializer=_init_pool_worker,
                                             initargs=(str(spool_dir), options)) as pool:
                for results in pool.imap_unordered(_clean_task, _tasks(items), chunksize=1):
                    yield from results
                    bar.update(len(results))
    finally:
        bar.close()


def _deduplicate(entries: list, threshold: float, per_source: dict, progress: bool) -> list:
    """Keep the first of each group of duplicates: marked-up formats before extracted text, then the
    longest to the nearest 1,000 characters (a complete copy before a truncated one), then the
    one with more typography (æ, curly quotes: the UTF-8 or Latin-1 file before the ASCII one),
    then by source id and file."""
    dedup = Deduplicator(threshold)
    kept = []
    entries.sort(key=lambda e: e.priority)
    for index, entry in enumerate(tqdm(entries, unit="doc", desc="deduplicating", disable=not progress)):
        verdict = dedup.check(index, entry.exact, entry.signature)
        if verdict is None:
            kept.append(entry)
        else:
            _add_removed(per_source[entry.source_id], verdict[0], {"documents": 1, "chars": entry.chars})
    return kept


def _ordered(counts: dict, order=()) -> dict:
    """`counts` keyed in a fixed order: the keys of `order` first, then any other sorted. Counters filled
    as results arrive keep their keys in arrival order, which with workers is not fixed."""
    known = [k for k in order if k in counts]
    return {k: counts[k] for k in known + sorted(set(counts) - set(known))}


def _sum_removed(per_source: dict) -> dict:
    total: dict = {}
    for stats in per_source.values():
        for name, counts in stats["removed"].items():
            _add_removed({"removed": total}, name, counts)
    return total


def document_id(entry: Entry) -> str:
    return hashlib.sha256("\n".join(map(str, entry.order)).encode()).hexdigest()[:16]


def _records(kept: list, spool_dir: Path, corpus_fh) -> Iterator[dict]:
    """The kept records from the spool, each with its id; the corpus file is written alongside."""
    handles: dict[int, object] = {}
    try:
        for i, entry in enumerate(kept):
            fh = handles.get(entry.shard)
            if fh is None:
                fh = handles[entry.shard] = open(spool_dir / f"{entry.shard}.spool", "rb")
            fh.seek(entry.offset)
            rec = pickle.loads(fh.read(entry.length))
            corpus_fh.write(("\n\n" if i else "") + rec["text"])
            yield {"id": document_id(entry), **rec}
    finally:
        for fh in handles.values():
            fh.close()


def nothing_kept(stats: dict) -> Optional[str]:
    """Why an empty corpus is empty (one line, for the command lines to refuse it), or None when the
    build kept documents: the next stage would only say "no documents" without the reasons."""
    totals = stats.get("totals") or {}
    if totals.get("documents"):
        return None
    removed = ", ".join(f"{reason} {v['documents']}" for reason, v in sorted((totals.get("removed") or {}).items(),
                                                                           key=lambda kv: -kv[1]["documents"]))
    return (f"no document survived the cleaning ({totals.get('files', 0)} file(s) read; removed: {removed or 'none'}; "
            "details in metadata/statistics.json and the log): check the files (unreadable: not the format their "
            "folder says) and the filters (--min-year/--max-year, --require-year)")


def _write_outputs(kept: list, spool_dir: Path, jsonl: Path, corpus_file: Path, meta: dict) -> dict:
    """documents.jsonl (+ its meta, cleaning.documents' writer) and the corpus file, each atomically,
    in one pass over the spool."""
    with atomic_path(corpus_file) as tmp, open(tmp, "w", encoding="utf-8", buffering=1 << 20) as fh:
        written = write_documents(_records(kept, spool_dir, fh), jsonl, extra_meta=meta)
        fh.write("\n")
    return written
