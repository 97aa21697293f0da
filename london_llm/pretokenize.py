"""Pretokenization: tokenize the cleaned documents once, into flat uint16 token files.

Layout (README "Pretokenized data (format 1)"): `train.bin` and `val.bin` hold little-endian
uint16 ids, every document as `tags + text + <|endoftext|>`; `metadata.json` is written last and
says what the files were built from, so a later run can tell whether they still fit. Opening the
files is `np.memmap` (london_llm.data.open_tokens): instant at any size.

The split is by document and deterministic: a document goes to validation when a seeded hash of
its id falls below `val_fraction`, so adding documents never moves the others. Every kind with two
or more documents keeps at least one in validation (the one with the lowest hash).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np
from tqdm import tqdm

from london_llm.atomic import atomic_dir, write_json
from london_llm.hashing import sha256_file as file_sha256
from london_llm.split import SPLITS, SplitWriter, split_score
from london_llm.text_encoder import TextEncoder, load_text_encoder, tokenizer_sha256
from london_llm.tokenization.documents import document_id, iter_documents

FORMAT_VERSION = 1
MODES = ("auto", "require", "rebuild")
CHUNK_CHARS = 8_000_000  # text per encode_batch call: enough documents to keep every core busy

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


class PretokenizedIncompatible(Exception):
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


# --- building -------------------------------------------------------------------------------

def prepare_pretokenized(documents_file: Path, tokenizer_dir: Path, out_dir: Path, *, max_length: int,
                         val_fraction: float, seed: int, mode: str = "auto", workers: Optional[int] = None,
                         log: Callable[[str], None] = print) -> Path:
    """Make `out_dir` hold pretokenized data for these settings and return it.

    mode "auto" reuses compatible data and otherwise warns with the reason and rebuilds; "require"
    (--use_pretokenized) raises PretokenizedIncompatible instead; "rebuild" (--no_pretokenized)
    always re-tokenizes. Builds are serialised by a lock beside `out_dir`: call this from one
    process (rank 0) and let the others wait, then call check_compatible.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, not {val_fraction}")
    out_dir = Path(out_dir)
    settings = dict(tokenizer_dir=tokenizer_dir, max_length=max_length, documents_file=documents_file,
                    val_fraction=val_fraction, seed=seed)
    if mode != "rebuild":
        try:
            check_compatible(out_dir, **settings)
            log(f"Using pre-tokenized data in {out_dir} ({_describe(read_metadata(out_dir))})")
            return out_dir
        except PretokenizedIncompatible as exc:
            if mode == "require":
                raise
            log(f"Warning: {exc.reason}: {exc.detail}. Tokenizing the documents now (one time only); "
                f"later runs reuse {out_dir}.")
    with _build_lock(out_dir, log):
        if mode == "auto":  # another process may have built it while this one waited for the lock
            with contextlib.suppress(PretokenizedIncompatible):
                check_compatible(out_dir, **settings)
                log(f"Using pre-tokenized data in {out_dir}, built by another process meanwhile")
                return out_dir
        meta = build_pretokenized(documents_file, tokenizer_dir, out_dir, max_length=max_length,
                                  val_fraction=val_fraction, seed=seed, workers=workers)
    log(f"Pre-tokenized {meta['documents_file']['path']} into {out_dir} ({_describe(meta)}, "
        f"{meta['build_seconds']:.1f} s)")
    return out_dir


def _describe(meta: dict) -> str:
    s = meta["splits"]
    return (f"train {s['train']['tokens']:,} tokens in {s['train']['documents']:,} documents, "
            f"val {s['val']['tokens']:,} tokens in {s['val']['documents']:,} documents")


@contextlib.contextmanager
def _build_lock(out_dir: Path, log: Callable[[str], None]) -> Iterator[None]:
    """An exclusive flock on `.<out_dir>.lock` beside the folder; the kernel drops it if we die."""
    lock_file = out_dir.with_name(f".{out_dir.name}.lock")
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"Another process is pre-tokenizing into {out_dir}; waiting for it to finish")
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


