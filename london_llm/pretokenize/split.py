"""The train/validation split of pretokenized documents: by document, seeded, stable as the corpus grows.

A document goes to validation when `split_score(id, seed)` is below `val_fraction`, so adding
documents never moves the others. Every kind with two or more documents keeps at least one in
validation: the one with the lowest score, held back while streaming until it is known whether
the kind got another.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from london_llm.pretokenize.format import SPLITS, TOKEN_DTYPE


def split_score(doc_id: str, seed: int) -> float:
    """A stable number in [0, 1) per (seed, document id): below val_fraction means validation."""
    digest = hashlib.blake2b(f"{seed}\0{doc_id}".encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass
class SplitCounts:
    tokens: int = 0
    documents: int = 0
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, kind: str, n_tokens: int) -> None:
        self.tokens += n_tokens
        self.documents += 1
        entry = self.by_kind.setdefault(kind, {"tokens": 0, "documents": 0})
        entry["tokens"] += n_tokens
        entry["documents"] += 1

    def as_dict(self) -> dict:
        return {"tokens": self.tokens, "documents": self.documents, "by_kind": dict(sorted(self.by_kind.items()))}


class SplitWriter:
    """Writes each encoded document to train or val, holding back per kind the one document that
    validation takes when no other of its kind got there (the kind's lowest split score)."""

    def __init__(self, folder: Path, val_fraction: float):
        self.val_fraction = val_fraction
        self.files = {s: open(folder / f"{s}.bin", "wb") for s in SPLITS}
        self.counts = {s: SplitCounts() for s in SPLITS}
        self.seen: dict[str, int] = {}
        self.kinds_in_val: set[str] = set()
        self.reserve: dict[str, tuple[float, np.ndarray]] = {}

    def add(self, kind: str, score: float, ids: np.ndarray) -> None:
        self.seen[kind] = self.seen.get(kind, 0) + 1
        if score < self.val_fraction:
            self._write("val", kind, ids)
            self.kinds_in_val.add(kind)
            if kind in self.reserve:  # validation has this kind now: the reserve goes to training
                self._write("train", kind, self.reserve.pop(kind)[1])
        elif kind in self.kinds_in_val:
            self._write("train", kind, ids)
        elif kind not in self.reserve or score < self.reserve[kind][0]:
            if kind in self.reserve:
                self._write("train", kind, self.reserve[kind][1])
            self.reserve[kind] = (score, ids)
        else:
            self._write("train", kind, ids)

    def finish(self) -> dict:
        for kind in sorted(self.reserve):
            self._write("val" if self.seen[kind] >= 2 else "train", kind, self.reserve[kind][1])
        self.reserve.clear()
        for fh in self.files.values():
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
        return {s: c.as_dict() for s, c in self.counts.items()}

    def close(self) -> None:
        for fh in self.files.values():
            fh.close()

    def _write(self, split: str, kind: str, ids: np.ndarray) -> None:
        ids.astype(TOKEN_DTYPE, copy=False).tofile(self.files[split])  # little-endian on any machine
        self.counts[split].add(kind, len(ids))
