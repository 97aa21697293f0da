"""Reading cleaned documents (documents.jsonl; format owned by london_llm.cleaning.documents) for the
tokenizer, one line at a time.

The corpus can be larger than memory, so nothing here holds more than one document's text:
`scan_documents` makes one pass for what must be known before training (hash, counts, the tags
that really occur, which documents to hold out), `iter_texts` streams the texts for training.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

from london_llm.cleaning import documents as documents_format
from london_llm.tags import tag_set
from london_llm.tokenization.errors import TokenizerError

DOCUMENTS_FORMAT_VERSION = documents_format.FORMAT_VERSION
MAX_LINE_BYTES = documents_format.MAX_LINE_BYTES
REBUILD_HINT = documents_format.REBUILD_HINT


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


def iter_documents(path: Path, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes, dict]]:
    """(line number, raw line, validated record) for each non-blank line: the cleaning stage's reader
    (london_llm.cleaning.documents), its errors as this stage's TokenizerError."""
    try:
        yield from documents_format.iter_documents(path, max_line_bytes)
    except documents_format.DocumentsError as exc:
        raise TokenizerError(str(exc)) from None


document_id = documents_format.document_id


def _check_meta(path: Path, scan: DocumentScan) -> None:
    """documents.meta.json (when present) must be a readable format and describe this very file."""
    try:
        meta = documents_format.read_meta(path)
        if meta is not None:
            documents_format.check_matches(path, meta, sha256=scan.sha256, documents=scan.documents)
    except documents_format.DocumentsError as exc:
        raise TokenizerError(str(exc)) from None


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
