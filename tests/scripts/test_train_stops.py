"""Every way a training run can be stopped saves a checkpoint at the stop step, logs what stopped it,
and leaves no lock behind: SIGHUP (a closed terminal or ssh), the output pipe closing (`| tee`
killed), and Ctrl-C through `| tee` — under python and under `torchrun --nproc_per_node=2`.
Under torchrun a failing run prints its one message once, from rank 0, with the documented status.
All through the real scripts, on real period text, with the tiny preset."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from conftest import REPO
from training_runs import (LAUNCH, TORCHRUN, TRAIN_SLM, assert_stopped_with_checkpoint, kill_quietly, make_inputs,
                           ok, run, stop_of, tiny_flags, wait_for_step)

LONG = 400  # steps: far more than a test waits for; every run here is stopped


@pytest.fixture(scope="module")
def inputs(small_documents, tmp_path_factory) -> dict:
    return make_inputs(small_documents, tmp_path_factory.mktemp("stops"))  # the session's pretokenized data


def command(kind: str, inputs: dict, out, log_file) -> list[str]:
    flags = [*tiny_flags(inputs, LONG), "--output_dir", str(out), "--log_file", str(log_file)]
    if kind == "python":
        return [sys.executable, str(TRAIN_SLM), *flags]
    return [*TORCHRUN, "--nproc_per_node=2", str(TRAIN_SLM), *flags]


KINDS = ["python", pytest.param("torchrun", marks=pytest.mark.slow)]


@pytest.mark.parametrize("kind", KINDS)
def test_sighup_saves_and_exits(kind, inputs, tmp_path):
    out, log_file = tmp_path / "run", tmp_path / "train.log"
    with open(tmp_path / "console.txt", "w") as console:
        proc = subprocess.Popen(command(kind, inputs, out, log_file), cwd=tmp_path, stdout=console,
                                stderr=subprocess.STDOUT)
        try:
            wait_for_step(out, 3, [proc])
            proc.send_signal(signal.SIGHUP)  # torchrun passes it on to both workers
            proc.wait(timeout=120)
        finally:
            kill_quietly(proc)
    assert_stopped_with_checkpoint(out, log_file, "SIGHUP")
    console = (tmp_path / "console.txt").read_text()
    assert str(REPO / "london_llm") not in console, console[-4000:]  # no traceback through our code
    if kind == "python":
        assert proc.returncode == 0 and "Traceback" not in console, console[-3000:]


@pytest.mark.parametrize("kind", KINDS)
def test_a_closed_output_pipe_saves_and_exits(kind, inputs, tmp_path):
    """`... 2>&1 | tee train.txt`, and tee dies: the run keeps logging to its file, saves and stops."""
    out, log_file = tmp_path / "run", tmp_path / "train.log"
    proc = subprocess.Popen(command(kind, inputs, out, log_file), cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    tee = subprocess.Popen(["tee", str(tmp_path / "tee.txt")], stdin=proc.stdout, stdout=subprocess.DEVNULL)
    proc.stdout.close()  # only tee reads the pipe now
    try:
        wait_for_step(out, 3, [proc, tee])
        tee.kill()
        tee.wait(timeout=30)
        proc.wait(timeout=120)
    finally:
        kill_quietly(proc, tee)
    step = assert_stopped_with_checkpoint(out, log_file, "broken pipe")
    assert step < LONG and proc.returncode == 0, proc.returncode


@pytest.mark.parametrize("kind", KINDS)
def test_ctrl_c_through_tee_saves_and_exits(kind, inputs, tmp_path):
    """Ctrl-C in a terminal reaches the whole pipeline: the trainer (and torchrun) and tee alike.
    Under torchrun each worker gets SIGINT twice (the terminal's, then torchrun's): still one stop. Which
    reaches the trainer first, its SIGINT or the broken pipe of the tee that Ctrl-C killed, is a race: either
    is a clean stop at a saved step."""
    out, log_file = tmp_path / "run", tmp_path / "train.log"
    line = " ".join(f"'{word}'" for word in command(kind, inputs, out, log_file))
    shell = subprocess.Popen(["bash", "-c", f"{line} 2>&1 | tee '{tmp_path / 'tee.txt'}'"], cwd=tmp_path,
                             start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_step(out, 3, [shell])
        os.killpg(shell.pid, signal.SIGINT)
        shell.wait(timeout=120)
    finally:
        if shell.poll() is None:
            os.killpg(shell.pid, signal.SIGKILL)
    assert_stopped_with_checkpoint(out, log_file, "SIGINT", "broken pipe")


def sigterm_console(cmd: list, cwd, out, **env: str) -> tuple[str, str]:
    """Start `cmd`, SIGTERM it at step 3, and return its console and its line with "to resume:"."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, **env))
    try:
        wait_for_step(out, 3, [proc])
        proc.send_signal(signal.SIGTERM)
        console, _ = proc.communicate(timeout=120)
    finally:
        kill_quietly(proc)
    advice = next(line for line in console.splitlines() if "to resume:" in line.lower())
    return console, advice


