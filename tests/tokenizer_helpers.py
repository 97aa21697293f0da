"""Inputs for the tokenizer tests: small documents.jsonl files of real text, several kinds."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from conftest import _record, build_small_documents

VOCAB = 1200  # the shared stage 03 test tokenizer's (tests/tokenization/conftest.py)


def write_documents(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def record(kind: str, year, text: str, doc_id: str) -> dict:
    r = _record("test", kind, doc_id, year, text, doc_id)
    r["id"] = doc_id
    r["sha256"] = hashlib.sha256(r["text"].encode()).hexdigest()
    return r


def build_mixed_documents(corpus: Path, out: Path) -> Path:
    """The shared small documents (books, Ordinary's Accounts) plus coroners' inquests (parish,
    year from the text unknown: no period tag) and Internet Archive OCR (ocr): four kinds of real text."""
    small = build_small_documents(corpus, out.with_name("small.jsonl"), novel_chars=120_000, accounts=30)
    records = [json.loads(line) for line in small.read_text(encoding="utf-8").splitlines()]
    inquests = sorted((corpus / "london-lives-westminster-coroners-inquests" / "coroners_inquests"
                       / "wa_inq_txt").glob("*.txt"))[:60]
    for txt in inquests:
        records.append(record("parish", None, txt.read_text(encoding="utf-8", errors="replace"), txt.stem))
    for txt in sorted((corpus / "ia-djvu-ocr-samples").glob("*_djvu.txt")):
        records.append(record("ocr", 1850, txt.read_text(encoding="utf-8", errors="replace"), txt.stem))
    return write_documents(out, records)


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
