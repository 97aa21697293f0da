"""One download item -> cleaned candidate documents, with what each filter removed.

Runs in worker processes: everything here is a pure function of the file and the options.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..tags import KINDS
from . import contamination, dating, editorial, filters, unwrap
from .dedup import fold_and_hash, signature
from .document import ParseError, RawDocument
from .formats import COLLECTIONS, parser_for
from .normalise import apply_long_s, tidy_whitespace
from .sidecar import Item

CONTAMINATED_SHARE = 0.25  # a document that is this much contamination is not period text
# Which copy of a duplicated text to keep: the marked-up original before a text extracted from it
# (OBO XML before the Ordinary's Accounts .txt, the API record before a saved .txt).
FORMAT_RANK = {"oldbailey_tei": 0, "oldbailey_api_json": 0, "eebo_tei": 0, "standardebooks_xhtml": 0,
               "gutenberg_txt": 1, "ordinary_txt": 1, "londonlives_xml": 0, "londonlives_txt": 1, "londonlives_tsv": 1,
               "ia_djvu_txt": 1, "plain_txt": 2}


MAX_FILE_BYTES = 1 << 30  # one download larger than this is refused (memory is bounded per worker)


@dataclass(frozen=True)
class CleaningOptions:
    filters: filters.FilterSettings = field(default_factory=filters.FilterSettings)
    long_s: str = "normalise"
    max_file_bytes: int = MAX_FILE_BYTES
    keep_editorial: bool = False  # keep editors' introductions, notes, contents ... (still counted)
    require_year: bool = False  # drop documents no dating route dates
    unwrap_books: bool = True  # join books' hard line wraps
    metadata: dict = field(default_factory=dict, hash=False, compare=False)  # dating.load_metadata()

    def to_dict(self) -> dict:
        return {"long_s": self.long_s, "max_file_bytes": self.max_file_bytes,
                "keep_editorial": self.keep_editorial, "require_year": self.require_year,
                "unwrap_books": self.unwrap_books, "metadata_entries": len(self.metadata), **self.filters.__dict__}


@dataclass
class Candidate:
    """A cleaned document before deduplication."""

    record: dict  # the documents.jsonl fields except id
    exact_hash: str
    minhash: Optional[np.ndarray]
    order: tuple  # (source_id, file, index): stable tie-break
    rank: int = 1  # FORMAT_RANK of the file it came from
    typography: int = 0  # non-ASCII characters kept (the UTF-8 file of a book beats its ASCII twin)
    residue: Counter = field(default_factory=Counter)  # contamination/apparatus traces left (should be none)


@dataclass
class ItemResult:
    source_id: str
    source: str
    path: str
    bytes: int
    candidates: list = field(default_factory=list)
    removed: dict = field(default_factory=dict)  # filter -> Counter(documents, chars)
    contamination: Counter = field(default_factory=Counter)  # category -> chars removed
    error: Optional[str] = None

    def count(self, name: str, chars: int) -> None:
        c = self.removed.setdefault(name, Counter())
        c["documents"] += 1
        c["chars"] += chars


def _record(raw: RawDocument, meta: dict, text: str, year: Optional[int], words: int, year_source: Optional[str],
            editorial_removed: dict, user: Optional[dict]) -> dict:
    origin = meta.get("url") or meta.get("origin") or ""
    if raw.part:
        origin = f"{origin}#{raw.part}"
    kind = raw.kind or meta.get("kind") or "other"
    date = raw.date or meta.get("date")
    return {
        "source": meta.get("source") or meta.get("collection") or COLLECTIONS[meta["format"]],
        "source_id": meta["source_id"],
        "kind": kind if kind in KINDS else "other",
        "series": raw.series,
        "title": (user or {}).get("title") or (raw.title if raw.part else meta.get("title") or raw.title),
        "author": (user or {}).get("author") or meta.get("author") or raw.author,
        "date": str(date) if date is not None else (str(year) if year is not None else None),
        "year": year,
        "year_source": year_source,
        "decade": year // 10 * 10 if year is not None else None,
        "licence": meta.get("licence"),
        "origin": origin,
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "chars": len(text),
        "words": words,
        "editorial_removed": editorial_removed,
        "text": text,
    }


def _residue_triggers(text: str, scanned: str, had_triggers: bool, matched: bool, unwrapped: bool) -> tuple:
    """What contamination.residue must scan `text` for again (the same answer, fewer scans): nothing
    when it is the very text `strip` scanned and found no match in; the spaced triggers when that
    text had no trigger and only the spacing has changed since (tidy_whitespace); else every one."""
    if unwrapped or matched:
        return contamination.TRIGGERS
    if text == scanned:
        return ()
    return contamination.TRIGGERS if had_triggers else contamination.SPACED_TRIGGERS


def process_item(item: Item, options: CleaningOptions) -> ItemResult:
    meta = item.meta
    collection = meta.get("source") or meta.get("collection") or COLLECTIONS[meta["format"]]
    result = ItemResult(meta["source_id"], collection, str(item.path), 0)
    try:
        size = item.path.stat().st_size
        if size > options.max_file_bytes:
            raise ParseError(f"{size:,} bytes is over the {options.max_file_bytes:,}-byte limit for one file")
        data = item.path.read_bytes()
        result.bytes = len(data)
        raws = parser_for(meta["format"])(data, meta)
    except (ParseError, OSError) as exc:
        result.error = f"{item.path}: {exc}"
        result.count("unreadable", 0)
        return result
    except Exception as exc:  # a file no parser rule foresaw must not stop the other items
        result.error = f"{item.path}: unexpected {type(exc).__name__} in the {meta['format']} parser: {exc}"
        result.count("unreadable", 0)
        return result
    settings = options.filters
    for index, raw in enumerate(raws):
        if raw.rejected:
            result.count(raw.rejected, len(raw.text))
            continue
        kind = raw.kind or meta.get("kind") or "other"
        user = dating.metadata_entry(options.metadata, meta, item.path.name) if len(raws) == 1 else None
        year, year_source = dating.resolve_year(text=raw.text, kind=kind, meta=meta, record_date=raw.date,
                                                record_year_value=raw.year, metadata=user)
        if year is None and options.require_year:
            result.count("undated", len(raw.text))
            continue
        if filters.out_of_range(year, settings):
            result.count("out_of_range", len(raw.text))
            continue
        text = apply_long_s(raw.text, options.long_s)
        apparatus: Counter = Counter()
        if kind == "book":
            stripped, apparatus = editorial.strip(text, author=raw.author or meta.get("author"), year=year)
            if not options.keep_editorial:
                text = stripped
                result.contamination.update(apparatus)
        suspects = contamination.suspect_lines(text)
        text, removed = contamination.strip(text, suspects)
        scanned, matched = text, bool(removed)
        removed.update(raw.removed)
        result.contamination.update(removed)
        unwrapped = kind == "book" and options.unwrap_books
        if unwrapped:
            text = unwrap.unwrap(text)
        text = tidy_whitespace(text)
        triggers = _residue_triggers(text, scanned, bool(suspects), matched, unwrapped)
        removed_chars = sum(removed.values())
        if removed_chars and removed_chars > CONTAMINATED_SHARE * (removed_chars + len(text)):
            result.count("modern_contamination", len(text) + removed_chars)
            continue
        measured = filters.measure(text)
        for name, rejects in (("too_short", lambda m, st: filters.too_short(m, st, kind)),
                              ("not_english", filters.not_english), ("ocr_garbage", filters.ocr_garbage)):
            if rejects(measured, settings):
                result.count(name, len(text))
                break
        else:
            folded, exact = fold_and_hash(text)
            result.candidates.append(Candidate(
                record=_record(raw, meta, text, year, measured.words, year_source,
                               {} if options.keep_editorial else dict(apparatus), user), exact_hash=exact,
                minhash=signature(folded), order=(meta["source_id"], item.path.name, index),
                rank=FORMAT_RANK.get(meta["format"], 2), typography=len(text.encode("utf-8")) - len(text),
                residue=contamination.residue(text, triggers)))
    return result
