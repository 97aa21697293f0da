"""The pretokenized data format (format 1): its one owner, read by training and the checkpoint check.

Layout (README "Pretokenized data (format 1)"): `train.bin` and `val.bin` hold little-endian
uint16 ids, every document as `tags + text + <|endoftext|>`; `metadata.json` is written last and
says what the files were built from, so a later run can tell whether they still fit. Opening the
files is `np.memmap` (`open_tokens`): instant at any size. The writer is pretokenize.build.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import numpy as np

from london_llm.errors import LondonLLMError
from london_llm.hashing import sha256_file as file_sha256
from london_llm.tokenization.loading import tokenizer_sha256

SPLITS = ("train", "val")
TOKEN_DTYPE = np.dtype("<u2")  # little-endian uint16, whatever the machine's byte order
DTYPE_NAME = "uint16"  # as metadata.json records it
BYTE_ORDER = "little"
UINT16_VOCAB_LIMIT = 1 << 16  # ids 0..65535 fit a token file: the largest vocabulary this format holds
BUILD_HINT = "run the training script without --use_pretokenized to build it (or with --no_pretokenized)"

FORMAT_VERSION = 1

# The guide's warnings ("Troubleshooting Pre-Tokenization"), plus the checks it does not name.
NOT_FOUND = "Pre-tokenized data not found"
MAX_LENGTH_MISMATCH = "Max length mismatch"
TOKENIZER_MISMATCH = "Tokenizer mismatch"
DOCUMENTS_CHANGED = "Documents changed"
SPLIT_CHANGED = "Split settings changed"
FORMAT_MISMATCH = "Format version mismatch"
CORRUPT = "Pre-tokenized data corrupt"
# ...and why a build can fail (the same exception, so a caller handles one type)
DOCUMENTS_MISSING = "Documents not found"
TOO_FEW_DOCUMENTS = "Too few documents"

COLLECT = "python 02_data_collection/historical_data_collector.py (or pass --documents_file)"
REBUILD_HINT = ("rebuild it: run training without --use_pretokenized (it re-tokenizes when the data "
                "does not fit) or with --no_pretokenized")


class PretokenizedIncompatible(LondonLLMError):
    """The pretokenized folder cannot be used as it is, or cannot be built. `.reason` is one of the
    phrases above; the message names the folder and what to do."""

    def __init__(self, reason: str, detail: str, out_dir: Path, remedy: str = f"To {REBUILD_HINT}."):
        self.reason = reason
        self.detail = detail
        self.out_dir = Path(out_dir)
        super().__init__(f"{reason}: {detail} ({self.out_dir}). {remedy}")


# --- compatibility --------------------------------------------------------------------------

def read_metadata(out_dir: Path) -> dict:
    """metadata.json of a pretokenized folder; PretokenizedIncompatible when absent or unreadable."""
    out_dir = Path(out_dir)
    meta_file = out_dir / "metadata.json"
    if not meta_file.is_file():
        raise PretokenizedIncompatible(NOT_FOUND, "no metadata.json", out_dir)
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PretokenizedIncompatible(CORRUPT, f"metadata.json is unreadable ({exc})", out_dir) from None
    if not isinstance(meta, dict):
        raise PretokenizedIncompatible(CORRUPT, "metadata.json is not a JSON object", out_dir)
    return meta


def check_compatible(out_dir: Path, tokenizer_dir: Path, max_length: int,
                     documents_file: Optional[Path] = None, *, val_fraction: Optional[float] = None,
                     seed: Optional[int] = None) -> None:
    """Raise PretokenizedIncompatible unless `out_dir` was built for these settings.

    Cheap (metadata, file sizes, one hash of tokenizer.json), so every rank can call it. The
    documents file is compared by size and modification time, and hashed only when those differ;
    a documents file that no longer exists is not held against the data built from it.
    """
    out_dir = Path(out_dir)
    meta = read_metadata(out_dir)
    if meta.get("format_version") != FORMAT_VERSION:
        raise PretokenizedIncompatible(
            FORMAT_MISMATCH, f"format_version {meta.get('format_version')!r}, this code reads {FORMAT_VERSION}", out_dir)
    if meta.get("max_length") != max_length:
        raise PretokenizedIncompatible(
            MAX_LENGTH_MISMATCH, f"built for max_length {meta.get('max_length')}, this run uses {max_length}", out_dir)
    current = tokenizer_sha256(tokenizer_dir)
    if meta.get("tokenizer_sha256") != current:
        raise PretokenizedIncompatible(
            TOKENIZER_MISMATCH, f"built with a different tokenizer.json (sha256 {str(meta.get('tokenizer_sha256'))[:12]}, "
                                f"{tokenizer_dir} has {current[:12]})", out_dir)
    if val_fraction is not None and meta.get("val_fraction") != val_fraction:
        raise PretokenizedIncompatible(
            SPLIT_CHANGED, f"built with val_fraction {meta.get('val_fraction')}, this run uses {val_fraction}", out_dir)
    if seed is not None and meta.get("seed") != seed:
        raise PretokenizedIncompatible(
            SPLIT_CHANGED, f"built with seed {meta.get('seed')}, this run uses {seed}", out_dir)
    if documents_file is not None and Path(documents_file).is_file():
        _check_documents(Path(documents_file), meta.get("documents_file") or {}, out_dir)
    for split in SPLITS:
        path = out_dir / f"{split}.bin"
        expected = 2 * int(meta.get("splits", {}).get(split, {}).get("tokens", -1))
        if not path.is_file():
            raise PretokenizedIncompatible(NOT_FOUND, f"{path.name} is missing", out_dir)
        if path.stat().st_size != expected:
            raise PretokenizedIncompatible(
                CORRUPT, f"{path.name} holds {path.stat().st_size} bytes, metadata.json says {expected}", out_dir)


def wait_until_compatible(out_dir: Path, tokenizer_dir: Path, max_length: int, *, timeout_s: Optional[float] = None,
                          poll_s: float = 2.0, **settings) -> None:
    """Block until `out_dir` passes check_compatible (another process is building it), polling files.

    For ranks other than 0: unlike a collective barrier it has no timeout of its own, and a long
    build on a large corpus does not trip the process group's. torchrun ends the waiters if rank 0 fails.
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        try:
            return check_compatible(out_dir, tokenizer_dir, max_length, **settings)
        except PretokenizedIncompatible:
            if deadline is not None and time.monotonic() >= deadline:
                raise
        time.sleep(poll_s)


