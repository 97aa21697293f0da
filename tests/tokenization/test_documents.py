"""london_llm.tokenization.documents: reading documents.jsonl for the tokenizer, bad input."""
from __future__ import annotations

import hashlib
import json

import pytest

from london_llm.tokenization.errors import TokenizerError
from london_llm.tokenization.training import train_tokenizer
from tokenizer_helpers import record, write_documents


@pytest.mark.parametrize("content, expected", [
    (b"<!DOCTYPE html><html><body>Not found</body></html>\n", "looks like HTML"),
    (b'{"text": "caf\xe9", "kind": "book"}\n', "not UTF-8"),
    (b'{"text": "x", "kind": "novel", "year": 1700}\n', "unknown kind 'novel'"),
    (b'{"kind": "book", "year": 1700}\n', "no string field 'text'"),
    (b'{"text": "x", "kind": "book", "year": "1700"}\n', "non-integer year"),
    (b"\n\n", "holds no documents"),
])
def test_bad_documents_get_one_clear_message(tmp_path, content, expected):
    docs = tmp_path / "documents.jsonl"
    docs.write_bytes(content)
    with pytest.raises(TokenizerError) as err:
        train_tokenizer(docs, tmp_path / "tok", vocab_size=400, show_progress=False)
    assert expected in str(err.value) and str(docs) in str(err.value)
    assert "historical_data_collector.py" in str(err.value)
    assert not (tmp_path / "tok").exists()


def test_documents_meta_must_match(tmp_path):
    docs = write_documents(tmp_path / "documents.jsonl", [record("book", 1700, "Some text. " * 50, "d1")])
    meta = tmp_path / "documents.meta.json"
    meta.write_text(json.dumps({"format_version": 2}))
    with pytest.raises(TokenizerError, match="format_version 2"):
        train_tokenizer(docs, tmp_path / "tok", vocab_size=400, show_progress=False, held_out_fraction=0)
    meta.write_text(json.dumps({"format_version": 1, "documents": 2,
                                "sha256": hashlib.sha256(docs.read_bytes()).hexdigest()}))
    with pytest.raises(TokenizerError, match="holds 1 documents but documents.meta.json says 2"):
        train_tokenizer(docs, tmp_path / "tok", vocab_size=400, show_progress=False, held_out_fraction=0)
    meta.write_text(json.dumps({"format_version": 1, "documents": 1, "sha256": "0" * 64}))
    with pytest.raises(TokenizerError, match="sha256 differs"):
        train_tokenizer(docs, tmp_path / "tok", vocab_size=400, show_progress=False, held_out_fraction=0)


def test_oversized_line_is_refused_without_reading_it_whole(tmp_path):
    from london_llm.tokenization.documents import iter_documents
    docs = write_documents(tmp_path / "documents.jsonl", [record("book", 1700, "word " * 400, "d1")])
    with pytest.raises(TokenizerError, match="line 1 is over 1,000 bytes"):
        list(iter_documents(docs, max_line_bytes=1000))
    assert len(list(iter_documents(docs, max_line_bytes=10_000))) == 1
