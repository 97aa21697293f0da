"""The learning-rate schedule when a resumed run is given a different length (--max_steps): it goes
on from the learning rate it had, smoothly, to the floor at the new end (docs/training.md)."""
from __future__ import annotations

import pytest

from london_llm.training.optim import learning_rate, resume_anchor
from london_llm.settings import TrainConfig

CFG = TrainConfig(n_layer=1, n_head=2, n_embd=16, max_length=8, vocab_size=100, batch_size=2,
                  max_steps=200, warmup_steps=20, learning_rate=1e-3, min_lr_ratio=0.1)


def test_a_longer_run_continues_from_the_learning_rate_it_had():
    at = 150
    before = learning_rate(at - 1, CFG, 200)
    anchor = resume_anchor(at, CFG, old_total=200, new_total=400)
    lrs = [learning_rate(s, CFG, 400, anchor) for s in range(at, 401)]
    # no jump: the first resumed step is where the old schedule was heading
    assert lrs[0] == pytest.approx(learning_rate(at, CFG, 200), rel=1e-12)
    assert abs(lrs[0] - before) < 2 * abs(learning_rate(at - 2, CFG, 200) - before)
    # the old cosine over the new total would have jumped up (the 2.6e-4 -> 7.6e-4 case)
    assert learning_rate(at, CFG, 400) > 1.5 * lrs[0]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))  # still decaying
    steps = [abs(a - b) for a, b in zip(lrs, lrs[1:])]
    assert max(steps) < 2 * abs(learning_rate(at, CFG, 200) - learning_rate(at + 1, CFG, 200))
    assert lrs[-1] == pytest.approx(CFG.learning_rate * CFG.min_lr_ratio)


def test_a_shorter_run_still_ends_at_the_floor_without_a_jump():
    anchor = resume_anchor(150, CFG, old_total=200, new_total=170)
    assert learning_rate(150, CFG, 170, anchor) == pytest.approx(learning_rate(150, CFG, 200))
    assert learning_rate(170, CFG, 170, anchor) == pytest.approx(1e-4)


def test_unchanged_length_or_warm_up_needs_no_anchor_and_resumes_exactly():
    assert resume_anchor(150, CFG, 200, 200) is None
    assert resume_anchor(10, CFG, 200, 400) is None  # in warm-up the total plays no part yet
    assert [learning_rate(s, CFG, 200, None) for s in (0, 50, 199)] == \
           [learning_rate(s, CFG, 200) for s in (0, 50, 199)]


def test_a_second_change_continues_from_the_first_anchor():
    first = resume_anchor(150, CFG, 200, 400)
    lr_at_300 = learning_rate(300, CFG, 400, first)
    second = resume_anchor(300, CFG, 400, 600, old_anchor=first)
    assert learning_rate(300, CFG, 600, second) == pytest.approx(lr_at_300, rel=1e-12)
    assert learning_rate(600, CFG, 600, second) == pytest.approx(1e-4)
    assert resume_anchor(320, CFG, 600, 600, old_anchor=second) == second  # kept on later resumes


def test_a_finished_run_given_more_steps_stays_at_the_floor():
    anchor = resume_anchor(200, CFG, 200, 300)
    assert anchor["progress"] == 1.0
    assert all(learning_rate(s, CFG, 300, anchor) == pytest.approx(1e-4) for s in range(200, 301))
