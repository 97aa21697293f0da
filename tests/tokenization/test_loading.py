"""london_llm.tokenization.loading: lossless round trips, special tokens, AutoTokenizer, refused folders."""
from __future__ import annotations

import json
import shutil

import pytest
from tokenizers import Tokenizer
from transformers import AutoTokenizer

from london_llm.tags import END_OF_TEXT, PAD
from london_llm.tokenization.checks import UNSEEN_TEXTS
from london_llm.tokenization.errors import TokenizerError
from london_llm.tokenization.loading import load_backend_tokenizer, load_tokenizer, tokenizer_info
from tokenizer_helpers import VOCAB, read_records


def test_round_trip_is_exact_for_any_unicode(trained, mixed_documents):
    hf = load_tokenizer(trained)
    backend = load_backend_tokenizer(trained)
    training_chars = set(mixed_documents.read_text(encoding="utf-8"))
    unseen = "".join(UNSEEN_TEXTS)
    assert not set("ﬁ伦🏰𝔏\u0301\x00") & training_chars  # the test text really has characters never seen
    held = set(tokenizer_info(trained)["training_data"]["held_out_ids"])
    held_texts = [r["text"] for r in read_records(mixed_documents) if r["id"] in held]
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


def _copy(trained, tmp_path):
    return shutil.copytree(trained, tmp_path / "copy")


def test_load_errors_name_the_file_and_the_fix(tmp_path, trained):
    with pytest.raises(TokenizerError, match="no tokenizer folder.*train_historical_tokenizer.py") as caught:
        load_tokenizer(tmp_path / "missing")
    assert "tiny" not in str(caught.value)
    # the guide's `python 03_tokenizer/test_tokenizer.py` after ./run.sh on a CPU, which trains only tiny's
    (tmp_path / "missing_tiny").mkdir()
    with pytest.raises(TokenizerError, match=f"the tiny model's tokenizer is at {tmp_path}/missing_tiny: pass "
                                             f"--tokenizer_dir {tmp_path}/missing_tiny$"):
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
