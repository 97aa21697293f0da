"""Test-only hooks of the training loop, inert unless their environment variable is set (nothing in
the project sets them; the tests that do are named below).

LONDON_LLM_TEST_SLOW_STEP_S=<seconds>: every micro-batch handed to a step first waits that long inside
one C++ call (torch.futures.Future.wait, which Python signal handlers cannot interrupt), standing in
for a long CPU forward/backward (the slm preset takes over 100 s a step on a CPU) without the CPU
time. Nothing computed changes, so a run with the hook takes the same steps as one without.
tests/scripts/test_train_slow_stops.py stops such runs mid-step.
"""
from __future__ import annotations

import os
import threading
from typing import Callable, Optional

SLOW_STEP_ENV = "LONDON_LLM_TEST_SLOW_STEP_S"


def slow_step_seconds() -> Optional[float]:
    value = os.environ.get(SLOW_STEP_ENV, "").strip()
    return float(value) if value and float(value) > 0 else None


def slowed(next_batch: Callable, seconds: Optional[float]) -> Callable:
    """`next_batch`, each call followed by a wait of `seconds` in C++ (unchanged when None)."""
    if seconds is None:
        return next_batch
    import torch

    def slow_next_batch():
        batch = next_batch()
        done = torch.futures.Future()
        timer = threading.Timer(seconds, done.set_result, args=(None,))
        timer.daemon = True
        timer.start()
        done.wait()  # releases the GIL and blocks in C++ until the timer fires
        return batch

    return slow_next_batch
