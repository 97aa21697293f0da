"""Token counts of the cleaned documents: per source, per kind and in total.

With a trained tokenizer (`tokenizer.json` in the tokenizer folder) the counts are tokens of
that tokenizer; without one they are words and characters only, and the result says so.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Iterator, Optional

from tqdm import tqdm

from .documents import DOCUMENTS_FILE, MAX_LINE_BYTES, DocumentsError, read_meta
from .documents import iter_documents as _iter_documents

__all__ = ["DocumentsError", "count_tokens", "documents_file", "iter_documents", "load_tokenizer"]


def documents_file(data_dir: Path) -> Path:
    """The documents.jsonl in `data_dir` (or `data_dir` itself when it is the file), its format checked."""
    path = Path(data_dir)
    path = path if path.is_file() else path / DOCUMENTS_FILE
    if not path.is_file():
        raise DocumentsError(f"no cleaned documents at {path}; run "
                             "`python 02_data_collection/historical_data_collector.py` (or clean_corpus.py) first")
    read_meta(path)
    return path


def iter_documents(path: Path, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[dict]:
    """Every record with a text (kind and year unchecked: counting needs neither)."""
    for _, _, doc in _iter_documents(path, max_line_bytes, strict=False):
        yield doc


def load_tokenizer(tokenizer_dir: Optional[Path]):
    """The trained tokenizer, or None when there is none yet."""
    if tokenizer_dir is None or not (Path(tokenizer_dir) / "tokenizer.json").is_file():
        return None
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(Path(tokenizer_dir) / "tokenizer.json"))


def count_tokens(path: Path, tokenizer=None, batch_size: int = 64, progress: bool = True) -> dict:
    """Documents, characters, words (and tokens with a tokenizer) per source, per kind, in total."""
    empty = lambda: {"documents": 0, "chars": 0, "words": 0, **({"tokens": 0} if tokenizer else {})}  # noqa: E731
    by_source: dict = defaultdict(empty)
    by_kind: dict = defaultdict(empty)
    total = empty()
    batch: list[dict] = []

    def flush() -> None:
        encodings = tokenizer.encode_batch([d["text"] for d in batch]) if tokenizer else [None] * len(batch)
        for doc, enc in zip(batch, encodings):
            for slot in (by_source[doc.get("source_id") or doc.get("source") or "?"],
                         by_kind[doc.get("kind") or "?"], total):
                slot["documents"] += 1
                slot["chars"] += len(doc["text"])
                slot["words"] += len(doc["text"].split())
                if enc is not None:
                    slot["tokens"] += len(enc.ids)
        batch.clear()

    size = path.stat().st_size
    with tqdm(total=size, unit="B", unit_scale=True, desc="counting", disable=not progress) as bar:
        for doc in iter_documents(path):
            batch.append(doc)
            bar.update(len(doc["text"].encode("utf-8")))
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
    return {"documents_file": str(path), "tokenizer": bool(tokenizer), "total": total,
            "sources": dict(sorted(by_source.items())), "kinds": dict(sorted(by_kind.items()))}
