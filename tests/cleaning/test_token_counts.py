"""count_tokens' reading of documents.jsonl: bounded lines, and one clear error for a bad line."""
from __future__ import annotations

import pytest

from london_llm.cleaning.token_counts import DocumentsError, count_tokens, iter_documents


def test_overlong_undecodable_or_shapeless_lines_are_one_documents_error(tmp_path):
    path = tmp_path / "documents.jsonl"
    path.write_text('{"text": "a b", "source_id": "s"}\n\n' + '{"text": "' + "x" * 100 + '"}\n', encoding="utf-8")
    with pytest.raises(DocumentsError, match="line 3 is over 50 bytes"):
        list(iter_documents(path, max_line_bytes=50))
    assert count_tokens(path, progress=False)["total"]["documents"] == 2
    for bad in (b'{"text": "\xff"}\n', b'["not", "a", "document"]\n', b'{"title": "no text"}\n'):
        path.write_bytes(bad)
        with pytest.raises(DocumentsError, match="line 1 .*clean_corpus.py"):
            count_tokens(path, progress=False)
