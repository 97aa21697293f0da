"""Deduplication across sources: exact (hash of the ASCII-folded text) and near-duplicate
(MinHash LSH with datasketch), so the same book from two sources, or in two file variants
(ASCII, Latin-1, UTF-8), is kept once.

Shingles are 24-character windows of the folded text, hashed with a vectorised polynomial
hash; a fixed 1-in-16 subsample by hash value keeps MinHash cheap on 2 MB novels while staying
consistent between documents (the same shingle is kept or dropped everywhere). Near-duplicate
detection only compares documents of at least `NEAR_MIN_CHARS`: short formulaic records
(removal orders, one-line trials) legitimately share most of their words.
"""
from __future__ import annotations

import functools
import hashlib
from typing import Optional

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

from .normalise import ascii_fold

NUM_PERM = 128
SEED = 1
SHINGLE = 24
SAMPLE_MOD = 16
NEAR_MIN_CHARS = 2_000
THRESHOLD = 0.8
_POWERS = (np.uint64(1_000_003) ** np.arange(SHINGLE, dtype=np.uint64)[::-1]).astype(np.uint64)
_BATCH = 20_000


def _identity(value):  # the shingle hashes are already 32-bit integers
    return value


SCHEME = "affine32"


@functools.lru_cache(maxsize=1)
def _permutations():
    """The seed's permutation parameters, made once per process (not once per document)."""
    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations


def fold_and_hash(text: str) -> tuple[str, str]:
    folded = ascii_fold(text)
    return folded, hashlib.sha256(folded.encode("ascii")).hexdigest()


def shingle_hashes(folded: str) -> np.ndarray:
    """32-bit hashes of the sampled 24-character shingles of folded text."""
    data = np.frombuffer(folded.encode("ascii"), dtype=np.uint8).astype(np.uint64)
    if data.size < SHINGLE:
        return np.zeros(0, dtype=np.uint64)
    windows = np.lib.stride_tricks.sliding_window_view(data, SHINGLE)
    with np.errstate(over="ignore"):
        hashes = windows[:, 0] * _POWERS[0]
        for i in range(1, SHINGLE):  # column-wise keeps memory at one vector, not a matrix
            hashes += windows[:, i] * _POWERS[i]
    hashes = (hashes ^ (hashes >> np.uint64(29))) & np.uint64(0xFFFFFFFF)
    return hashes[hashes % SAMPLE_MOD == 0]  # repeats do not change a MinHash: no np.unique


def signature(folded: str) -> Optional[np.ndarray]:
    """MinHash hash values of a document long enough for near-duplicate detection, else None."""
    if len(folded) < NEAR_MIN_CHARS:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=_identity, scheme=SCHEME,
                      permutations=_permutations())
    hashes = shingle_hashes(folded)
    for start in range(0, hashes.size, _BATCH):
        minhash.update_batch(hashes[start:start + _BATCH].tolist())
    return minhash.hashvalues.copy()


class Deduplicator:
    """Feed documents in priority order; `check` says why one is a duplicate of an earlier one."""

    def __init__(self, threshold: float = THRESHOLD):
        self.seen: dict[str, str] = {}
        self.lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self.signatures: dict[str, LeanMinHash] = {}
        self.threshold = threshold

    def check(self, key: str, exact_hash: str, hashvalues: Optional[np.ndarray]) -> Optional[tuple[str, str]]:
        """None when `key` is new (and remember it), else (filter name, key of the kept copy)."""
        if exact_hash in self.seen:
            return "exact_duplicate", self.seen[exact_hash]
        if hashvalues is not None:
            minhash = LeanMinHash(seed=SEED, hashvalues=hashvalues, scheme=SCHEME)
            for other in self.lsh.query(minhash):
                if self.signatures[other].jaccard(minhash) >= self.threshold:
                    return "near_duplicate", other
            self.lsh.insert(key, minhash)
            self.signatures[key] = minhash
        self.seen[exact_hash] = key
        return None


