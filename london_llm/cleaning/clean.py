"""One download item -> cleaned candidate documents, with what each filter removed.

Runs in worker processes: everything here is a pure function of the file and the options.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple, Optional

import numpy as np

from ..tags import KINDS
from . import contamination, dating, editorial, filters, unwrap
from .dedup import fold_and_hash, signature
from .document import ParseError, RawDocument
from .formats import COLLECTIONS, parser_for
from .memo import BoundedMemo
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


def _record(raw: RawDocument, meta: dict, cleaned: "Cleaned", user: Optional[dict]) -> dict:
    origin = meta.get("url") or meta.get("origin") or ""
    if raw.part:
        origin = f"{origin}#{raw.part}"
    kind = raw.kind or meta.get("kind") or "other"
    date = raw.date or meta.get("date")
    year = cleaned.year
    return {
        "source": meta.get("source") or meta.get("collection") or COLLECTIONS[meta["format"]],
        "source_id": meta["source_id"],
        "kind": kind if kind in KINDS else "other",
        "series": raw.series,
        "title": (user or {}).get("title") or (raw.title if raw.part else meta.get("title") or raw.title),
        "author": (user or {}).get("author") or meta.get("author") or raw.author,
        "date": str(date) if date is not None else (str(year) if year is not None else None),
        "year": year,
        "year_source": cleaned.year_source,
        "decade": year // 10 * 10 if year is not None else None,
        "licence": meta.get("licence"),
        "origin": origin,
        "sha256": cleaned.sha256,
        "chars": len(cleaned.text),
        "words": cleaned.words,
        "editorial_removed": cleaned.apparatus,
        "text": cleaned.text,
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


class DocumentInput(NamedTuple):
    """Everything the cleaning of one raw document reads besides the options, and so the memo's key:
    clean_document is given only this, so nothing else can change its answer."""

    text: str
    kind: str
    author: Optional[str]  # for the editorial apparatus (the record's, else the sidecar's)
    record_date: Optional[str]
    record_year: Optional[int]
    removed: tuple  # (category, chars) the parser already cut out, in its order
    registry_year: object  # the sidecar's year and date (dating's registry route)
    registry_date: object
    catalogue: object  # the sidecar's catalogue entry (dating's catalogue route)
    user: Optional[dict]  # the --metadata entry for this file

    @classmethod
    def of(cls, raw: RawDocument, meta: dict, user: Optional[dict]) -> "DocumentInput":
        return cls(raw.text, raw.kind or meta.get("kind") or "other", raw.author or meta.get("author"), raw.date,
                   raw.year, tuple(raw.removed.items()), meta.get("year"), meta.get("date"),
                   meta.get("catalogue"), user)

    def key(self) -> tuple:
        # repr: the small fields may be lists or dicts (unhashable); two inputs with one repr are equal
        return self.text, repr(self[1:])


@dataclass(frozen=True)
class Cleaned:
    """What cleaning one raw document gave: its counts, in the order they were made, and either the
    filter that removed it or the cleaned document. A memo hands one Cleaned to every copy of a
    record, so its dicts are never changed after it is made (the records that share them are
    pickled, to the spool or to the main process, and read only)."""

    year: Optional[int]
    year_source: Optional[str]
    contamination: tuple = ()  # the dicts of characters removed per category, added to the item's in turn
    rejected: Optional[tuple] = None  # (filter name, chars) when a filter removed it
    text: str = ""
    words: int = 0
    apparatus: dict = field(default_factory=dict)  # editorial_removed
    exact_hash: str = ""
    minhash: Optional[np.ndarray] = None
    typography: int = 0
    residue: Counter = field(default_factory=Counter)
    sha256: str = ""


def clean_document(doc: DocumentInput, options: CleaningOptions) -> Cleaned:
    """Date, strip, re-space and filter one raw document; fold and hash the survivor for dedupe."""
    settings, kind = options.filters, doc.kind
    year, year_source = dating.resolve_year(
        text=doc.text, kind=kind, meta={"year": doc.registry_year, "date": doc.registry_date,
                                        "catalogue": doc.catalogue},
        record_date=doc.record_date, record_year_value=doc.record_year, metadata=doc.user)
    if year is None and options.require_year:
        return Cleaned(year, year_source, rejected=("undated", len(doc.text)))
    if filters.out_of_range(year, settings):
        return Cleaned(year, year_source, rejected=("out_of_range", len(doc.text)))
    text = apply_long_s(doc.text, options.long_s)
    apparatus: Counter = Counter()
    counted = []
    if kind == "book":
        stripped, apparatus = editorial.strip(text, author=doc.author, year=year)
        if not options.keep_editorial:
            text = stripped
            counted.append(dict(apparatus))
    suspects = contamination.suspect_lines(text)
    text, removed = contamination.strip(text, suspects)
    scanned, matched = text, bool(removed)
    removed.update(dict(doc.removed))
    counted.append(dict(removed))
    unwrapped = kind == "book" and options.unwrap_books
    if unwrapped:
        text = unwrap.unwrap(text)
    text = tidy_whitespace(text)
    triggers = _residue_triggers(text, scanned, bool(suspects), matched, unwrapped)
    removed_chars = sum(removed.values())
    counted = tuple(counted)
    if removed_chars and removed_chars > CONTAMINATED_SHARE * (removed_chars + len(text)):
        return Cleaned(year, year_source, counted, rejected=("modern_contamination", len(text) + removed_chars))
    measured = filters.measure(text, tidy=True)  # tidy_whitespace made it so
    for name, rejects in (("too_short", lambda m, st: filters.too_short(m, st, kind)),
                          ("not_english", filters.not_english), ("ocr_garbage", filters.ocr_garbage)):
        if rejects(measured, settings):
            return Cleaned(year, year_source, counted, rejected=(name, len(text)))
    folded, exact = fold_and_hash(text)
    return Cleaned(year, year_source, counted, text=text, words=measured.words,
                   apparatus={} if options.keep_editorial else dict(apparatus), exact_hash=exact,
                   minhash=signature(folded), typography=len(text.encode("utf-8")) - len(text),
                   residue=contamination.residue(text, triggers),
                   sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())


def _clean(doc: DocumentInput, options: CleaningOptions, memo: Optional[BoundedMemo]) -> Cleaned:
    if memo is None:
        return clean_document(doc, options)
    memo.own(options)
    key = doc.key()
    cleaned = memo.get(key)
    if cleaned is None:
        cleaned = clean_document(doc, options)
        memo.put(key, cleaned, len(doc.text) + len(cleaned.text))
    return cleaned


def process_item(item: Item, options: CleaningOptions, memo: Optional[BoundedMemo] = None) -> ItemResult:
    """Parse one download item and clean each of its documents (`memo`: documents cleaned before,
    reused when one is met again; the result is the same with or without it)."""
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
    for index, raw in enumerate(raws):
        if raw.rejected:
            result.count(raw.rejected, len(raw.text))
            continue
        user = dating.metadata_entry(options.metadata, meta, item.path.name) if len(raws) == 1 else None
        cleaned = _clean(DocumentInput.of(raw, meta, user), options, memo)
        for counts in cleaned.contamination:
            if counts:  # (updating with an empty dict changes nothing)
                result.contamination.update(counts)
        if cleaned.rejected:
            result.count(*cleaned.rejected)
            continue
        result.candidates.append(Candidate(
            record=_record(raw, meta, cleaned, user), exact_hash=cleaned.exact_hash, minhash=cleaned.minhash,
            order=(meta["source_id"], item.path.name, index), rank=FORMAT_RANK.get(meta["format"], 2),
            typography=cleaned.typography, residue=cleaned.residue))
    return result
