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
SAMPLE_MOD = 16  # a power of two (shingle_hashes samples with a mask)
NEAR_MIN_CHARS = 2_000
THRESHOLD = 0.8
_BATCH = 20_000
_SIG_BATCH = 1024  # NUM_PERM x 1024 uint32: half a MB, within the L2 cache of a core


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


_P = np.uint64(1_000_003)
_P_INV = np.uint64(pow(1_000_003, -1, 1 << 64))  # P is odd, so it has an inverse modulo 2**64


_powers_cache: list = [np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64)]
_POWERS_CACHED = 1 << 22  # 64 MB for both tables; a longer text gets its own, not kept


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P**-t and P**t for t < n (mod 2**64), computed once per process and grown as needed: the
    same cumulative products every document would otherwise recompute."""
    inv_powers, powers = _powers_cache
    if inv_powers.size < n:
        size = n if n > _POWERS_CACHED else min(max(n, 2 * inv_powers.size, 1 << 16), _POWERS_CACHED)
        with np.errstate(over="ignore"):
            inv_powers = np.full(size, _P_INV, dtype=np.uint64)
            inv_powers[0] = 1
            inv_powers = np.cumprod(inv_powers, dtype=np.uint64)
            powers = np.full(size, _P, dtype=np.uint64)
            powers[0] = 1
            powers = np.cumprod(powers, dtype=np.uint64)
        if size <= _POWERS_CACHED:
            _powers_cache[:] = [inv_powers, powers]
    return inv_powers[:n], powers[:n]


def shingle_hashes(folded: str) -> np.ndarray:
    """32-bit hashes of the sampled 24-character shingles of folded text.

    Polynomial hash of every window at once from prefix sums (all arithmetic wraps modulo
    2**64): with S[j] = sum_{t<j} b[t] * P**-t, window i is (S[i+k] - S[i]) * P**(i+k-1).
    A handful of vector operations instead of k multiply-adds per character.
    """
    data = np.frombuffer(folded.encode("ascii"), dtype=np.uint8)
    n = data.size
    if n < SHINGLE:
        return np.zeros(0, dtype=np.uint64)
    inv_powers, powers = _powers(n)
    with np.errstate(over="ignore"):
        prefix = np.empty(n + 1, dtype=np.uint64)
        prefix[0] = 0
        np.multiply(data, inv_powers, out=prefix[1:])  # widened to uint64 as it is multiplied
        np.cumsum(prefix[1:], out=prefix[1:])
        hashes = prefix[SHINGLE:] - prefix[:-SHINGLE]
        hashes *= powers[SHINGLE - 1:]
        hashes ^= np.right_shift(hashes, np.uint64(29), out=prefix[:hashes.size])  # prefix is spent
    # the sample is chosen on the low bits, which the 32-bit mask keeps, so it is masked after
    keep = (hashes & np.uint64(SAMPLE_MOD - 1)) == 0  # SAMPLE_MOD is a power of two: % as a mask
    return hashes[keep] & np.uint64(0xFFFFFFFF)  # repeats do not change a MinHash: no np.unique


# MurmurHash3's 32-bit finalizer, as datasketch's affine32 scheme pre-mixes each input hash.
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))
_EMPTY = np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)


def signature(folded: str) -> Optional[np.ndarray]:
    """MinHash hash values of a document long enough for near-duplicate detection, else None.

    The same values as datasketch's MinHash(scheme="affine32").update_batch of the shingle hashes
    (tests/cleaning/test_scale.py checks it), computed on the numpy array itself: datasketch
    first turns every hash into a Python int and back, which cost more than the hashing.
    """
    if len(folded) < NEAR_MIN_CHARS:
        return None
    a, b = _permutations()
    mixed = shingle_hashes(folded).astype(np.uint32)
    s1, m1, s2, m2, s3 = _FMIX32
    mixed ^= mixed >> s1
    mixed *= m1
    mixed ^= mixed >> s2
    mixed *= m2
    mixed ^= mixed >> s3
    values = _EMPTY.copy()
    a, b = a[:, None], b[:, None]
    # NUM_PERM x batch blocks that stay in cache, reduced along their contiguous rows
    for start in range(0, mixed.size, _SIG_BATCH):
        permuted = a * mixed[None, start:start + _SIG_BATCH]
        permuted += b
        np.minimum(values, permuted.min(axis=1), out=values)
    return values


def datasketch_signature(folded: str) -> Optional[np.ndarray]:
    """The reference `signature` must equal: datasketch's own MinHash of the same shingle hashes."""
    if len(folded) < NEAR_MIN_CHARS:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=_identity, scheme=SCHEME,
                      permutations=_permutations())
    hashes = shingle_hashes(folded)
    for start in range(0, hashes.size, _BATCH):
        minhash.update_batch(hashes[start:start + _BATCH].tolist())
    return minhash.hashvalues.copy()


