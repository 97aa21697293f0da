"""A stop while a slow step runs saves the last completed step at once, before torchrun's shutdown timeout
kills the run (plain torchrun: SIGKILL 30 s after it passes a stop on; the slm preset on a CPU takes
over 100 s a step). Steps are made slow by the test-only hook LONDON_LLM_TEST_SLOW_STEP_S
(london_llm/training/testhooks.py: a wait inside one C++ call, which Python signal handlers cannot
interrupt, like a long backward; nothing computed changes). Step 1 waits only FIRST_S, enough to be
followed by a boundary capture (midstep.SNAPSHOT_AFTER_S); step 2, the one stopped, is the long one.
Through the real scripts, tiny preset."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from training_runs import (TORCHRUN, TRAIN_SLM, kill_quietly, make_inputs, ok, run, stop_of, tiny_flags,
                           wait_for_step)

pytestmark = pytest.mark.slow
STEPS = 4
SLOW = "LONDON_LLM_TEST_SLOW_STEP_S"
FIRST_S = 3  # step 1's wait: over midstep.SNAPSHOT_AFTER_S (2 s), so step 2 starts with a boundary capture


@pytest.fixture(scope="module")
def inputs(small_documents, tmp_path_factory) -> dict:
    inputs = make_inputs(small_documents, tmp_path_factory.mktemp("slowstops"))
    inputs["reference"] = inputs["root"] / "reference"
    ok(run([sys.executable, TRAIN_SLM, *tiny_flags(inputs, STEPS), "--output_dir", inputs["reference"]],
           cwd=inputs["root"]))  # uninterrupted
    return inputs


def command(kind: str, inputs: dict, out, log_file, steps: int = STEPS) -> list[str]:
    flags = [*tiny_flags(inputs, steps), "--output_dir", str(out), "--log_file", str(log_file)]
    launcher = [sys.executable] if kind == "python" else [*TORCHRUN, "--nproc_per_node=2"]
    return [*launcher, str(TRAIN_SLM), *flags]


def start_slow(kind: str, inputs: dict, out, log_file, seconds: float) -> subprocess.Popen:
    """A run whose step 1 waits FIRST_S and every later step `seconds`."""
    return subprocess.Popen(command(kind, inputs, out, log_file), cwd=inputs["root"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, **{SLOW: f"{FIRST_S},{seconds}"}))


def sigterm_in_step_2(proc: subprocess.Popen, out, timeout: float = 180) -> None:
    """SIGTERM 1 s into step 2, the slow step (step 1's record is written just before step 2 starts)."""
    wait_for_step(out, 1, [proc], timeout=timeout)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)


def timeline(out) -> list[tuple]:
    from london_llm.training.metrics import read_metrics

    return [(r["step"], r["kind"], r.get("train/loss", r.get("eval/val_loss"))) for r in read_metrics(out).records]


def assert_same_weights(a, b) -> None:
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa), f"{a} and {b} differ"


def assert_saved_mid_step(out, log_file, signal_name: str) -> None:
    """checkpoint-1 (the last completed step) complete, written while step 2 ran, said so, no lock left."""
    from london_llm.training.checkpoint import verify

    text = log_file.read_text(encoding="utf-8")
    assert f"{signal_name} received" in text and "step 1, the last completed, saved at once to" in text, text[-3000:]
    assert "to resume from it:" in text, text[-3000:]
    assert verify(out / "checkpoint-1") is None
    assert not (out / "checkpoint-2").exists() and "stopped at step" not in text  # killed inside step 2
    assert not (out / "training.lock").exists(), "a stale lock was left behind"


def resume_and_compare(kind: str, inputs: dict, out, log_file, reference) -> None:
    ok(run([*command(kind, inputs, out, log_file), "--resume_from_checkpoint", "checkpoint-1"], cwd=inputs["root"]))
    assert timeline(out) == timeline(reference)
    assert_same_weights(out / f"checkpoint-{STEPS}", reference / f"checkpoint-{STEPS}")


def test_sigterm_then_sigkill_mid_step_leaves_the_last_step_saved_and_resumes_exactly(inputs, tmp_path):
    """SIGTERM 1 s into a 15 s step 2, SIGKILL 8 s later (torchrun's timeout, shortened): before the fix
    nothing since the last regular checkpoint (none: --save_steps 5) survived."""
    out, log_file = tmp_path / "run", tmp_path / "train.log"
    proc = start_slow("python", inputs, out, log_file, seconds=15)
    try:
        sigterm_in_step_2(proc, out)
        time.sleep(8.0)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        kill_quietly(proc)
    assert proc.returncode == -signal.SIGKILL  # it was still inside step 2
    assert_saved_mid_step(out, log_file, "SIGTERM")
    resume_and_compare("python", inputs, out, log_file, inputs["reference"])


