"""Keep freed tensor memory in the process heap when models run on the CPU.

PyTorch's CPU allocator has no cache: every tensor is a malloc and every free a free. glibc serves
blocks above its mmap threshold (128 KiB, rising to at most 32 MiB as such blocks are freed) with
a fresh mmap and gives them back to the kernel on free, and trims the heap's top whenever 128 KiB
or more is free there. A training step allocates and frees the same few hundred MB of activations,
logits and gradients every time, so each step page-faults all of it in again and the kernel zeroes
every page: on the 2-core AVX2 EPYC this was 17% of the step's CPU time (sys time 23 s of 140 s
in `bench/bench_train.py`), and more for evaluation batches, whose one big logits block is mmapped
each call. Serving every block from the heap and never trimming it makes the memory come back warm:
the process's resident size then stays at its high-water mark, which a training run reaches in
its first steps anyway.

Set LONDON_LLM_MALLOC=default to keep glibc's own behaviour (e.g. to compare).

Inference does not call it: decoding keeps only the last position's logits, so no big block comes
and goes each token; `bench/bench_inference.py --memory` found 20-54 faults a token on the slm
shape with glibc's defaults, sys time under 0.3% of the CPU time, tuned or not.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from typing import Optional

# mallopt's parameter numbers, from glibc's malloc.h
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# above any single tensor a CPU run makes at the sizes it can train; blocks bigger than this still
# get their own mmap (and are returned on free), so a huge one-off does not pin the heap
MMAP_THRESHOLD_BYTES = 1 << 30
# never give the heap's free top back: it is needed again at the next step
TRIM_THRESHOLD_BYTES = (1 << 31) - 1

_applied: Optional[str] = None


def _glibc() -> Optional[ctypes.CDLL]:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version.restype = ctypes.c_char_p
        libc.gnu_get_libc_version()  # only glibc has it (musl does not, nor does mallopt mean the same)
        return libc
    except (OSError, AttributeError):
        return None


def keep_tensor_memory_warm() -> str:
    """Tune glibc's malloc for repeated large tensor allocations; returns what was done, for the log.

    Idempotent; a no-op (said so) off glibc or when LONDON_LLM_MALLOC=default.
    """
    global _applied
    if _applied is not None:
        return _applied
    if os.environ.get("LONDON_LLM_MALLOC", "").strip().lower() == "default":
        _applied = "glibc malloc defaults kept (LONDON_LLM_MALLOC=default)"
        return _applied
    libc = _glibc()
    if libc is None:
        _applied = "allocator untouched (not glibc)"
        return _applied
    ok = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    ok = libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1 and ok
    _applied = ("glibc malloc keeps freed tensor memory (mmap threshold 1 GiB, no trim)" if ok
                else "glibc refused the malloc settings; its defaults are in force")
    return _applied
