"""documents.jsonl has one owner (cleaning.documents): writer, reader, version check, old format read."""
from __future__ import annotations

import json

import pytest

from london_llm.cleaning import documents as fmt
from london_llm.tokenization.documents import scan_documents
from london_llm.tokenization.errors import TokenizerError


def _doc(i: int, **extra) -> dict:
    return {"id": f"d{i}", "kind": "book", "year": 1700 + i, "text": f"Text number {i}. " * 10, **extra}


def test_written_documents_read_back_and_their_meta_describes_them(tmp_path):
    path = tmp_path / fmt.DOCUMENTS_FILE
    meta = fmt.write_documents((_doc(i) for i in range(3)), path, extra_meta={"created": "now"})
    assert meta["format_version"] == fmt.FORMAT_VERSION and meta["documents"] == 3 and meta["created"] == "now"
    assert json.loads(fmt.meta_path(path).read_text()) == meta
    assert [rec["id"] for _, _, rec in fmt.iter_documents(path)] == ["d0", "d1", "d2"]
    assert meta["bytes"] == path.stat().st_size


def test_formats_1_and_2_are_still_read_and_unknown_versions_refused(tmp_path):
    path = tmp_path / fmt.DOCUMENTS_FILE
    fmt.write_documents([_doc(1)], path)  # as formats 1 and 2 wrote it: no `series`
    meta = json.loads(fmt.meta_path(path).read_text())
    assert meta["format_version"] == 3
    for old in (1, 2):
        fmt.meta_path(path).write_text(json.dumps({**meta, "format_version": old}))  # as the old writer left it
        assert scan_documents(path).documents == 1  # the tokenizer reads it through this module
    fmt.meta_path(path).write_text(json.dumps({**meta, "format_version": 7}))
    with pytest.raises(fmt.DocumentsError, match="format_version 7.*clean_corpus.py"):
        fmt.read_meta(path)
    with pytest.raises(TokenizerError, match="format_version 7"):
        scan_documents(path)


def test_strict_reading_checks_kind_and_year_counting_does_not(tmp_path):
    path = tmp_path / fmt.DOCUMENTS_FILE
    path.write_text(json.dumps({"text": "no kind here"}) + "\n", encoding="utf-8")
    with pytest.raises(fmt.DocumentsError, match="unknown kind None"):
        list(fmt.iter_documents(path))
    assert len(list(fmt.iter_documents(path, strict=False))) == 1