def _check_documents(documents_file: Path, recorded: dict, out_dir: Path) -> None:
    stat = documents_file.stat()
    if stat.st_size != recorded.get("size"):
        raise PretokenizedIncompatible(
            DOCUMENTS_CHANGED, f"{documents_file} is {stat.st_size} bytes, the data was built from "
                               f"{recorded.get('size')} bytes", out_dir)
    if stat.st_mtime_ns == recorded.get("mtime_ns"):
        return
    if file_sha256(documents_file) != recorded.get("sha256"):
        raise PretokenizedIncompatible(
            DOCUMENTS_CHANGED, f"{documents_file} differs from the file the data was built from (sha256)", out_dir)


# --- reading ---------------------------------------------------------------------------------

def open_tokens(out_dir: Path, split: str) -> np.memmap:
    """`<out_dir>/<split>.bin` as a read-only uint16 memmap: nothing is read until it is indexed."""
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', not {split!r}")
    path = Path(out_dir) / f"{split}.bin"
    if not path.is_file():
        raise FileNotFoundError(f"pre-tokenized {split} data not found at {path}; {BUILD_HINT}")
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"{path} holds no tokens; {BUILD_HINT}")
    if size % TOKEN_DTYPE.itemsize:
        raise ValueError(f"{path} is {size} bytes, not whole uint16 tokens (truncated or not a token file); "
                         f"{BUILD_HINT}")
    return np.memmap(path, dtype=TOKEN_DTYPE, mode="r")