class _Buckets:
    """One LSH band's buckets in place of datasketch's dict-of-sets storage: a bucket holding one
    key (nearly every bucket) stores the bare key, a list only once it holds more. About 90 bytes a
    document a band instead of about 400, which is what lets the index hold millions of documents."""

    __slots__ = ("_table",)

    def __init__(self):
        self._table: dict = {}

    def insert(self, band: int, *keys, buffer: bool = False) -> None:
        table = self._table
        for key in keys:
            held = table.get(band)
            if held is None:
                table[band] = key
            elif type(held) is list:
                held.append(key)
            else:
                table[band] = [held, key]

    def get(self, band: int):
        held = self._table.get(band)
        if held is None:
            return ()
        return held if type(held) is list else (held,)

    def size(self) -> int:
        return len(self._table)


class _NoKeys:
    """datasketch keeps each key's band hashes to support remove(); documents are never removed."""

    def insert(self, key, *bands, buffer: bool = False) -> None:
        pass

    def __contains__(self, key) -> bool:
        return False


class Deduplicator:
    """Feed documents in priority order; `check` says why one is a duplicate of an earlier one.

    Exact duplicates: a dict from the text's hash to the first key. Near duplicates: datasketch's
    MinHashLSH (its band/row parameters for the threshold, its banding and query) over compact
    bucket storage, each band's bytes reduced to a Python hash (a collision only adds a candidate,
    which the Jaccard check below rejects); the signatures of indexed documents in one growing
    uint32 matrix, compared row against row in numpy.
    """

    def __init__(self, threshold: float = THRESHOLD):
        self.seen: dict = {}
        self.threshold = threshold
        self.lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM, hashfunc=hash)
        self.lsh.hashtables = [_Buckets() for _ in range(self.lsh.b)]
        self.lsh.keys = _NoKeys()
        self._rows = np.zeros((1024, NUM_PERM), dtype=np.uint32)
        self._row_keys: list = []

    def _add_signature(self, key, hashvalues: np.ndarray) -> int:
        row = len(self._row_keys)
        if row == len(self._rows):  # grow by half: amortised O(1), at most 1.5x the space needed
            grown = np.zeros((row + row // 2, NUM_PERM), dtype=np.uint32)
            grown[:row] = self._rows
            self._rows = grown
        self._rows[row] = hashvalues
        self._row_keys.append(key)
        return row

    def check(self, key, exact_hash, hashvalues: Optional[np.ndarray]) -> Optional[tuple[str, object]]:
        """None when `key` is new (and remember it), else (filter name, key of the kept copy)."""
        if exact_hash in self.seen:
            return "exact_duplicate", self.seen[exact_hash]
        if hashvalues is not None:
            hashvalues = np.asarray(hashvalues, dtype=np.uint32)
            minhash = LeanMinHash(seed=SEED, hashvalues=hashvalues, scheme=SCHEME)
            candidates = self.lsh.query(minhash)
            if candidates:
                rows = np.fromiter(candidates, dtype=np.int64, count=len(candidates))
                similarity = np.count_nonzero(self._rows[rows] == hashvalues, axis=1) / NUM_PERM
                best = int(np.argmax(similarity))
                if similarity[best] >= self.threshold:
                    return "near_duplicate", self._row_keys[rows[best]]
            self.lsh.insert(self._add_signature(key, hashvalues), minhash, check_duplication=False)
        self.seen[exact_hash] = key
        return None

    def memory_bytes(self) -> int:
        """A rough size of the index (for the benchmark's report)."""
        import sys
        buckets = sum(sys.getsizeof(t._table) for t in self.lsh.hashtables)
        return buckets + self._rows.nbytes + sys.getsizeof(self.seen) + sys.getsizeof(self._row_keys)