def test_a_run_left_to_finish_its_slow_step_saves_that_step_too(inputs, tmp_path):
    """Not killed: the step in flight ends, its checkpoint is written at the boundary as before (the lock
    taken back first), the stop line names it, and nothing the mid-step save wrote is touched."""
    from london_llm.training.checkpoint import verify

    out, log_file = tmp_path / "run", tmp_path / "train.log"
    # step 2 lasts 12 s: the stop, 1 s in, waits midstep.GRACE_S (5 s: step 1 took 3 s, so step 2 looked
    # due soon) and then saves step 1 at ~6 s, well before step 2 ends (with a 6 s step the two met: a
    # signal sent a little late under load let the boundary save first)
    proc = start_slow("python", inputs, out, log_file, seconds=12)
    try:
        sigterm_in_step_2(proc, out)
        console, _ = proc.communicate(timeout=120)
    finally:
        kill_quietly(proc)
    assert proc.returncode == 0, console[-3000:]
    text = log_file.read_text(encoding="utf-8")
    assert "step 1, the last completed, saved at once to" in text, text[-3000:]
    assert stop_of(text) == (2, out / "checkpoint-2")
    assert verify(out / "checkpoint-1") is None and verify(out / "checkpoint-2") is None
    assert not (out / "training.lock").exists()


def test_fast_steps_stop_at_the_boundary_as_before(inputs, tmp_path):
    """Steps far shorter than the snapshot threshold: no boundary capture, no mid-step save."""
    out, log_file = tmp_path / "run", tmp_path / "train.log"
    proc = subprocess.Popen(command("python", inputs, out, log_file, steps=400), cwd=inputs["root"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_step(out, 3, [proc])
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
    finally:
        kill_quietly(proc)
    text = log_file.read_text(encoding="utf-8")
    step, path = stop_of(text)
    assert path == out / f"checkpoint-{step}" and "saved at once" not in text


def test_plain_torchrun_killing_its_workers_after_its_timeout_leaves_the_last_step_saved(inputs, tmp_path):
    """`torchrun --nproc_per_node=2` (gloo) given SIGTERM 1 s into a 45 s step 2: it passes the signal on and
    SIGKILLs both workers 30 s later. Rank 0 saved step 1 at once (every rank's random state gathered at
    the boundary), and two processes resume from it exactly. The uninterrupted two-process reference
    trains while the stopped run's workers sit out torchrun's 30 s in their slow step (idle, in C++)."""
    reference, reference_console = tmp_path / "reference", tmp_path / "reference.txt"
    out, log_file = tmp_path / "run", tmp_path / "train.log"
    proc = start_slow("torchrun", inputs, out, log_file, seconds=45)
    ref_proc = None
    try:
        sigterm_in_step_2(proc, out, timeout=240)
        with open(reference_console, "w") as console_file:
            ref_proc = subprocess.Popen(command("torchrun", inputs, reference, tmp_path / "reference.log"),
                                        cwd=inputs["root"], stdout=console_file, stderr=subprocess.STDOUT)
        console, _ = proc.communicate(timeout=120)
        ref_proc.wait(timeout=300)
    finally:
        kill_quietly(proc, ref_proc)
    assert ref_proc.returncode == 0, reference_console.read_text()[-3000:]
    assert proc.returncode != 0, console[-3000:]  # torchrun's own ending (docs/training.md)
    assert_saved_mid_step(out, log_file, "SIGTERM")
    resume_and_compare("torchrun", inputs, out, log_file, reference)


def test_a_stop_at_an_evaluation_step_saves_without_evaluating_first(inputs, tmp_path):
    """A stop during a step that ends at an evaluation point (or the last step) saved only after the
    evaluation: the slm preset on a CPU spent 6 minutes evaluating after Ctrl-C (eval_iters 50), and under
    plain torchrun its SIGKILL 30 s after the stop would have lost the step. Now it saves at once."""
    from training_runs import metric_lines

    out, log_file = tmp_path / "out", tmp_path / "train.log"
    flags = [*tiny_flags(inputs, STEPS, **{"--eval_steps": "2", "--save_steps": "100"}), "--output_dir", str(out),
             "--log_file", str(log_file)]
    proc = subprocess.Popen([sys.executable, str(TRAIN_SLM), *flags], cwd=inputs["root"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=dict(os.environ, **{SLOW: "0,3"}))
    try:
        wait_for_step(out, 1, [proc])
        time.sleep(1.0)  # inside step 2, which waits 3 s and ends at an evaluation point
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
    finally:
        kill_quietly(proc)
    assert proc.returncode == 0, log_file.read_text(encoding="utf-8")[-3000:]
    assert stop_of(log_file.read_text(encoding="utf-8"))[0] == 2
    assert not [r for r in metric_lines(out) if "eval/val_loss" in r and r.get("step") == 2], metric_lines(out)
    from london_llm.training.checkpoint import verify
    assert verify(out / "checkpoint-2") is None
