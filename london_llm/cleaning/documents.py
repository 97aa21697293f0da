"""The cleaned-documents artifact (`processed/documents.jsonl` + `documents.meta.json`): its ONE definition.

Format 3 (this code writes it): one JSON object per line with `id, source, source_id, kind, series,
title, author, date, year, year_source, decade, licence, origin, sha256, chars, words, text`, and
`editorial_removed` (characters of editorial apparatus removed, per class). `series` is the record
series within the kind where the source names one (London Lives: "sessions papers", "coroners'
inquests" ...; cleaning.londonlives_series), else null. Format 2 lacked `series`, format 1 also
`year_source` and `editorial_removed`; both are still read (the fields are simply absent).
The meta file holds `format_version`, `documents`, `sha256` and `bytes` of the JSONL, `created`,
the cleaning options. The writer (cleaning.build) and every reader (tokenization, pretokenize,
count_tokens) use this module, so a format change is made here once: bump FORMAT_VERSION and keep
the old version in READABLE_VERSIONS while a reader for it exists.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable, Iterator, Optional

from ..atomic import atomic_path, write_json
from ..errors import LondonLLMError
from ..jsonl import LineTooLong, bounded_lines
from ..tags import KINDS

FORMAT_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
DOCUMENTS_FILE = "documents.jsonl"
META_FILE = "documents.meta.json"
MAX_LINE_BYTES = 256 * 2**20  # the longest book is a few MB; a bigger line is not one document
REBUILD_HINT = ("rebuild it with: python 02_data_collection/clean_corpus.py "
                "(or the whole stage, historical_data_collector.py)")


class DocumentsError(LondonLLMError, ValueError):
    """documents.jsonl (or its meta file) is missing, corrupt, or in a format this code cannot read."""


def meta_path(documents_file: Path) -> Path:
    return Path(documents_file).with_name(Path(documents_file).stem + ".meta.json")


def write_documents(documents: Iterable[dict], jsonl: Path, *, extra_meta: Optional[dict] = None) -> dict:
    """Write documents.jsonl and then its meta file, each atomically; return the meta written."""
    jsonl = Path(jsonl)
    digest = hashlib.sha256()
    count = size = 0
    with atomic_path(jsonl) as tmp, open(tmp, "wb") as fh:
        for doc in documents:
            line = (json.dumps(doc, ensure_ascii=False) + "\n").encode("utf-8")
            digest.update(line)
            fh.write(line)
            count += 1
            size += len(line)
    meta = {"format_version": FORMAT_VERSION, "documents": count, "sha256": digest.hexdigest(), "bytes": size,
            **(extra_meta or {})}
    write_json(meta_path(jsonl), meta)
    return meta


def read_meta(documents_file: Path) -> Optional[dict]:
    """The meta file beside `documents_file` (None when there is none), its version checked."""
    meta_file = meta_path(documents_file)
    if not meta_file.is_file():
        return None
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DocumentsError(f"{meta_file} is corrupt ({exc}) - {REBUILD_HINT}") from None
    check_version(meta, meta_file)
    return meta


def check_version(meta: dict, where) -> None:
    version = meta.get("format_version") if isinstance(meta, dict) else None
    if version not in READABLE_VERSIONS:
        raise DocumentsError(f"{where} has format_version {version!r}; this code reads format(s) "
                             f"{', '.join(map(str, READABLE_VERSIONS))} - {REBUILD_HINT}")


def check_matches(documents_file: Path, meta: dict, *, sha256: str, documents: int) -> None:
    """The meta must describe this very file (a truncated or edited file is refused)."""
    name = meta_path(documents_file).name
    if meta.get("sha256") and meta["sha256"] != sha256:
        raise DocumentsError(f"{documents_file} does not match its {name} (sha256 differs): the file is "
                             f"incomplete or was changed - {REBUILD_HINT}")
    if isinstance(meta.get("documents"), int) and meta["documents"] != documents:
        raise DocumentsError(f"{documents_file} holds {documents} documents but {name} says "
                             f"{meta['documents']}: the file is incomplete - {REBUILD_HINT}")


def _parse_line(path: Path, line_no: int, raw: bytes, strict: bool) -> dict:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentsError(f"{path}: line {line_no} is not UTF-8 ({exc.reason} at byte {exc.start}); "
                             f"documents.jsonl must be UTF-8 JSON lines - {REBUILD_HINT}") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        looks = " (it looks like HTML/XML)" if text.lstrip().startswith("<") else ""
        raise DocumentsError(f"{path}: line {line_no} is not a JSON document{looks}: {exc.msg}. Expected "
                             f"cleaned documents (documents.jsonl, format {FORMAT_VERSION}) - {REBUILD_HINT}") from None
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise DocumentsError(f"{path}: line {line_no} has no string field 'text'; expected cleaned documents "
                             f"(documents.jsonl, format {FORMAT_VERSION}) - {REBUILD_HINT}")
    if strict:
        kind = record.get("kind")
        if kind not in KINDS:
            raise DocumentsError(f"{path}: line {line_no} has unknown kind {kind!r} (known: {', '.join(KINDS)}) "
                                 f"- {REBUILD_HINT}")
        year = record.get("year")
        if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
            raise DocumentsError(f"{path}: line {line_no} has a non-integer year {year!r} - {REBUILD_HINT}")
    return record


def iter_documents(path: Path, max_line_bytes: int = MAX_LINE_BYTES, *,
                   strict: bool = True) -> Iterator[tuple[int, bytes, dict]]:
    """(line number, raw line, record) for each non-blank line, one line in memory at a time.

    `strict` also checks `kind` (one of tags.KINDS) and `year` (an integer or null), which every
    consumer that builds conditioning tags needs; counting tools may pass strict=False.
    """
    path = Path(path)
    if not path.is_file():
        raise DocumentsError(f"documents file {path} not found; build the cleaned corpus first: "
                             "python 02_data_collection/historical_data_collector.py (or clean_corpus.py; "
                             "or pass --documents)")
    try:
        for line_no, raw in bounded_lines(path, max_line_bytes):
            yield line_no, raw, _parse_line(path, line_no, raw, strict)
    except LineTooLong as exc:
        raise DocumentsError(f"{path}: line {exc.line_no} is over {max_line_bytes:,} bytes; one document "
                             f"that size is not cleaned text - {REBUILD_HINT}") from None


def document_id(record: dict, line_no: int) -> str:
    return str(record.get("id") or f"line-{line_no}")