@pytest.mark.parametrize("how", ["python --fresh", "launcher"])
def test_the_stop_message_gives_the_command_that_really_resumes(how, inputs, tmp_path):
    """After a --fresh run the same command would start over: the message says what really resumes; after
    a launcher, the resume script with the checkpoint's name."""
    out, log_file = tmp_path / "run", tmp_path / "train.log"
    if how == "launcher":
        cmd = [str(LAUNCH), *tiny_flags(inputs, LONG), "--output_dir", str(out), "--log_file", str(log_file)]
        console, advice = sigterm_console(cmd, tmp_path, out, LONDON_LLM_PYTHON=sys.executable)
        _, path = stop_of(console)
        assert f"./resume_training.sh {path}" in advice, advice
        assert "Traceback" not in console, console[-3000:]
        return
    console, advice = sigterm_console([*command("python", inputs, out, log_file), "--fresh"], tmp_path, out)
    step, _ = stop_of(console)
    assert "rerun the same command" not in advice and "--fresh" not in advice.split("resume:", 1)[1], advice
    assert f"--resume_from_checkpoint {out / f'checkpoint-{step}'}" in advice or "without --fresh" in advice, advice
    resumed = ok(run([*command("python", inputs, out, log_file), "--max_steps", str(step + 1)], cwd=tmp_path))
    assert f"at step {step}" in resumed and "Resumed from" in resumed


@pytest.mark.slow
def test_a_failing_torchrun_run_prints_its_message_once(inputs, tmp_path):
    """The guide's `torchrun ... --resume_from_checkpoint checkpoint-7465` (no such checkpoint), and a second run
    while one holds the lock: rank 0 says why once, rank 1 leaves quietly; the launcher exits 2."""
    out = tmp_path / "run"
    ok(run([sys.executable, TRAIN_SLM, *tiny_flags(inputs, 5), "--output_dir", out], cwd=tmp_path))
    flags = [*tiny_flags(inputs, 8), "--output_dir", str(out)]
    plain = run([*TORCHRUN, "--nproc_per_node=2", TRAIN_SLM, *flags, "--resume_from_checkpoint", "checkpoint-7465"],
                cwd=tmp_path)
    said = [line for line in plain.stdout.splitlines() if "Checkpoint not found: 'checkpoint-7465'" in line]
    assert len(said) == 2 and said[1].lstrip().startswith("traceback :"), plain.stdout  # ours, then torchrun's
    for noise in ("gloo", "DistBackendError", "Connection closed", str(REPO / "london_llm")):
        assert noise not in plain.stdout, plain.stdout
    assert plain.returncode == 1 and "exitcode  : 2" in plain.stdout, plain.stdout  # torchrun's own summary

    launched = run([LAUNCH, "--nproc_per_node", "2", *flags], cwd=tmp_path)  # --fresh: moves the old run aside
    assert launched.returncode == 0, launched.stdout[-3000:]
    from london_llm.training.runlock import RunLock

    with RunLock(out):  # this test process is the live run
        locked = run([LAUNCH, "--nproc_per_node", "2", *flags], cwd=tmp_path)
    assert locked.returncode == 2, locked.stdout
    assert locked.stdout.count("Another training run is writing to") == 1, locked.stdout
    assert "Traceback" not in locked.stdout and "ChildFailedError" not in locked.stdout, locked.stdout
