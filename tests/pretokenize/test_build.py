"""Pretokenization on real text: layout, lossless content, split rules, compatibility, bad input."""
from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from london_llm.pretokenize import format as token_format
from london_llm.pretokenize.build import prepare_pretokenized
from london_llm.pretokenize.format import (CORRUPT, DOCUMENTS_CHANGED, MAX_LENGTH_MISMATCH, NOT_FOUND,
                                           SPLIT_CHANGED, TOKENIZER_MISMATCH, PretokenizedIncompatible,
                                           check_compatible, open_tokens, wait_until_compatible)
from london_llm.pretokenize.split import split_score
from london_llm.tags import END_OF_TEXT, document_tags
from london_llm.tokenization.errors import TokenizerError
from london_llm.tokenization.loading import load_backend_tokenizer
from london_llm.tokenization.training import train_tokenizer

SETTINGS = dict(max_length=128, val_fraction=0.05, seed=7)


def _doc(i: int, kind: str, year, text: str) -> dict:
    return {"id": f"doc-{i}", "source": "test", "source_id": "test", "kind": kind, "title": f"t{i}",
            "author": None, "date": None, "year": year, "decade": None, "licence": "public domain",
            "origin": f"test:{i}", "sha256": hashlib.sha256(text.encode()).hexdigest(), "chars": len(text),
            "words": len(text.split()), "text": text}


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def tokenizer_dir(small_documents, tmp_path_factory) -> Path:
    from training_runs import shared_tokenizer  # the session's 1,024-token tokenizer, trained once

    return shared_tokenizer(small_documents, tmp_path_factory.mktemp("tok"))


