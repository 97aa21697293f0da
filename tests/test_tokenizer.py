"""Stage 03 library: training, the folder format, lossless round trips, special tokens, bad input."""
from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from tokenizers import Tokenizer
from transformers import AutoTokenizer

from london_llm.tags import END_OF_TEXT, PAD, document_tags, tag_set
from london_llm.tokenization.checks import UNSEEN_TEXTS
from london_llm.tokenization.documents import _hold_out_score
from london_llm.tokenization.errors import TokenizerError
from london_llm.tokenization.loading import load_backend_tokenizer, load_tokenizer, tokenizer_info
from london_llm.tokenization.training import train_tokenizer
from tokenizer_helpers import build_mixed_documents, record, write_documents

VOCAB = 1200


@pytest.fixture(scope="session")
def mixed_documents(shared_corpus, tmp_path_factory):
    return build_mixed_documents(shared_corpus, tmp_path_factory.mktemp("tok_docs") / "documents.jsonl")


@pytest.fixture(scope="session")
def trained(mixed_documents, tmp_path_factory):
    out = tmp_path_factory.mktemp("tok") / "london_historical_tokenizer"
    return train_tokenizer(mixed_documents, out, vocab_size=VOCAB, show_progress=False, held_out_fraction=0.05)


def _records(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_folder_has_every_format_1_file(trained):
    names = {p.name for p in trained.iterdir()}
    assert {"tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json",
            "london_tokenizer.json"} <= names
    assert not [n for n in names if n.startswith(".")]  # no temporary left behind
    vocab = json.loads((trained / "vocab.json").read_text(encoding="utf-8"))
    assert len(vocab) == VOCAB and vocab[END_OF_TEXT] == 0


def test_info_records_tags_and_training_data(trained, mixed_documents):
    info = tokenizer_info(trained)
    records = _records(mixed_documents)
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


def test_round_trip_is_exact_for_any_unicode(trained, mixed_documents):
    hf = load_tokenizer(trained)
    backend = load_backend_tokenizer(trained)
    training_chars = set(mixed_documents.read_text(encoding="utf-8"))
    unseen = "".join(UNSEEN_TEXTS)
    assert not set("ﬁ伦🏰𝔏\u0301\x00") & training_chars  # the test text really has characters never seen
    held = set(tokenizer_info(trained)["training_data"]["held_out_ids"])
    held_texts = [r["text"] for r in _records(mixed_documents) if r["id"] in held]
    for text in list(UNSEEN_TEXTS) + [unseen] + held_texts:
        assert hf.decode(hf.encode(text, verbose=False)) == text
        assert backend.decode(backend.encode(text).ids) == text


def test_round_trip_survives_autotokenizer_defaults(trained):
    """The guide's users load with AutoTokenizer and call it directly: no clean-up, no prefix space."""
    tok = AutoTokenizer.from_pretrained(str(trained))
    text = "He said , ' tis so . Do n't !\n\n  Indented line; ball room"
    assert tok.decode(tok(text)["input_ids"]) == text
    assert tok.clean_up_tokenization_spaces is False
    assert tok.decode(tok.encode(" leading")) == " leading"


def test_autotokenizer_offline_ids_and_length(trained):
    tok = AutoTokenizer.from_pretrained(str(trained), local_files_only=True)
    info = tokenizer_info(trained)
    assert tok.bos_token == tok.eos_token == END_OF_TEXT and tok.pad_token == PAD
    assert tok.eos_token_id == info["special_token_ids"][END_OF_TEXT] == tok.bos_token_id
    assert tok.pad_token_id == info["special_token_ids"][PAD] != tok.eos_token_id
    assert tok.model_max_length == 1024
    assert len(tok) == VOCAB
    batch = tok(["a", "a longer sentence"], padding=True)
    assert batch["input_ids"][0][-1] == tok.pad_token_id


def test_special_tokens_are_single_ids_and_never_come_from_text(trained):
    hf = load_tokenizer(trained)
    backend = load_backend_tokenizer(trained)
    info = tokenizer_info(trained)
    special_ids = set(info["special_token_ids"].values())
    assert len(special_ids) == len(info["special_token_ids"])
    for token, token_id in info["special_token_ids"].items():
        assert hf.convert_tokens_to_ids(token) == backend.token_to_id(token) == token_id
        text = f"The clerk wrote {token} in the margin{token}"
        assert not special_ids & set(hf.encode(text)), token
        assert not special_ids & set(backend.encode(text).ids), token
        assert not special_ids & set(e for batch in backend.encode_batch([text, token]) for e in batch.ids)
    tag = info["conditioning_tags"][0]
    ids = [hf.convert_tokens_to_ids(tag)] + hf.encode("Text.") + [hf.eos_token_id]
    assert hf.decode(ids) == f"{tag}Text.{END_OF_TEXT}"
    assert hf.decode(ids, skip_special_tokens=True) == "Text."


def test_plain_from_file_would_split_special_strings(trained):
    """Why load_backend_tokenizer exists: tokenizer.json cannot store encode_special_tokens."""
    plain = Tokenizer.from_file(str(trained / "tokenizer.json"))
    assert plain.encode(END_OF_TEXT).ids == [0]
    assert load_backend_tokenizer(trained).encode(END_OF_TEXT).ids != [0]


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


def test_missing_documents_and_too_small_vocab(tmp_path, mixed_documents):
    with pytest.raises(TokenizerError, match="not found.*historical_data_collector"):
        train_tokenizer(tmp_path / "nope.jsonl", tmp_path / "tok", show_progress=False)
    with pytest.raises(TokenizerError, match="vocab_size 100 is too small"):
        train_tokenizer(mixed_documents, tmp_path / "tok", vocab_size=100, show_progress=False)


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


def test_failed_training_leaves_existing_tokenizer_untouched(tmp_path, trained):
    out = tmp_path / "tok"
    shutil.copytree(trained, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = tmp_path / "documents.jsonl"
    bad.write_text('{"text": "fine", "kind": "book"}\nnot json\n', encoding="utf-8")
    with pytest.raises(TokenizerError, match="line 2"):
        train_tokenizer(bad, out, vocab_size=400, show_progress=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def _copy(trained, tmp_path):
    return shutil.copytree(trained, tmp_path / "copy")


def test_load_errors_name_the_file_and_the_fix(tmp_path, trained):
    with pytest.raises(TokenizerError, match="no tokenizer folder.*train_historical_tokenizer.py"):
        load_tokenizer(tmp_path / "missing")
    folder = _copy(trained, tmp_path)
    (folder / "merges.txt").unlink()
    with pytest.raises(TokenizerError, match="incomplete \\(missing merges.txt\\)"):
        load_tokenizer(folder)


def test_load_rejects_foreign_or_tampered_folders(tmp_path, trained):
    folder = _copy(trained, tmp_path)
    (folder / "london_tokenizer.json").unlink()
    with pytest.raises(TokenizerError, match="not a London tokenizer folder"):
        load_tokenizer(folder)
    shutil.rmtree(folder)
    folder = _copy(trained, tmp_path)
    info = json.loads((folder / "london_tokenizer.json").read_text())
    (folder / "london_tokenizer.json").write_text(json.dumps({**info, "format_version": 99}))
    with pytest.raises(TokenizerError, match="format_version 99"):
        tokenizer_info(folder)
    (folder / "london_tokenizer.json").write_text(json.dumps(info))
    other = json.loads((folder / "tokenizer.json").read_text())
    other["decoder"] = None
    (folder / "tokenizer.json").write_text(json.dumps(other))
    with pytest.raises(TokenizerError, match="sha256 differs"):
        load_backend_tokenizer(folder)
    (folder / "london_tokenizer.json").write_text("{truncated")
    with pytest.raises(TokenizerError, match="corrupt"):
        load_tokenizer(folder)


def test_truncating_a_bpe_equals_training_it_smaller(mixed_documents, trained, tmp_path):
    from london_llm.tokenization.recipe import truncate_bpe
    smaller = train_tokenizer(mixed_documents, tmp_path / "small", vocab_size=700, show_progress=False,
                              held_out_fraction=0.05)
    cut = truncate_bpe(load_backend_tokenizer(trained), 700)
    reference = load_backend_tokenizer(smaller)
    assert cut.get_vocab_size() == 700 and cut.get_vocab() == reference.get_vocab()
    text = "".join(UNSEEN_TEXTS) + " The Ordinary of Newgate his Account of the Behaviour"
    assert cut.encode(text).ids == reference.encode(text).ids
    assert cut.decode(cut.encode(text).ids) == text
    assert cut.encode(END_OF_TEXT).ids != [0]  # the special-token rule survives


def test_oversized_line_is_refused_without_reading_it_whole(tmp_path):
    from london_llm.tokenization.documents import iter_documents
    docs = write_documents(tmp_path / "documents.jsonl", [record("book", 1700, "word " * 400, "d1")])
    with pytest.raises(TokenizerError, match="line 1 is over 1,000 bytes"):
        list(iter_documents(docs, max_line_bytes=1000))
    assert len(list(iter_documents(docs, max_line_bytes=10_000))) == 1


def test_load_rejects_a_config_that_would_split_special_strings(tmp_path, trained):
    folder = _copy(trained, tmp_path)
    config_file = folder / "tokenizer_config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config_file.write_text(json.dumps({**config, "split_special_tokens": False}), encoding="utf-8")
    with pytest.raises(TokenizerError, match="split_special_tokens"):
        load_tokenizer(folder)
    config_file.write_text(json.dumps(config), encoding="utf-8")
    load_tokenizer(folder)
    map_file = folder / "special_tokens_map.json"  # transformers lets it override the config
    map_file.write_text(json.dumps({**json.loads(map_file.read_text(encoding="utf-8")), "pad_token": END_OF_TEXT}),
                        encoding="utf-8")
    with pytest.raises(TokenizerError, match="bos/eos/pad"):
        load_tokenizer(folder)
