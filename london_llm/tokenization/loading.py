"""Open a tokenizer folder (format 1), checking it is complete and what this project wrote."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import tokenizers

from london_llm.jsonl import read_versioned_json
from london_llm.settings import model_tokenizer_dir
from london_llm.tags import END_OF_TEXT, PAD
from london_llm.tokenization.errors import TokenizerError
from london_llm.tokenization.format import FOLDER_FILES, FORMAT_VERSION, INFO_FILE, RETRAIN_CMD, tokenizer_sha256

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

RETRAIN = f"train it again: {RETRAIN_CMD}"


def tokenizer_info(folder: Path) -> dict:
    """The parsed london_tokenizer.json (conditioning_tags, vocab_size, special_token_ids, training_data...)."""
    folder = Path(folder)
    if not folder.is_dir():
        tiny = model_tokenizer_dir(folder, "tiny")  # ./run.sh on a CPU trains only the tiny model's
        also = (f"; the tiny model's tokenizer is at {tiny}: pass --tokenizer_dir {tiny}" if tiny.is_dir() else "")
        raise TokenizerError(f"no tokenizer folder at {folder}; {RETRAIN} (or pass the folder){also}")
    info_file, info = read_versioned_json(
        folder, INFO_FILE, version=FORMAT_VERSION, error=TokenizerError, advice=RETRAIN,
        missing=f"{folder} is not a London tokenizer folder ({INFO_FILE} missing); {RETRAIN}")
    for key in ("vocab_size", "conditioning_tags", "special_token_ids", "tokenizer_sha256", "training_data"):
        if key not in info:
            raise TokenizerError(f"{info_file} lacks {key!r}; {RETRAIN}")
    return info


def _check_files(folder: Path, info: dict) -> None:
    missing = [name for name in FOLDER_FILES if not (folder / name).is_file()]
    if missing:
        raise TokenizerError(f"tokenizer folder {folder} is incomplete (missing {', '.join(missing)}); {RETRAIN}")
    if tokenizer_sha256(folder) != info["tokenizer_sha256"]:
        raise TokenizerError(f"{folder / 'tokenizer.json'} is not the file {INFO_FILE} describes (sha256 "
                             f"differs: replaced or corrupt); {RETRAIN}")


def _check_ids(folder: Path, info: dict, token_to_id, vocab_size: int) -> None:
    if vocab_size != info["vocab_size"]:
        raise TokenizerError(f"{folder}: vocabulary has {vocab_size} tokens but {INFO_FILE} says "
                             f"{info['vocab_size']}; {RETRAIN}")
    for token, expected in info["special_token_ids"].items():
        if token_to_id(token) != expected:
            raise TokenizerError(f"{folder}: special token {token} has id {token_to_id(token)}, "
                                 f"{INFO_FILE} says {expected}; {RETRAIN}")


def load_backend_tokenizer(folder: Path) -> tokenizers.Tokenizer:
    """The `tokenizers.Tokenizer` (fast encode_batch) with special-token splitting off, validated.

    tokenizer.json cannot store `encode_special_tokens`, so a plain `Tokenizer.from_file` would
    turn the text "<|endoftext|>" into the special id; this sets it as the project's rule says.
    """
    folder = Path(folder)
    info = tokenizer_info(folder)
    _check_files(folder, info)
    try:
        tokenizer = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
    except Exception as exc:  # the library raises bare Exception on a malformed file
        raise TokenizerError(f"{folder / 'tokenizer.json'} cannot be read ({exc}); {RETRAIN}") from None
    tokenizer.encode_special_tokens = True
    _check_ids(folder, info, tokenizer.token_to_id, tokenizer.get_vocab_size(with_added_tokens=True))
    return tokenizer


def check_tokenizer_folder(folder: Path) -> dict:
    """The folder's london_tokenizer.json, once its files are all there and tokenizer.json is the one
    it describes: the checks that need no tokenizer library (a run refuses a bad folder at once)."""
    folder = Path(folder)
    info = tokenizer_info(folder)
    _check_files(folder, info)
    return info


def load_tokenizer(folder: Path) -> "PreTrainedTokenizerFast":
    """AutoTokenizer on the folder, offline, after checking it is a complete, consistent format-1 folder."""
    folder = Path(folder)
    info = check_tokenizer_folder(folder)
    from transformers import AutoTokenizer  # seconds to import: only when a folder is worth loading

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except Exception as exc:  # transformers raises many types for a bad folder; all mean the same here
        raise TokenizerError(f"{folder} does not load with AutoTokenizer ({exc}); {RETRAIN}") from None
    _check_ids(folder, info, tokenizer.convert_tokens_to_ids, len(tokenizer))
    if tokenizer.eos_token != END_OF_TEXT or tokenizer.bos_token != END_OF_TEXT or tokenizer.pad_token != PAD:
        raise TokenizerError(f"{folder}: bos/eos/pad are {tokenizer.bos_token}/{tokenizer.eos_token}/"
                             f"{tokenizer.pad_token}, expected {END_OF_TEXT}/{END_OF_TEXT}/{PAD}; {RETRAIN}")
    if not tokenizer.split_special_tokens:
        raise TokenizerError(f"{folder / 'tokenizer_config.json'} lacks split_special_tokens=true, so text "
                             f"containing special-token strings would become special ids; {RETRAIN}")
    return tokenizer