@pytest.fixture(scope="module")
def built(small_documents, tokenizer_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pre") / "pretokenized_data"
    return prepare_pretokenized(small_documents, tokenizer_dir, out, log=lambda m: None, **SETTINGS)


def _documents_in(stream: np.ndarray, eos: int) -> list[tuple[int, ...]]:
    ends = np.flatnonzero(stream == eos)
    starts = np.concatenate(([0], ends[:-1] + 1))
    return [tuple(stream[s:e + 1].tolist()) for s, e in zip(starts, ends)]


def test_every_document_is_tags_text_eos_exactly_once(built, small_documents, tokenizer_dir):
    tok = load_backend_tokenizer(tokenizer_dir)
    eos = tok.token_to_id(END_OF_TEXT)
    records = [r for r in _read_jsonl(small_documents) if r["text"]]
    expected = []
    for r in records:
        tags = [tok.token_to_id(t) for t in document_tags(r["kind"], r["year"])]
        assert None not in tags  # the tokenizer was trained on these very documents
        expected.append(tuple(tags + tok.encode(r["text"], add_special_tokens=False).ids + [eos]))
    train, val = (np.asarray(open_tokens(built, s)) for s in ("train", "val"))
    assert train.dtype == np.dtype("<u2")
    found = _documents_in(train, eos) + _documents_in(val, eos)
    assert sorted(found) == sorted(expected)
    # and the text decodes back to the documents' own characters (the tokenizer is lossless)
    first = _documents_in(train, eos)[0]
    assert tok.decode(list(first[:-1]), skip_special_tokens=True) in {r["text"] for r in records}


def test_metadata_records_what_the_readme_promises(built, small_documents, tokenizer_dir):
    meta = json.loads((built / "metadata.json").read_text())
    assert meta["format_version"] == 1 and meta["dtype"] == "uint16"
    assert meta["tokenizer_sha256"] == hashlib.sha256((tokenizer_dir / "tokenizer.json").read_bytes()).hexdigest()
    assert meta["vocab_size"] == load_backend_tokenizer(tokenizer_dir).get_vocab_size(with_added_tokens=True)
    assert "max_length" not in meta and meta["val_fraction"] == 0.05 and meta["seed"] == 7  # data fit any context
    assert meta["documents_file"]["sha256"] == hashlib.sha256(small_documents.read_bytes()).hexdigest()
    assert meta["documents_file"]["size"] == small_documents.stat().st_size
    records = _read_jsonl(small_documents)
    for split in ("train", "val"):
        s = meta["splits"][split]
        assert (built / f"{split}.bin").stat().st_size == 2 * s["tokens"]
        assert sum(k["tokens"] for k in s["by_kind"].values()) == s["tokens"]
        assert sum(k["documents"] for k in s["by_kind"].values()) == s["documents"]
    assert meta["splits"]["train"]["documents"] + meta["splits"]["val"]["documents"] == len(records)
    assert meta["created"].endswith("Z")


def test_every_kind_with_two_documents_is_in_validation(built, small_documents):
    meta = json.loads((built / "metadata.json").read_text())
    kinds = {r["kind"] for r in _read_jsonl(small_documents)}
    assert kinds == {"book", "ordinary"}
    assert set(meta["splits"]["val"]["by_kind"]) == kinds
    assert set(meta["splits"]["train"]["by_kind"]) == kinds


def test_split_follows_the_seeded_hash_and_adding_documents_moves_none(tmp_path, tokenizer_dir, small_documents):
    records = [r for r in _read_jsonl(small_documents) if r["kind"] == "ordinary"][:30]
    val_fraction = 0.3
    scores = {r["id"]: split_score(r["id"], 7) for r in records}
    assert 0 < sum(s < val_fraction for s in scores.values()) < len(records)  # a real mix, no reserve needed
    assert split_score("x", 7) == split_score("x", 7) != split_score("x", 8)

    def splits_of(documents: list[dict], name: str) -> dict[str, str]:
        docs = _write_jsonl(tmp_path / f"{name}.jsonl", documents)
        out = prepare_pretokenized(docs, tokenizer_dir, tmp_path / name, max_length=64, val_fraction=val_fraction,
                                   seed=7, log=lambda m: None)
        tok = load_backend_tokenizer(tokenizer_dir)
        eos = tok.token_to_id(END_OF_TEXT)
        where = {}
        for split in ("train", "val"):
            for ids in _documents_in(np.asarray(open_tokens(out, split)), eos):
                where[tok.decode(list(ids), skip_special_tokens=True)] = split
        return {r["id"]: where[r["text"]] for r in documents}

    before = splits_of(records[:20], "before")
    after = splits_of(records, "after")
    assert all(before[i] == ("val" if scores[i] < val_fraction else "train") for i in before)
    assert {i: after[i] for i in before} == before


def test_literal_special_strings_in_text_stay_text(tmp_path, tokenizer_dir):
    tricky = "The printer set <|endoftext|> and <|kind:trial|> in type, 1750."
    docs = _write_jsonl(tmp_path / "documents.jsonl",
                        [_doc(i, "ordinary", 1750, tricky + f" Copy {i}.") for i in range(6)])
    out = prepare_pretokenized(docs, tokenizer_dir, tmp_path / "pre", log=lambda m: None, **SETTINGS)
    tok = load_backend_tokenizer(tokenizer_dir)
    eos, tag = tok.token_to_id(END_OF_TEXT), tok.token_to_id("<|kind:ordinary|>")
    stream = np.concatenate([np.asarray(open_tokens(out, s)) for s in ("train", "val")])
    assert int((stream == eos).sum()) == 6  # one per document, none from the text
    assert int((stream == tag).sum()) == 6
    assert tok.token_to_id("<|kind:trial|>") not in stream.tolist()  # not a tag of this tokenizer anyway
    texts = {tok.decode(list(d), skip_special_tokens=True) for d in _documents_in(stream, eos)}
    assert texts == {tricky + f" Copy {i}." for i in range(6)}


def test_tags_the_tokenizer_lacks_are_left_out(tmp_path, tokenizer_dir):
    # the tokenizer saw no 'diary' document and no year before 1675: no such tags exist to add
    docs = _write_jsonl(tmp_path / "documents.jsonl", [_doc(i, "diary", 1560, f"Up betimes, {i}.") for i in range(3)])
    out = prepare_pretokenized(docs, tokenizer_dir, tmp_path / "pre", log=lambda m: None, **SETTINGS)
    tok = load_backend_tokenizer(tokenizer_dir)
    stream = np.concatenate([np.asarray(open_tokens(out, s)) for s in ("train", "val")])
    heads = _documents_in(stream, tok.token_to_id(END_OF_TEXT))
    assert sorted(heads) == sorted(tuple(tok.encode(f"Up betimes, {i}.", add_special_tokens=False).ids) + (tok.token_to_id(END_OF_TEXT),)
                                   for i in range(3))


def test_auto_reuses_compatible_data_and_rebuilds_with_the_guides_reason(tmp_path, small_documents, tokenizer_dir):
    out = tmp_path / "pretokenized_data"
    messages: list[str] = []
    prepare_pretokenized(small_documents, tokenizer_dir, out, log=messages.append, **SETTINGS)
    assert NOT_FOUND in messages[0]
    created = (out / "metadata.json").stat().st_mtime_ns

    messages.clear()
    prepare_pretokenized(small_documents, tokenizer_dir, out, log=messages.append, **SETTINGS)
    assert messages[0].startswith("Using pre-tokenized data")
    assert (out / "metadata.json").stat().st_mtime_ns == created

    messages.clear()  # another context length reads the same flat token stream: reused, not rebuilt
    prepare_pretokenized(small_documents, tokenizer_dir, out, log=messages.append, **{**SETTINGS, "max_length": 256})
    assert messages[0].startswith("Using pre-tokenized data") and MAX_LENGTH_MISMATCH not in " ".join(messages)
    assert messages[0].endswith("; one token stream, fits any --max_length)"), messages  # why no mismatch warning
    assert (out / "metadata.json").stat().st_mtime_ns == created

    messages.clear()
    prepare_pretokenized(small_documents, tokenizer_dir, out, mode="rebuild", log=messages.append,
                         **{**SETTINGS, "max_length": 256})
    assert not any("Using" in m for m in messages)
    assert (out / "metadata.json").stat().st_mtime_ns != created


def test_require_fails_with_the_reason(tmp_path, small_documents, tokenizer_dir):
    out = tmp_path / "pretokenized_data"
    with pytest.raises(PretokenizedIncompatible) as err:
        prepare_pretokenized(small_documents, tokenizer_dir, out, mode="require", **SETTINGS)
    assert err.value.reason == NOT_FOUND and "--use_pretokenized" in str(err.value) and not out.exists()
    prepare_pretokenized(small_documents, tokenizer_dir, out, log=lambda m: None, **SETTINGS)
    assert prepare_pretokenized(small_documents, tokenizer_dir, out, mode="require", log=lambda m: None,
                                **SETTINGS) == out
    assert prepare_pretokenized(small_documents, tokenizer_dir, out, mode="require", log=lambda m: None,
                                **{**SETTINGS, "max_length": 64}) == out  # any context length fits
    cases = [({"val_fraction": 0.1}, SPLIT_CHANGED), ({"seed": 8}, SPLIT_CHANGED)]
    for change, reason in cases:
        with pytest.raises(PretokenizedIncompatible) as err:
            prepare_pretokenized(small_documents, tokenizer_dir, out, mode="require", **{**SETTINGS, **change})
        assert err.value.reason == reason, change


def test_tokenizer_and_documents_changes_are_noticed(tmp_path, small_documents, tokenizer_dir):
    docs = tmp_path / "documents.jsonl"
    docs.write_bytes(small_documents.read_bytes())
    out = prepare_pretokenized(docs, tokenizer_dir, tmp_path / "pre", log=lambda m: None, **SETTINGS)
    other_tok = train_tokenizer(docs, tmp_path / "tok2", vocab_size=900, show_progress=False)
    with pytest.raises(PretokenizedIncompatible) as err:
        check_compatible(out, other_tok, 128, docs)
    assert err.value.reason == TOKENIZER_MISMATCH

    check_compatible(out, tokenizer_dir, 128, docs)
    os.utime(docs, ns=(1, 1))  # touched, same bytes: hashed, and accepted
    check_compatible(out, tokenizer_dir, 128, docs)
    data = bytearray(docs.read_bytes())
    data[100] = ord("Z") if data[100] != ord("Z") else ord("Q")  # same size, different content
    docs.write_bytes(bytes(data))
    with pytest.raises(PretokenizedIncompatible) as err:
        check_compatible(out, tokenizer_dir, 128, docs)
    assert err.value.reason == DOCUMENTS_CHANGED
    with open(docs, "ab") as fh:
        fh.write(b"\n")
    with pytest.raises(PretokenizedIncompatible) as err:
        check_compatible(out, tokenizer_dir, 128, docs)
    assert err.value.reason == DOCUMENTS_CHANGED


def test_truncated_or_missing_files_are_caught(built, tmp_path, tokenizer_dir):
    out = tmp_path / "copy"
    out.mkdir()
    for name in ("train.bin", "val.bin", "metadata.json"):
        (out / name).write_bytes((built / name).read_bytes())
    check_compatible(out, tokenizer_dir, 128)
    with open(out / "train.bin", "r+b") as fh:
        fh.truncate((out / "train.bin").stat().st_size - 2)
    with pytest.raises(PretokenizedIncompatible) as err:
        check_compatible(out, tokenizer_dir, 128)
    assert err.value.reason == CORRUPT and "train.bin" in str(err.value)
    (out / "metadata.json").write_text("<html>not json</html>")
    with pytest.raises(PretokenizedIncompatible) as err:
        check_compatible(out, tokenizer_dir, 128)
    assert err.value.reason == CORRUPT
    (out / "metadata.json").unlink()
    with pytest.raises(PretokenizedIncompatible) as err:
        check_compatible(out, tokenizer_dir, 128)
    assert err.value.reason == NOT_FOUND


def test_bad_documents_get_one_clear_message(tmp_path, tokenizer_dir):
    with pytest.raises(PretokenizedIncompatible, match="Documents not found: .*missing.jsonl does not exist.*"
                                                       "historical_data_collector.py"):
        prepare_pretokenized(tmp_path / "missing.jsonl", tokenizer_dir, tmp_path / "pre", log=lambda m: None,
                             **SETTINGS)
    html = tmp_path / "documents.jsonl"
    html.write_text("<!DOCTYPE html><html><body>Service unavailable</body></html>\n")
    with pytest.raises(TokenizerError, match="HTML"):
        prepare_pretokenized(html, tokenizer_dir, tmp_path / "pre", log=lambda m: None, **SETTINGS)
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes(b'{"id": "1", "kind": "book", "year": 1700, "text": "caf\xe9"}\n')
    with pytest.raises(TokenizerError, match="not UTF-8"):
        prepare_pretokenized(latin1, tokenizer_dir, tmp_path / "pre", log=lambda m: None, **SETTINGS)
    assert not (tmp_path / "pre").exists()  # nothing half-written is left under the final name
    with pytest.raises(TokenizerError, match="no tokenizer"):
        prepare_pretokenized(html, tmp_path / "no-tokenizer", tmp_path / "pre", log=lambda m: None, **SETTINGS)


def test_vocabulary_beyond_uint16_is_refused(monkeypatch, tmp_path, small_documents, tokenizer_dir):
    monkeypatch.setattr(token_format, "UINT16_VOCAB_LIMIT", 1000)  # this tokenizer has 1,024 tokens
    with pytest.raises(TokenizerError, match="does not fit the uint16"):
        prepare_pretokenized(small_documents, tokenizer_dir, tmp_path / "pre", log=lambda m: None, **SETTINGS)


def test_concurrent_callers_build_once(tmp_path, small_documents, tokenizer_dir):
    out = tmp_path / "pretokenized_data"
    logs: list[list[str]] = [[], []]
    threads = [threading.Thread(target=prepare_pretokenized,
                                args=(small_documents, tokenizer_dir, out),
                                kwargs=dict(log=logs[i].append, **SETTINGS)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    built = [m for log in logs for m in log if m.startswith("Pre-tokenized ")]
    reused = [m for log in logs for m in log if m.startswith("Using pre-tokenized data")]
    assert len(built) == 1 and len(reused) == 1, logs
    check_compatible(out, tokenizer_dir, 128, small_documents)


def test_a_corpus_that_leaves_validation_empty_is_refused(tmp_path, tokenizer_dir):
    docs = _write_jsonl(tmp_path / "documents.jsonl", [_doc(1, "book", 1750, "A single novel. " * 50)])
    with pytest.raises(PretokenizedIncompatible, match="Too few documents: none of the 1 documents.*Add documents"):
        prepare_pretokenized(docs, tokenizer_dir, tmp_path / "pre", log=lambda m: None, **SETTINGS)
    assert not (tmp_path / "pre").exists()


def test_other_ranks_can_wait_for_the_build_by_polling(tmp_path, small_documents, tokenizer_dir):
    out = tmp_path / "pretokenized_data"
    with pytest.raises(PretokenizedIncompatible) as err:
        wait_until_compatible(out, tokenizer_dir, 128, timeout_s=0.2, poll_s=0.05)
    assert err.value.reason == NOT_FOUND
    builder = threading.Timer(0.3, prepare_pretokenized, args=(small_documents, tokenizer_dir, out),
                              kwargs=dict(log=lambda m: None, **SETTINGS))
    builder.start()
    wait_until_compatible(out, tokenizer_dir, 128, timeout_s=60, poll_s=0.05, documents_file=small_documents,
                          val_fraction=0.05, seed=7)
    builder.join()
    assert (out / "metadata.json").is_file()


def test_split_writer_keeps_one_validation_document_per_kind(tmp_path):
    from london_llm.pretokenize.split import SplitWriter

    writer = SplitWriter(tmp_path, val_fraction=0.1)
    docs = [("book", 0.50, [1, 1]), ("book", 0.30, [2, 2]), ("book", 0.70, [3, 3]),  # none below 0.1: lowest held
            ("trial", 0.40, [4]), ("trial", 0.05, [5]), ("trial", 0.60, [6]),         # one below 0.1: held one freed
            ("diary", 0.20, [7, 7, 7])]                                                  # alone: trains
    for kind, score, ids in docs:
        writer.add(kind, score, np.array(ids, dtype=np.uint16))
    counts = writer.finish()
    train = np.fromfile(tmp_path / "train.bin", dtype="<u2").tolist()
    val = np.fromfile(tmp_path / "val.bin", dtype="<u2").tolist()
    assert sorted(val) == [2, 2, 5]
    assert sorted(train) == [1, 1, 3, 3, 4, 6, 7, 7, 7]
    assert counts["val"]["by_kind"] == {"book": {"tokens": 2, "documents": 1}, "trial": {"tokens": 1, "documents": 1}}
    assert counts["train"]["documents"] == 5 and counts["train"]["tokens"] == 9


def test_long_texts_encoded_in_pieces_give_the_ids_of_the_whole(small_documents, tokenizer_dir):
    from london_llm.pretokenize.text_encoder import TextEncoder, load_text_encoder

    encoder = load_text_encoder(tokenizer_dir)
    assert encoder.cuttable  # the project's recipe
    tok = encoder.tokenizer
    rng = np.random.default_rng(0)
    # whitespace-heavy text: every kind of run before and after the newlines the cuts look for
    alphabet = list("ab,. '\n\t\r") + ["\u00a0", "\u2028", "\u3000", "\n\n", " \n", "\n ", "é", "1"]
    tricky = "".join(rng.choice(alphabet, size=20_000))
    novel = max((r["text"] for r in _read_jsonl(small_documents)), key=len)
    for text in (tricky, novel, novel.replace("\n", "\r\n")):
        for size in (50, 997, 4096):
            pieces = TextEncoder.pieces(text, size)
            assert "".join(pieces) == text and len(pieces) > 3
            ids = [i for piece in pieces for i in tok.encode(piece, add_special_tokens=False).ids]
            assert ids == tok.encode(text, add_special_tokens=False).ids, size
    whole = encoder.encode_texts([novel, "short", novel[:100]])
    assert [a.tolist() for a in whole] == [tok.encode(t, add_special_tokens=False).ids
                                           for t in (novel, "short", novel[:100])]


def test_other_tokenizer_recipes_are_encoded_whole(tokenizer_dir):
    from tokenizers import normalizers, pre_tokenizers

    from london_llm.pretokenize.text_encoder import cuts_are_exact

    tok = load_backend_tokenizer(tokenizer_dir)
    assert cuts_are_exact(tok)
    tok.normalizer = normalizers.NFC()
    assert not cuts_are_exact(tok)
    tok = load_backend_tokenizer(tokenizer_dir)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    assert not cuts_are_exact(tok)
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    assert not cuts_are_exact(tok)
