"""Pretokenization: tokenize the cleaned documents once, into flat uint16 token files.

The writer of the format pretokenize.format defines (and checks): data that fits is reused, data
that does not is rebuilt into a new folder that replaces the old one atomically.

The split is by document and deterministic: a document goes to validation when a seeded hash of
its id falls below `val_fraction`, so adding documents never moves the others. Every kind with two
or more documents keeps at least one in validation (the one with the lowest hash).
"""
from __future__ import annotations

import contextlib
import fcntl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np
from tqdm import tqdm

from london_llm.atomic import atomic_dir, write_json
from london_llm.hashing import sha256_file as file_sha256
from london_llm.pretokenize.format import (COLLECT, DOCUMENTS_CHANGED, DOCUMENTS_MISSING, DTYPE_NAME,
                                           BYTE_ORDER, FORMAT_VERSION, TOO_FEW_DOCUMENTS,
                                           PretokenizedIncompatible, check_compatible, read_metadata)
from london_llm.pretokenize.split import SplitWriter, split_score
from london_llm.pretokenize.text_encoder import TextEncoder, load_text_encoder
from london_llm.tokenization.documents import document_id, iter_documents

MODES = ("auto", "require", "rebuild")
CHUNK_CHARS = 8_000_000  # text per encode_batch call: enough documents to keep every core busy


# --- building -------------------------------------------------------------------------------

def prepare_pretokenized(documents_file: Path, tokenizer_dir: Path, out_dir: Path, *,
                         val_fraction: float, seed: int, mode: str = "auto", workers: Optional[int] = None,
                         log: Callable[[str], None] = print, warn: Optional[Callable[[str], None]] = None,
                         max_length: Optional[int] = None) -> Path:
    """Make `out_dir` hold pretokenized data for these settings and return it.

    `max_length` is accepted for older callers and not used: the data fit any context length.
    `warn` takes the warnings (a logger's .warning); without it they go to `log` as "Warning: ...".
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
    settings = dict(tokenizer_dir=tokenizer_dir, documents_file=documents_file, val_fraction=val_fraction, seed=seed)
    warn = warn or (lambda message: log(f"Warning: {message}"))
    if mode != "rebuild":
        try:
            check_compatible(out_dir, **settings)
            # the guide's "Max length mismatch" cannot happen here: say so where a user would look for it
            log(f"Using pre-tokenized data in {out_dir} ({_describe(read_metadata(out_dir))}; "
                "one token stream, fits any --max_length)")
            return out_dir
        except PretokenizedIncompatible as exc:
            if mode == "require":
                raise
            warn(f"{exc.reason}: {exc.detail}. Tokenizing the documents now (one time only); "
                 f"later runs reuse {out_dir}.")
    with _build_lock(out_dir, log):
        if mode == "auto":  # another process may have built it while this one waited for the lock
            with contextlib.suppress(PretokenizedIncompatible):
                check_compatible(out_dir, **settings)
                log(f"Using pre-tokenized data in {out_dir}, built by another process meanwhile")
                return out_dir
        meta = build_pretokenized(documents_file, tokenizer_dir, out_dir,
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


def build_pretokenized(documents_file: Path, tokenizer_dir: Path, out_dir: Path, *,
                       val_fraction: float, seed: int, workers: Optional[int] = None,
                       max_length: Optional[int] = None) -> dict:
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
            "dtype": DTYPE_NAME,
            "byte_order": BYTE_ORDER,
            "tokenizer_sha256": encoder.sha256,
            "tokenizer_dir": str(Path(tokenizer_dir)),
            "vocab_size": encoder.vocab_size,
            "eos_id": int(encoder.eos[0]),
            "conditioning_tags": encoder.conditioning_tags,
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
