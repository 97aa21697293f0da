"""The tokenizer folder's format (format 1): its one owner, importable without the tokenizers library.

A folder holds tokenizer.json, vocab.json, merges.txt, tokenizer_config.json,
special_tokens_map.json and london_tokenizer.json (INFO_FILE: format_version, the tags, the
special ids, and `tokenizer_sha256`). The sha256 of tokenizer.json is the tokenizer's one
fingerprint: london_tokenizer.json, pretokenized data's metadata.json and every checkpoint's
trainer_state.json record it, and `tokenizer_sha256` is the one function that computes it.
Written by tokenization.training, opened by tokenization.loading.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from london_llm.hashing import sha256_file
from london_llm.tokenization.errors import TokenizerError

FORMAT_VERSION = 1
INFO_FILE = "london_tokenizer.json"
DEFAULT_MODEL_MAX_LENGTH = 1024  # the largest preset context; the tokenizer itself has no limit
SPECIAL_TOKEN_RULE = (
    "Special tokens enter a sequence only by id (token_to_id / convert_tokens_to_ids). Text is always "
    "encoded with special-token splitting off (tokenizers: encode_special_tokens = True; transformers: "
    "split_special_tokens = true in tokenizer_config.json), so text that merely contains '<|endoftext|>' "
    "or '<|kind:trial|>' is encoded as ordinary characters and round-trips exactly.")
TAG_RULE = ("One <|kind:K|> tag per document kind and one <|period:S-E|> tag per quarter-century "
            "(from the document's year) that occur in the training documents (london_llm.tags.tag_set).")
FOLDER_FILES = ("tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json",
                "special_tokens_map.json", INFO_FILE)
RETRAIN_CMD = "python 03_tokenizer/train_historical_tokenizer.py"


def tokenizer_sha256(tokenizer_dir: Path) -> str:
    """sha256 of tokenizer.json: the tokenizer's one fingerprint (see the module docstring)."""
    path = Path(tokenizer_dir) / "tokenizer.json"
    if not path.is_file():
        raise TokenizerError(f"no tokenizer at {path}; train it first: {RETRAIN_CMD} (or pass the tokenizer folder)")
    return sha256_file(path)


def tokenizer_fingerprint(tokenizer_dir: Path) -> Optional[str]:
    """tokenizer_sha256, or None when there is no readable tokenizer.json (nothing to compare with)."""
    try:
        return tokenizer_sha256(tokenizer_dir)
    except (TokenizerError, OSError):
        return None
