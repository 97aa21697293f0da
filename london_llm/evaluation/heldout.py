"""The held-out validation documents of a training run, and passages cut from them.

Pretokenization keeps only token ids; the documents themselves are found again by applying the
same split to the same documents.jsonl: a document is in validation when its seeded split score
is below val_fraction, and a kind with two or more documents but none below it gives its lowest-
scoring one (london_llm/pretokenize/split.py). The pretokenized folder's metadata.json says which seed,
fraction and documents file (with its sha256) the run used; a documents file that has changed
since is refused, since its "held-out" documents may have been trained on.
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from london_llm.evaluation.errors import EvaluationError
from london_llm.hashing import sha256_file
from london_llm.pretokenize.format import PretokenizedIncompatible, read_metadata
from london_llm.pretokenize.split import split_score
from london_llm.tags import FIRST_YEAR, PERIOD_YEARS
from london_llm.tokenization.documents import document_id, iter_documents


@dataclass(frozen=True)
class Document:
    id: str
    kind: str
    year: Optional[int]
    text: str


@dataclass(frozen=True)
class Passage:
    doc_id: str
    kind: str
    year: Optional[int]
    text: str
    offset: int  # characters into the document

    @property
    def quarter(self) -> Optional[str]:
        return quarter_century(self.year)

    def as_json(self) -> dict:
        return {"doc_id": self.doc_id, "kind": self.kind, "year": self.year, "offset": self.offset, "text": self.text}


def quarter_century(year: Optional[int]) -> Optional[str]:
    """'1750-1774' for 1750..1774 (the tokenizer's period tags' bins); None for an unknown year."""
    if year is None:
        return None
    start = FIRST_YEAR + (int(year) - FIRST_YEAR) // PERIOD_YEARS * PERIOD_YEARS
    return f"{start}-{start + PERIOD_YEARS - 1}"


@dataclass(frozen=True)
class SplitSource:
    documents_file: Path
    val_fraction: float
    seed: int
    sha256: Optional[str]  # of the documents file the run was built from, when recorded


def split_source(data_dir: Path, documents_file: Optional[Path] = None) -> SplitSource:
    """Seed, fraction and documents file from a pretokenized folder's metadata.json."""
    meta_file = Path(data_dir) / "metadata.json"
    try:
        meta = read_metadata(Path(data_dir))
    except PretokenizedIncompatible as exc:
        raise EvaluationError(f"{exc} - the held-out documents are found through the training run's "
                              "pretokenized data: pass --data_dir (the run's pretokenized_data folder)") from None
    recorded = meta.get("documents_file") or {}
    path = Path(documents_file or recorded.get("path") or "")
    if not str(path) or not path.is_file():
        raise EvaluationError(f"the documents file of this run ({path or 'unrecorded'}) is not there: pass "
                              "--documents_file (the cleaned documents.jsonl it was trained on)")
    try:
        return SplitSource(path, float(meta["val_fraction"]), int(meta["seed"]), recorded.get("sha256"))
    except (KeyError, TypeError, ValueError):
        raise EvaluationError(f"{meta_file} lacks val_fraction/seed: rebuild the pretokenized data") from None


def held_out_documents(source: SplitSource, *, check_sha: bool = True) -> list[Document]:
    """The validation documents, in file order."""
    if check_sha and source.sha256 and sha256_file(source.documents_file) != source.sha256:
        raise EvaluationError(f"{source.documents_file} has changed since the model's data was pretokenized "
                              "(its sha256 differs), so its held-out documents cannot be told apart: pass "
                              "--documents_file with the file the run was trained on")
    docs: list[tuple[float, Document]] = []
    for line_no, _raw, record in iter_documents(source.documents_file):
        text = record.get("text") or ""
        if not text:
            continue
        doc_id = document_id(record, line_no)
        year = record.get("year")
        docs.append((split_score(doc_id, source.seed),
                     Document(doc_id, str(record["kind"]), int(year) if year is not None else None, text)))
    chosen = {d.id for s, d in docs if s < source.val_fraction}
    kinds_in_val = {d.kind for s, d in docs if s < source.val_fraction}
    lowest: dict[str, tuple[float, Document]] = {}
    counts: dict[str, int] = {}
    for s, d in docs:
        counts[d.kind] = counts.get(d.kind, 0) + 1
        if d.kind not in kinds_in_val and (d.kind not in lowest or s < lowest[d.kind][0]):
            lowest[d.kind] = (s, d)
    chosen.update(d.id for kind, (s, d) in lowest.items() if counts[kind] >= 2)
    return [d for _s, d in docs if d.id in chosen]


_BREAK = re.compile(r"\s+")


def cut(text: str, start: int, max_chars: int) -> tuple[str, int]:
    """Up to max_chars of text from `start`, ended at a whitespace break; (text, end offset)."""
    end = min(len(text), start + max_chars)
    if end < len(text):
        space = text.rfind(" ", start + max_chars // 2, end)
        if space > start:
            end = space
    return text[start:end].strip(), end


def segments(doc: Document, max_chars: int) -> Iterator[Passage]:
    pos = 0
    while pos < len(doc.text):
        piece, end = cut(doc.text, pos, max_chars)
        if len(piece) >= max_chars // 4:
            yield Passage(doc.id, doc.kind, doc.year, piece, pos)
        pos = max(end, pos + 1)
        while pos < len(doc.text) and doc.text[pos].isspace():
            pos += 1


def sample_passages(docs: list[Document], n: int, max_chars: int, seed: int) -> list[Passage]:
    """About n passages, spread evenly over the kinds present (then over documents), seeded."""
    rng = random.Random(seed)
    by_kind: dict[str, list[Passage]] = {}
    for doc in docs:
        pieces = list(segments(doc, max_chars))
        rng.shuffle(pieces)
        by_kind.setdefault(doc.kind, []).extend(pieces[:max(1, n)])  # bounded per document
    for pieces in by_kind.values():
        rng.shuffle(pieces)
    chosen: list[Passage] = []
    kinds = sorted(by_kind)
    while len(chosen) < n and any(by_kind.values()):
        for kind in kinds:
            if by_kind[kind] and len(chosen) < n:
                chosen.append(by_kind[kind].pop())
    return chosen


def document_starts(docs: list[Document], n: int, max_chars: int, seed: int) -> list[Passage]:
    """The opening of up to n documents (spread over kinds): where training put the tags."""
    rng = random.Random(seed)
    by_kind: dict[str, list[Document]] = {}
    for d in docs:
        by_kind.setdefault(d.kind, []).append(d)
    for group in by_kind.values():
        rng.shuffle(group)
    out: list[Passage] = []
    while len(out) < n and any(by_kind.values()):
        for kind in sorted(by_kind):
            if by_kind[kind] and len(out) < n:
                d = by_kind[kind].pop()
                text, _ = cut(d.text, 0, max_chars)
                if text:
                    out.append(Passage(d.id, d.kind, d.year, text, 0))
    return out


def write_passages(path: Path, passages: list[Passage]) -> Path:
    from london_llm.atomic import write_text

    write_text(path, "".join(json.dumps(p.as_json(), ensure_ascii=False) + "\n" for p in passages))
    return Path(path)
