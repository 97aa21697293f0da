"""Test-only hooks of the training loop, inert unless their environment variable is set (nothing in
the project sets them; the tests that do are named below).

LONDON_LLM_TEST_SLOW_STEP_S=<seconds> or <first>,<seconds>: every micro-batch handed to a step first
waits that long inside one C++ call (torch.futures.Future.wait, which Python signal handlers cannot
interrupt), standing in for a long CPU forward/backward (the slm preset takes over 100 s a step on a
CPU) without the CPU time. With two values the first micro-batch waits <first> s instead: a test needs
step 1 only slow enough to be followed by a boundary capture, and only the step it stops to be long,
so it need not wait out a long step 1 too. Nothing computed changes, so a run with the hook takes the
same steps as one without. tests/scripts/test_train_slow_stops.py stops such runs mid-step.
"""
from __future__ import annotations

import os
import threading
from typing import Callable, Optional

SLOW_STEP_ENV = "LONDON_LLM_TEST_SLOW_STEP_S"


def slow_step_seconds() -> Optional[tuple[float, float]]:
    """(first micro-batch's wait, every later one's), or None when the hook is off."""
    value = os.environ.get(SLOW_STEP_ENV, "").strip()
    if not value:
        return None
    parts = [float(p) for p in value.split(",")]
    if len(parts) not in (1, 2):
        raise ValueError(f"{SLOW_STEP_ENV}={value!r}: expected <seconds> or <first>,<seconds>")
    first, rest = parts[0], parts[-1]
    return (first, rest) if first > 0 or rest > 0 else None


def describe(seconds: tuple[float, float]) -> str:
    first, rest = seconds
    return f"every micro-batch waits {rest:g} s" + (f" (the first {first:g} s)" if first != rest else "")


def slowed(next_batch: Callable, seconds: Optional[tuple[float, float]]) -> Callable:
    """`next_batch`, each call followed by a wait in C++ (`seconds`: the first call's, every later
    one's; unchanged when None)."""
    if seconds is None:
        return next_batch
    import torch

    waits = iter([seconds[0]])  # the first call's wait, then every later call's

    def slow_next_batch():
        batch = next_batch()
        done = torch.futures.Future()
        timer = threading.Timer(next(waits, seconds[1]), done.set_result, args=(None,))
        timer.daemon = True
        timer.start()
        done.wait()  # releases the GIL and blocks in C++ until the timer fires
        return batch

    return slow_next_batch
