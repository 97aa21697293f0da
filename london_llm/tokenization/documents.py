"""Reading cleaned documents (documents.jsonl, format 1) for the tokenizer, one line at a time.

The corpus can be larger than memory, so nothing here holds more than one document's text:
`scan_documents` makes one pass for what must be known before training (hash, counts, the tags
that really occur, which documents to hold out), `iter_texts` streams the texts for training.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

from london_llm.jsonl import LineTooLong, bounded_lines
from london_llm.tags import KINDS, tag_set
from london_llm.tokenization.errors import TokenizerError

DOCUMENTS_FORMAT_VERSION = 1
MAX_LINE_BYTES = 256 * 2**20  # the longest book is a few MB; a bigger line is not one document
REBUILD_HINT = "rebuild it with: python 02_data_collection/historical_data_collector.py"


@dataclass
class DocumentScan:
    """What one pass over documents.jsonl learns."""

    path: Path
    sha256: str
    bytes: int
    documents: int = 0
    chars: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    held_out_ids: list[str] = field(default_factory=list)

    @property
    def training_documents(self) -> int:
        return self.documents - len(self.held_out_ids)


def _hold_out_score(doc_id: str) -> float:
    """A stable number in [0, 1) per document id: the same documents are held out on every run."""
    return int.from_bytes(hashlib.sha256(doc_id.encode("utf-8")).digest()[:8], "big") / 2**64


def _parse_line(path: Path, line_no: int, raw: bytes) -> dict:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TokenizerError(f"{path}: line {line_no} is not UTF-8 ({exc.reason} at byte {exc.start}); "
                             f"documents.jsonl must be UTF-8 JSON lines - {REBUILD_HINT}") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        looks = " (it looks like HTML/XML)" if text.lstrip().startswith("<") else ""
        raise TokenizerError(f"{path}: line {line_no} is not a JSON document{looks}: {exc.msg}. Expected "
                             f"cleaned documents (documents.jsonl, format 1) - {REBUILD_HINT}") from None
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise TokenizerError(f"{path}: line {line_no} has no string field 'text'; expected cleaned documents "
                             f"(documents.jsonl, format 1) - {REBUILD_HINT}")
    kind = record.get("kind")
    if kind not in KINDS:
        raise TokenizerError(f"{path}: line {line_no} has unknown kind {kind!r} (known: {', '.join(KINDS)}) - "
                             f"{REBUILD_HINT}")
    year = record.get("year")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
        raise TokenizerError(f"{path}: line {line_no} has a non-integer year {year!r} - {REBUILD_HINT}")
    return record


def iter_documents(path: Path, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes, dict]]:
    """(line number, raw line, validated record) for each non-blank line."""
    path = Path(path)
    if not path.is_file():
        raise TokenizerError(f"documents file {path} not found; build the cleaned corpus first: "
                             "python 02_data_collection/historical_data_collector.py (or pass --documents)")
    try:
        for line_no, raw in bounded_lines(path, max_line_bytes):
            yield line_no, raw, _parse_line(path, line_no, raw)
    except LineTooLong as exc:
        raise TokenizerError(f"{path}: line {exc.line_no} is over {max_line_bytes:,} bytes; one document "
                             f"that size is not cleaned text - {REBUILD_HINT}") from None


def document_id(record: dict, line_no: int) -> str:
    return str(record.get("id") or f"line-{line_no}")


def _check_meta(path: Path, scan: DocumentScan) -> None:
    """documents.meta.json (when present) must be format 1 and describe this very file."""
    meta_file = path.with_name(path.stem + ".meta.json")
    if not meta_file.is_file():
        return
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TokenizerError(f"{meta_file} is corrupt ({exc}) - {REBUILD_HINT}") from None
    version = meta.get("format_version")
    if version != DOCUMENTS_FORMAT_VERSION:
        raise TokenizerError(f"{meta_file} has format_version {version!r}; this tokenizer reads format "
                             f"{DOCUMENTS_FORMAT_VERSION} - {REBUILD_HINT}")
    if meta.get("sha256") and meta["sha256"] != scan.sha256:
        raise TokenizerError(f"{path} does not match its {meta_file.name} (sha256 differs): the file is "
                             f"incomplete or was changed - {REBUILD_HINT}")
    if isinstance(meta.get("documents"), int) and meta["documents"] != scan.documents:
        raise TokenizerError(f"{path} holds {scan.documents} documents but {meta_file.name} says "
                             f"{meta['documents']}: the file is incomplete - {REBUILD_HINT}")


def scan_documents(path: Path, held_out_fraction: float = 0.0,
                   on_bytes: Optional[Callable[[int], None]] = None) -> DocumentScan:
    """One streaming pass: file hash, counts per kind, the tag set, and the held-out document ids.

    A document is held out when the stable score of its id is below `held_out_fraction`; every
    kind with at least two documents keeps at least one held out, so each kind can be checked.
    """
    if not 0 <= held_out_fraction < 1:
        raise TokenizerError(f"held-out fraction must be in [0, 1), not {held_out_fraction}")
    path = Path(path)
    digest = hashlib.sha256()
    scan = DocumentScan(path=path, sha256="", bytes=0)
    pairs: set[tuple[str, Optional[int]]] = set()
    held: set[str] = set()
    lowest: dict[str, tuple[float, str]] = {}  # per kind: the id that would be held out first
    for line_no, raw, record in iter_documents(path):
        digest.update(raw)
        scan.bytes += len(raw)
        if on_bytes:
            on_bytes(len(raw))
        kind = record["kind"]
        scan.documents += 1
        scan.chars += len(record["text"])
        scan.by_kind[kind] = scan.by_kind.get(kind, 0) + 1
        pairs.add((kind, record.get("year")))
        doc_id = document_id(record, line_no)
        score = _hold_out_score(doc_id)
        if score < held_out_fraction:
            held.add(doc_id)
        if kind not in lowest or score < lowest[kind][0]:
            lowest[kind] = (score, doc_id)
    if scan.documents == 0:
        raise TokenizerError(f"{path} holds no documents - {REBUILD_HINT}")
    if held_out_fraction > 0:
        for kind, (_, doc_id) in lowest.items():
            if scan.by_kind[kind] >= 2:
                held.add(doc_id)
    scan.sha256 = digest.hexdigest()
    scan.tags = tag_set(pairs)
    scan.held_out_ids = sorted(held)
    if scan.training_documents == 0:
        raise TokenizerError(f"{path}: every document would be held out; lower the held-out fraction")
    _check_meta(path, scan)
    return scan


def iter_texts(path: Path, skip_ids: frozenset[str] = frozenset(),
               on_bytes: Optional[Callable[[int], None]] = None) -> Iterator[str]:
    """Stream the text of every document whose id is not in `skip_ids`."""
    for line_no, raw, record in iter_documents(path):
        if on_bytes:
            on_bytes(len(raw))
        if document_id(record, line_no) not in skip_ids and record["text"]:
            yield record["text"]


def held_out_texts(path: Path, held_out_ids: set[str], max_chars_per_kind: int) -> dict[str, list[str]]:
    """The held-out documents' texts by kind, at most `max_chars_per_kind` characters per kind."""
    out: dict[str, list[str]] = {}
    used: dict[str, int] = {}
    for line_no, _, record in iter_documents(path):
        if document_id(record, line_no) not in held_out_ids:
            continue
        kind = record["kind"]
        room = max_chars_per_kind - used.get(kind, 0)
        if room <= 0 or not record["text"]:
            continue
        text = record["text"][:room]
        out.setdefault(kind, []).append(text)
        used[kind] = used.get(kind, 0) + len(text)
    return out
