"""The logging window's device-side sums and the divergence watch (units; the end-to-end diverged
run is in tests/scripts/test_train_failsafe.py)."""
from __future__ import annotations

import math

import torch

from london_llm.training.nonfinite import DivergenceWatch, LogWindow, divergence_message, weights_are_finite

NAN, INF = float("nan"), float("inf")
CPU = torch.device("cpu")


def t(x):
    return torch.tensor(x, dtype=torch.float32)


def test_a_window_averages_the_finite_steps_and_counts_the_others():
    window = LogWindow(CPU)
    for loss, norm in [(2.0, 1.0), (NAN, 3.0), (4.0, INF), (3.0, 2.0)]:
        window.add(t(loss), t(norm))
    totals = window.totals()
    assert totals == {"loss": 2.5, "grad_norm": 1.5, "finite_steps": 2, "nonfinite_steps": 2}
    assert window.steps == 4
    window.reset()
    window.add(t(NAN), t(NAN))
    assert window.totals()["loss"] is None  # nothing finite to average: null, never NaN


def test_under_a_grad_scaler_an_infinite_gradient_is_not_divergence():
    window = LogWindow(CPU, grad_scaler=True)
    window.add(t(2.0), t(INF))
    window.add(t(NAN), t(INF))
    assert window.totals()["nonfinite_steps"] == 1


def test_a_saved_partial_window_continues_bit_for_bit():
    losses = [1.1, 2.3, 0.7, 5.9]
    whole = LogWindow(CPU)
    for x in losses:
        whole.add(t(x), t(1.0))
    first = LogWindow(CPU)
    for x in losses[:2]:
        first.add(t(x), t(1.0))
    resumed = LogWindow(CPU)
    resumed.load_state_dict(first.state_dict())
    for x in losses[2:]:
        resumed.add(t(x), t(1.0))
    assert resumed.totals() == whole.totals() and resumed.steps == 4


def test_the_watch_stops_after_the_limit_and_a_clean_window_forgives():
    watch = DivergenceWatch(limit=10)
    assert not watch.update(3, step=10, window_steps=10)
    assert not watch.update(0, step=20, window_steps=10)  # clean: forgiven
    assert not watch.update(5, step=30, window_steps=10)
    assert watch.update(5, step=40, window_steps=10)
    assert watch.first_step == 21 and watch.count == 10


def test_the_message_names_the_checkpoint_and_what_to_change(tmp_path):
    text = divergence_message(step=40, count=10, first_step=5, last_good=tmp_path / "checkpoint-4",
                              learning_rate=1e4, warmup_steps=2, precision="bf16")
    assert "checkpoint-4" in text and "--learning_rate (now 10000)" in text and "--dtype fp32" in text
    none = divergence_message(step=40, count=10, first_step=5, last_good=None, learning_rate=1e4,
                              warmup_steps=2, precision="fp32")
    assert "--fresh" in none and "--dtype" not in none


def test_weights_are_finite_sees_one_bad_value():
    model = torch.nn.Linear(3, 2)
    assert weights_are_finite(model)
    with torch.no_grad():
        model.bias[1] = math.nan
    assert not weights_are_finite(model)


def test_weights_are_finite_tells_an_infinity_from_a_sum_that_overflows():
    model = torch.nn.Linear(4, 2)
    with torch.no_grad():
        model.weight.fill_(3e38)  # finite values whose fp32 sum is infinite: still finite weights
    assert weights_are_finite(model)
    with torch.no_grad():
        model.weight[0, 0] = math.inf
        model.weight[0, 1] = -math.inf  # their sum is NaN, as any sum with an infinity is non-finite
    assert not weights_are_finite(model)
    half = torch.nn.Linear(4, 2).half()
    with torch.no_grad():
        half.weight.fill_(60000.0)  # fp16's range ends at 65504: the sum is taken in fp32
    assert weights_are_finite(half)
    with torch.no_grad():
        half.bias[0] = math.inf
    assert not weights_are_finite(half)
