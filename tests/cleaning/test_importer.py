"""Importing a Gutenberg file reads its header, not the whole book, to find the EBook number."""
from __future__ import annotations

from pathlib import Path

from london_llm.cleaning import importer


def test_gutenberg_metadata_reads_only_the_head(tmp_path, monkeypatch):
    book = tmp_path / "pg1234.txt"
    book.write_bytes(b"The Project Gutenberg EBook of Something [EBook #1234]\r\n" + b"x" * 100_000)

    def whole_file(self):
        raise AssertionError(f"read all of {self} for its first 20,000 bytes")

    monkeypatch.setattr(Path, "read_bytes", whole_file)
    meta = importer._gutenberg(book, {})
    assert meta["ebook"] == "1234" and meta["url"] == "https://www.gutenberg.org/ebooks/1234"
