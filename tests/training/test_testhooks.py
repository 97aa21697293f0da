"""The test-only slow-step hook (london_llm/training/testhooks.py): off unless set, one value for every
micro-batch, or a first value for the first micro-batch only (test_train_slow_stops.py keeps step 1 short)."""
from __future__ import annotations

import time

import pytest

from london_llm.training import testhooks


@pytest.mark.parametrize("value, expected", [("", None), ("0", None), ("10", (10.0, 10.0)), ("3,45", (3.0, 45.0)),
                                             (" 0.5 , 2 ", (0.5, 2.0))])
def test_the_variable_reads_as_first_and_later_waits(monkeypatch, value, expected):
    monkeypatch.setenv(testhooks.SLOW_STEP_ENV, value)
    assert testhooks.slow_step_seconds() == expected


def test_three_values_are_refused(monkeypatch):
    monkeypatch.setenv(testhooks.SLOW_STEP_ENV, "1,2,3")
    with pytest.raises(ValueError, match=testhooks.SLOW_STEP_ENV):
        testhooks.slow_step_seconds()


def test_only_the_first_batch_waits_the_first_value():
    batches = iter(range(3))
    slow = testhooks.slowed(lambda: next(batches), (0.05, 0.4))
    waits = []
    for expected in range(3):
        started = time.perf_counter()
        assert slow() == expected  # the batch itself is unchanged
        waits.append(time.perf_counter() - started)
    assert 0.05 <= waits[0] < 0.35 and min(waits[1:]) >= 0.4, waits  # generous: a shared machine runs late


def test_off_hands_back_the_batch_function_itself():
    def next_batch():
        return 1

    assert testhooks.slowed(next_batch, None) is next_batch