@dataclass
class _Document:
    kind: str
    score: float
    prefix: np.ndarray
    text: str


def _read_chunks(documents_file: Path, encoder: TextEncoder, seed: int) -> Iterator[tuple[list[_Document], int]]:
    """Documents in file order, in chunks of about CHUNK_CHARS characters, with the bytes they took."""
    chunk: list[_Document] = []
    chars = size = 0
    for line_no, raw, record in iter_documents(documents_file):
        size += len(raw)
        text = record["text"]
        if not text:
            continue
        chunk.append(_Document(record["kind"], split_score(document_id(record, line_no), seed),
                               encoder.prefix_ids(record["kind"], record.get("year")), text))
        chars += len(text)
        if chars >= CHUNK_CHARS:
            yield chunk, size
            chunk, chars, size = [], 0, 0
    if chunk or size:
        yield chunk, size


def build_pretokenized(documents_file: Path, tokenizer_dir: Path, out_dir: Path, *, max_length: int,
                       val_fraction: float, seed: int, workers: Optional[int] = None) -> dict:
    """Tokenize every document into a new `out_dir` (replaced atomically); return its metadata."""
    documents_file, out_dir = Path(documents_file), Path(out_dir)
    started = time.perf_counter()
    encoder = load_text_encoder(tokenizer_dir)
    if not documents_file.is_file():
        raise PretokenizedIncompatible(DOCUMENTS_MISSING, f"{documents_file} does not exist", out_dir,
                                       f"Build the cleaned corpus first: {COLLECT}")
    stat = documents_file.stat()
    sha256 = file_sha256(documents_file)  # a separate pass: seconds, against minutes of tokenizing
    chars = 0
    with atomic_dir(out_dir) as tmp, \
            tqdm(total=stat.st_size, unit="B", unit_scale=True, mininterval=1.0,
                 desc="pre-tokenizing") as progress, encoder.parallel(workers):
        writer = SplitWriter(tmp, val_fraction)
        try:
            for chunk, size in _read_chunks(documents_file, encoder, seed):
                for doc, ids in zip(chunk, encoder.encode_texts([d.text for d in chunk])):
                    writer.add(doc.kind, doc.score, np.concatenate((doc.prefix, ids, encoder.eos)))
                chars += sum(len(d.text) for d in chunk)
                progress.update(size)
            splits = writer.finish()
        finally:
            writer.close()
        if splits["train"]["tokens"] == 0:
            raise PretokenizedIncompatible(TOO_FEW_DOCUMENTS, f"{documents_file} holds no text to train on",
                                           out_dir, f"Rebuild it: {COLLECT}")
        if splits["val"]["tokens"] == 0:
            raise PretokenizedIncompatible(
                TOO_FEW_DOCUMENTS, f"none of the {splits['train']['documents']} documents of {documents_file} went "
                "to validation (a kind gives one only when it has two or more)", out_dir,
                "Add documents (a larger corpus) or raise --val_fraction.")
        after = documents_file.stat()
        if (after.st_size, after.st_mtime_ns) != (stat.st_size, stat.st_mtime_ns):
            raise PretokenizedIncompatible(DOCUMENTS_CHANGED, f"{documents_file} changed while it was being "
                                           "pre-tokenized", out_dir, "Run again once the data stage has finished.")
        meta = {
            "format_version": FORMAT_VERSION,
            "dtype": "uint16",
            "byte_order": "little",
            "tokenizer_sha256": encoder.sha256,
            "tokenizer_dir": str(Path(tokenizer_dir)),
            "vocab_size": encoder.vocab_size,
            "eos_id": int(encoder.eos[0]),
            "conditioning_tags": encoder.conditioning_tags,
            "max_length": max_length,
            "val_fraction": val_fraction,
            "seed": seed,
            "splits": splits,
            "chars": chars,
            "documents_file": {"path": str(documents_file), "sha256": sha256,
                               "size": stat.st_size, "mtime_ns": stat.st_mtime_ns},
            "build_seconds": round(time.perf_counter() - started, 3),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        write_json(tmp / "metadata.json", meta)  # last: its presence means the folder is complete
    return meta
