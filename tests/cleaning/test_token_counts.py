"""count_tokens' reading of documents.jsonl: bounded lines, and one clear error for a bad line; where the
guide's relative --data_dir is looked for, as --help says."""
from __future__ import annotations

from pathlib import Path

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


def test_a_relative_data_dir_is_looked_for_where_the_help_says(tmp_path, monkeypatch):
    """The guide's `--data_dir data/london_historical/processed`: the current directory, then the
    artifact root, then the repository; not found, the artifact root's path (the error names it)."""
    from types import SimpleNamespace

    from london_llm.cleaning.count_cli import _resolve, build_parser

    home, root, cwd = tmp_path / "home", tmp_path / "repo", tmp_path / "cwd"
    rel = Path("data/london_historical/processed")
    for base in (home, root, cwd):
        base.mkdir()
    monkeypatch.chdir(cwd)
    assert _resolve(rel, home, root) == home / rel  # nowhere yet
    (root / rel).mkdir(parents=True)
    assert _resolve(rel, home, root) == root / rel
    (home / rel).mkdir(parents=True)
    assert _resolve(rel, home, root) == home / rel  # the artifact root before the repository
    (cwd / rel).mkdir(parents=True)
    assert _resolve(rel, home, root) == rel  # the current directory first
    paths = SimpleNamespace(processed_dir=home / rel, tokenizer_dir=home / "tok", logs_dir=home / "logs")
    text = " ".join(build_parser(paths).format_help().split())
    assert "current directory, then under the artifact root ($LONDON_LLM_HOME), then under the repository" in text
