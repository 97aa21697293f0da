"""london_llm.training.midstep and .stopwatch: the lock around the update, the boundary snapshot, and the
thread that answers a stop signal while the main thread is inside one long C++ call. The saves
themselves, through the real scripts: tests/scripts/test_train_slow_stops.py."""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from types import SimpleNamespace

import pytest
import torch

from london_llm.training import midstep
from london_llm.training.midstep import Boundary, MidStepSaver, UpdateGuard, wait_before_saving
from london_llm.training.resume import Progress
from london_llm.training.stopping import StopFlag
from london_llm.training.stopwatch import StopWatcher


def c_plus_plus_wait(seconds: float) -> None:
    """Block in C++ (no Python bytecode runs in this thread, so no Python signal handler either)."""
    done = torch.futures.Future()
    threading.Timer(seconds, done.set_result, args=(None,)).start()
    done.wait()


def test_the_update_waits_for_a_save_and_a_save_sees_whether_it_came_first():
    guard = UpdateGuard(step=7)
    entered, order = threading.Event(), []

    def save():
        with guard.holding(7) as current:
            entered.set()
            time.sleep(0.3)
            order.append(("save", current))

    saver = threading.Thread(target=save)
    saver.start()
    entered.wait(5)
    with guard.update(8):
        order.append(("update", guard.applied))
    saver.join()
    assert order == [("save", True), ("update", 7)] and guard.applied == 8
    with guard.holding(7) as current:
        assert not current  # step 8's update is in: a save of step 7 must not be written now


def test_a_stop_saves_at_once_only_when_the_step_is_due_after_the_grace_period():
    now = 1000.0
    long_step = Boundary(step=3, progress=Progress(step=3), data={}, epoch=0.0, rng_all=[], loop_state={}, lrs=[],
                         wandb_id=None, last_step_s=120.0, started=now - 10)
    assert wait_before_saving(long_step, now) == 0.0  # due in 110 s: plain torchrun kills it in 30
    nearly_done = Boundary(**{**long_step.__dict__, "last_step_s": 12.0})
    assert wait_before_saving(nearly_done, now) == midstep.GRACE_S  # due in 2 s: the boundary saves it


def _saver(monkeypatch, tmp_path, written: list) -> tuple[MidStepSaver, torch.nn.Module, torch.optim.Optimizer]:
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.5)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    released = []
    job = SimpleNamespace(ctx=SimpleNamespace(is_main=True), resume_from=None, logger=logging.getLogger("t"),
                          lock=SimpleNamespace(release=lambda: released.append(True)), released=released)
    monkeypatch.setattr(midstep, "trainer_state", lambda job, progress, **kw: {"step": progress.step, **kw})
    monkeypatch.setattr(midstep, "write_checkpoint",
                        lambda job, step, **kw: written.append((step, kw)) or tmp_path / f"checkpoint-{step}")
    saver = MidStepSaver(job, raw_model=model, optimizer=optimizer, scaler=scaler, steps_total=10,
                         tokens_per_step=8, start_step=0, advice=lambda path: f"resume {path}")
    return saver, model, optimizer


def test_the_save_records_the_boundary_not_the_step_in_flight(monkeypatch, tmp_path):
    written: list = []
    saver, model, optimizer = _saver(monkeypatch, tmp_path, written)
    saver.guard.applied = 4
    saver.at_boundary(Boundary(step=4, progress=Progress(step=4), data={"position": 40}, epoch=0.4,
                               rng_all=["rank0"], loop_state={"log_window": None}, lrs=[0.5], wandb_id="w",
                               last_step_s=100.0))
    optimizer.param_groups[0]["lr"] = 0.25  # step 5's learning rate, set as step 5 began
    saver.on_stop("SIGTERM received")
    (step, kw), = written
    assert step == 4 and kw["state"]["data"] == {"position": 40} and kw["rng_all"] == ["rank0"]
    assert kw["optimizer_state"]["optimizer"]["param_groups"][0]["lr"] == 0.5  # step 4's, as a boundary save
    assert optimizer.param_groups[0]["lr"] == 0.25  # the running optimizer is untouched
    assert saver.job.released == [True] and saver.lock_released
    saver.on_stop("SIGINT received")  # a second signal (torchrun passes Ctrl-C on again): nothing more
    assert len(written) == 1


def test_a_step_that_ended_meanwhile_is_left_to_the_boundary(monkeypatch, tmp_path):
    written: list = []
    saver, _, _ = _saver(monkeypatch, tmp_path, written)
    saver.guard.applied = 5  # step 5's update already ran: the parameters are no longer step 4's
    saver.at_boundary(Boundary(step=4, progress=Progress(step=4), data={}, epoch=0.0, rng_all=[], loop_state={},
                               lrs=[0.5], wandb_id=None, last_step_s=100.0))
    saver.on_stop("SIGTERM received")
    assert written == [] and not saver.job.released
    saver.at_boundary(None)  # after a fast step there is no snapshot: nothing is saved mid-step
    saver.on_stop("SIGTERM received")
    assert written == []


@pytest.fixture
def armed_stop():
    stop = StopFlag().install()
    stop.arm()
    yield stop
    stop.uninstall()


def test_the_watcher_wakes_during_a_long_cxx_call_while_the_handler_waits(armed_stop):
    woke = []
    with StopWatcher(armed_stop, lambda reason: woke.append((time.monotonic(), reason))):
        threading.Timer(0.2, os.kill, args=(os.getpid(), signal.SIGTERM)).start()
        began = time.monotonic()
        c_plus_plus_wait(2.0)
        returned = time.monotonic()
    (at, reason), = woke
    assert reason == "SIGTERM received" and armed_stop.reason == reason
    assert at - began < 1.5 < returned - began, (at - began, returned - began)


def test_a_first_ctrl_c_seen_late_by_the_handler_does_not_abort(armed_stop):
    """The watcher records the stop at once; the main thread's handler sees the same SIGINT only after
    the long call, more than a second later: that is still the first Ctrl-C, not a second."""
    with StopWatcher(armed_stop, lambda reason: None):
        threading.Timer(0.1, os.kill, args=(os.getpid(), signal.SIGINT)).start()
        try:
            c_plus_plus_wait(1.6)
            time.sleep(0.05)  # the handler runs here
        except KeyboardInterrupt:
            pytest.fail("the one Ctrl-C was taken for a second one and aborted the run")
    assert armed_stop.reason == "SIGINT received"
