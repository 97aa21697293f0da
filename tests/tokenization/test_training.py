"""london_llm.tokenization.training: the folder it writes (format 1), its tags, held-out documents, bad input."""
from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from london_llm.tags import END_OF_TEXT, document_tags, tag_set
from london_llm.tokenization.documents import _hold_out_score
from london_llm.tokenization.errors import TokenizerError
from london_llm.tokenization.loading import load_backend_tokenizer, tokenizer_info
from london_llm.tokenization.training import train_tokenizer
from tokenizer_helpers import record, write_documents
from tokenizer_helpers import VOCAB, read_records


def test_folder_has_every_format_1_file(trained):
    names = {p.name for p in trained.iterdir()}
    assert {"tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json",
            "london_tokenizer.json"} <= names
    assert not [n for n in names if n.startswith(".")]  # no temporary left behind
    vocab = json.loads((trained / "vocab.json").read_text(encoding="utf-8"))
    assert len(vocab) == VOCAB and vocab[END_OF_TEXT] == 0


def test_info_records_tags_and_training_data(trained, mixed_documents):
    info = tokenizer_info(trained)
    records = read_records(mixed_documents)
    assert info["format_version"] == 1
    assert info["vocab_size"] == VOCAB
    assert info["conditioning_tags"] == tag_set((r["kind"], r["year"]) for r in records)
    data = info["training_data"]
    assert data["sha256"] == hashlib.sha256(mixed_documents.read_bytes()).hexdigest()
    assert data["documents"] == len(records)
    assert data["documents_by_kind"] == {"book": 5, "ocr": 2, "ordinary": 30, "parish": 60}
    ids = {r["id"] for r in records}
    held = set(data["held_out_ids"])
    assert held <= ids
    assert {r["kind"] for r in records if r["id"] in held} == {"book", "ocr", "ordinary", "parish"}
    assert data["training_documents"] == len(records) - len(held)
    assert info["tokenizer_sha256"] == hashlib.sha256((trained / "tokenizer.json").read_bytes()).hexdigest()


def test_only_tags_that_occur_become_tokens(trained):
    tok = load_backend_tokenizer(trained)
    info = tokenizer_info(trained)
    assert "<|kind:parish|>" in info["conditioning_tags"]  # parish documents have no year: no period from them
    assert "<|kind:trial|>" not in info["conditioning_tags"]
    assert tok.token_to_id("<|kind:trial|>") is None and tok.token_to_id("<|period:1500-1524|>") is None
    for tag in document_tags("ordinary", 1745) + document_tags("book", 1778) + document_tags("ocr", 1850):
        assert tok.token_to_id(tag) is not None, tag


def test_held_out_documents_are_not_trained_on(tmp_path, shared_corpus):
    """A word that occurs only in the held-out document of a kind never becomes a token."""
    ids = ["diary-a", "diary-b"]
    held, kept = sorted(ids, key=_hold_out_score)
    novel = (shared_corpus / "gutenberg-18c-novels-dighums" / "texts" / "FrancesBurney__Evelina.txt")
    body = novel.read_text(encoding="utf-8")[5000:60000]
    docs = write_documents(tmp_path / "documents.jsonl", [
        record("diary", 1665, body, kept), record("diary", 1666, "Quizzlewick " * 400, held)])
    folder = train_tokenizer(docs, tmp_path / "tok", vocab_size=600, show_progress=False, held_out_fraction=0.01)
    assert tokenizer_info(folder)["training_data"]["held_out_ids"] == [held]
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    assert "ĠQuizzlewick" not in vocab and "Quizzlewick" not in vocab
    both = train_tokenizer(docs, tmp_path / "tok_all", vocab_size=600, show_progress=False, held_out_fraction=0)
    assert "ĠQuizzlewick" in json.loads((both / "vocab.json").read_text(encoding="utf-8"))


def test_training_is_deterministic(tmp_path, mixed_documents, trained):
    again = train_tokenizer(mixed_documents, tmp_path / "again", vocab_size=VOCAB, show_progress=False,
                            held_out_fraction=0.05)
    assert (again / "tokenizer.json").read_bytes() == (trained / "tokenizer.json").read_bytes()


def test_missing_documents_and_too_small_vocab(tmp_path, mixed_documents):
    with pytest.raises(TokenizerError, match="not found.*historical_data_collector"):
        train_tokenizer(tmp_path / "nope.jsonl", tmp_path / "tok", show_progress=False)
    with pytest.raises(TokenizerError, match="vocab_size 100 is too small"):
        train_tokenizer(mixed_documents, tmp_path / "tok", vocab_size=100, show_progress=False)


def test_failed_training_leaves_existing_tokenizer_untouched(tmp_path, trained):
    out = tmp_path / "tok"
    shutil.copytree(trained, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = tmp_path / "documents.jsonl"
    bad.write_text('{"text": "fine", "kind": "book"}\nnot json\n', encoding="utf-8")
    with pytest.raises(TokenizerError, match="line 2"):
        train_tokenizer(bad, out, vocab_size=400, show_progress=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
