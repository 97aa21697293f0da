"""launch_training.sh and resume_training.sh, run as a user runs them: from other directories, on
this GPU-less machine, training the tiny preset on real period text."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO
from london_llm.training import checkpoint
from training_runs import shared_tokenizer

pytestmark = pytest.mark.slow  # every test here trains or launches a real run

LAUNCH = REPO / "launch_training.sh"
RESUME = REPO / "resume_training.sh"


def sh(script: Path, *args: str, cwd: Path, check: bool = True, **env: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, LONDON_LLM_PYTHON=sys.executable)
    environment.update(env)
    result = subprocess.run([str(script), *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                            env=environment)
    if check:
        assert result.returncode == 0, f"{script.name} {args}\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result


@pytest.fixture(scope="module")
def inputs(small_documents, tmp_path_factory) -> list[str]:
    """Flags for a few-second tiny run on real documents with a small tokenizer trained on them."""
    root = tmp_path_factory.mktemp("launch_inputs")
    tok = shared_tokenizer(small_documents, root)
    return ["--tokenizer_dir", str(tok), "--documents_file", str(small_documents),
            "--data_dir", str(root / "pretokenized"), "--no_wandb", "--max_steps", "4", "--batch_size", "4",
            "--logging_steps", "2", "--eval_steps", "4", "--save_steps", "4", "--eval_iters", "1",
            "--workers", "1"]


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    d = tmp_path / "some" / "other" / "folder"
    d.mkdir(parents=True)
    return d


def fake_nvidia_smi(folder: Path, gpus: int) -> Path:
    """An nvidia-smi that lists `gpus` GPUs, as on a machine whose torch is a CPU build."""
    folder.mkdir(parents=True, exist_ok=True)
    tool = folder / "nvidia-smi"
    tool.write_text("#!/bin/sh\n" + "".join(f"echo {i}\n" for i in range(gpus)), encoding="utf-8")
    tool.chmod(0o755)
    return folder


# --- launch_training.sh --------------------------------------------------------------------------

def test_launcher_trains_fresh_from_another_directory_on_the_cpu(inputs, tmp_path, elsewhere):
    home = tmp_path / "home"
    out = sh(LAUNCH, "--model", "tiny", "--home", str(home), *inputs, cwd=elsewhere)
    assert "Starting FRESH training of the 'tiny' model on 1 CPU process(es) (gloo), from step 0 (--fresh)" in out.stderr
    assert "--nproc_per_node=1" in out.stderr and "--fresh" in out.stderr
    run_dir = home / "09_models" / "checkpoints" / "tiny"
    assert checkpoint.verify(run_dir / "checkpoint-4") is None
    assert checkpoint.read_trainer_state(run_dir / "checkpoint-4")["world_size"] == 1
    assert (home / "04_training" / "model_training.log").is_file()

    # launching again warns that it will not resume what is there
    again = sh(LAUNCH, "--model", "tiny", "--home", str(home), "--dry_run", cwd=elsewhere)
    assert "already holds 1 checkpoint(s); this run does NOT resume them" in again.stderr
    assert "To continue instead: ./resume_training.sh" in again.stderr


def test_launcher_help_documents_its_flags_and_the_training_flags(elsewhere):
    out = sh(LAUNCH, "--help", cwd=elsewhere)
    for flag in ("--model", "--nproc_per_node", "--nnodes", "--node_rank", "--rdzv_endpoint", "--dry_run",
                 "FRESH", "resume_training.sh", "--max_steps", "--no_wandb", "--batch_size"):
        assert flag in out.stdout, flag


def test_launcher_runs_one_cpu_process_when_torch_sees_no_gpu(tmp_path, elsewhere):
    """nvidia-smi lists GPUs but this torch cannot use them: say so and train on the CPU."""
    bin_dir = fake_nvidia_smi(tmp_path / "bin", 2)
    out = sh(LAUNCH, "--dry_run", cwd=elsewhere, PATH=f"{bin_dir}:{os.environ['PATH']}")
    assert "nvidia-smi lists 2 GPU(s) but torch sees none" in out.stderr
    assert "--nproc_per_node=1 --shutdown_timeout=120 --standalone" in out.stderr
    assert f"{REPO / '04_training' / 'train_model_slm.py'} --model slm --fresh" in out.stderr


def test_launcher_commands_for_regular_several_processes_and_several_nodes(elsewhere):
    out = sh(LAUNCH, "--model", "regular", "--nproc_per_node", "2", "--dry_run", "--batch_size", "1", cwd=elsewhere)
    assert "/10_scripts/torchrun_launch.py --nproc_per_node=2 --shutdown_timeout=120 --standalone" in out.stderr
    assert f"{REPO / '04_training' / 'train_model.py'} --model regular --fresh --batch_size 1" in out.stderr
    out = sh(LAUNCH, "--nnodes", "2", "--rdzv_endpoint", "10.0.0.1:29500", "--dry_run", cwd=elsewhere)
    assert "--nnodes=2 --rdzv_backend=c10d --rdzv_endpoint=10.0.0.1:29500 --rdzv_id=london_llm " in out.stderr
    assert "on each of 2 nodes" in out.stderr and "--standalone" not in out.stderr
    # a fixed node rank means the static rendezvous (torchrun ignores --node_rank under c10d)
    out = sh(LAUNCH, "--nnodes", "2", "--node_rank", "1", "--rdzv_endpoint", "10.0.0.1:29500", "--dry_run",
             cwd=elsewhere)
    assert "--nnodes=2 --rdzv_backend=static --rdzv_endpoint=10.0.0.1:29500 --node_rank=1 " in out.stderr


def test_launcher_refuses_what_it_cannot_do_with_one_message(elsewhere, tmp_path):
    cases = [(["--resume_from_checkpoint", "checkpoint-500"], "always starts fresh. To resume: ./resume_training.sh"),
             (["--model", "huge"], "unknown --model 'huge': choose slm, regular or tiny"),
             (["--nnodes", "2", "--dry_run"], "--nnodes 2 needs --rdzv_endpoint"),
             (["--nproc_per_node", "two"], "take whole numbers, not 'two'"),
             (["--nnodes", "2", "--node_rank", "2", "--rdzv_endpoint", "h:1", "--dry_run"],
              "--node_rank 2 must be below --nnodes 2")]
    for args, message in cases:
        out = sh(LAUNCH, *args, cwd=elsewhere, check=False)
        assert out.returncode == 2 and message in out.stderr, (args, out.stderr)
    out = sh(LAUNCH, "--dry_run", cwd=elsewhere, check=False, LONDON_LLM_PYTHON=str(tmp_path / "nope"))
    assert out.returncode == 2 and "LONDON_LLM_PYTHON" in out.stderr and "not an executable" in out.stderr


def test_launcher_works_through_a_link_from_the_training_folder(elsewhere):
    """The guide also says `cd 04_training && ./launch_training.sh`."""
    link = REPO / "04_training" / "launch_training.sh"
    assert link.is_symlink() and link.resolve() == LAUNCH
    out = sh(link, "--dry_run", cwd=REPO / "04_training")
    assert f"{REPO / '04_training' / 'train_model_slm.py'}" in out.stderr
    # ... and its Training Recovery section, still in 04_training, `./resume_training.sh [checkpoint-N]`
    resume = REPO / "04_training" / "resume_training.sh"
    assert resume.is_symlink() and resume.resolve() == RESUME
    assert "resume_training.sh checkpoint-N" in sh(resume, "--help", cwd=REPO / "04_training").stdout


# --- resume_training.sh --------------------------------------------------------------------------

def test_resume_script_lists_both_models_checkpoints_from_another_directory(tmp_path, elsewhere):
    home = tmp_path / "home"
    # real checkpoint folders, written the way the trainer writes them
    from run_records import make_checkpoint
    make_checkpoint(home / "09_models" / "checkpoints" / "slm", 500, 3.4567)
    make_checkpoint(home / "09_models" / "checkpoints" / "slm", 1000, 3.2109)
    make_checkpoint(home / "09_models" / "checkpoints", 250, 3.9876)
    out = sh(RESUME, "--home", str(home), cwd=elsewhere)
    text = out.stdout
    assert f"slm: {home / '09_models' / 'checkpoints' / 'slm'}" in text
    assert f"regular: {home / '09_models' / 'checkpoints'}" in text
    today = time.strftime("%Y-%m-%d")
    for name, loss in (("checkpoint-500", "3.4567"), ("checkpoint-1000", "3.2109"), ("checkpoint-250", "3.9876")):
        row = next(line for line in text.splitlines() if name in line)
        assert loss in row and today in row and row.rstrip().endswith("ok"), row
    assert "Resume one with: ./resume_training.sh checkpoint-N" in text


def test_resume_script_finds_the_model_and_resumes_it(tmp_path, elsewhere):
    home = tmp_path / "home"
    from run_records import make_checkpoint
    regular_ckpt = make_checkpoint(home / "09_models" / "checkpoints", 250, 3.9)
    out = sh(RESUME, "checkpoint-250", "--home", str(home), "--dry_run", "--max_steps", "500", cwd=elsewhere)
    assert "Resuming the 'regular' model" in out.stderr
    assert (f"{REPO / '04_training' / 'train_model.py'} --model regular --resume_from_checkpoint {regular_ckpt} "
            f"--home {home} --max_steps 500 --output_dir {regular_ckpt.parent}") in out.stderr
    # flags may come first, with their values
    out = sh(RESUME, "--max_steps", "500", "--output_dir", str(tmp_path / "new"), "checkpoint-250", "--home", str(home),
             "--dry_run", cwd=elsewhere)
    assert (f"--resume_from_checkpoint {regular_ckpt} --max_steps 500 --output_dir {tmp_path / 'new'} "
            f"--home {home}") in out.stderr
    # the guide's spelling and a relative path work too
    assert "Resuming the 'regular' model" in sh(RESUME, "checkpoint-250.pt", "--home", str(home), "--dry_run",
                                                 cwd=elsewhere).stderr
    rel = os.path.relpath(regular_ckpt, elsewhere)
    assert f"--resume_from_checkpoint {regular_ckpt}" in sh(RESUME, rel, "--home", str(home), "--dry_run",
                                                          cwd=elsewhere).stderr


def test_resume_script_explains_what_is_wrong(tmp_path, elsewhere):
    home = tmp_path / "home"
    from run_records import make_checkpoint
    make_checkpoint(home / "09_models" / "checkpoints" / "slm", 500, 3.4)
    make_checkpoint(home / "09_models" / "checkpoints", 500, 3.9)
    cases = [(["checkpoint-7465"], "checkpoint not found: 'checkpoint-7465'"),
             (["checkpoint-500"], "exists for several models (slm, regular): pass --model"),
             (["checkpoint-500", "--fresh"], "to start over use ./launch_training.sh"),
             # a mistyped name, or flags alone, used to list the checkpoints and exit 0: the resume was dropped
             (["chekpoint-500"], "no checkpoint to resume in 'chekpoint-500'"),
             (["--max_steps", "900"], "no checkpoint to resume in '--max_steps 900'")]
    for args, message in cases:
        out = sh(RESUME, *args, "--home", str(home), "--dry_run", cwd=elsewhere, check=False)
        assert out.returncode == 2 and message in out.stderr, (args, out.stderr)
    out = sh(RESUME, "checkpoint-500", "--model", "slm", "--home", str(home), "--dry_run", cwd=elsewhere)
    assert "Resuming the 'slm' model" in out.stderr


def test_resume_help(elsewhere):
    out = sh(RESUME, "--help", cwd=elsewhere)
    for flag in ("checkpoint-N", "--model", "--home", "--nproc_per_node", "--nnodes", "--rdzv_endpoint", "--dry_run"):
        assert flag in out.stdout, flag


def test_status_sees_a_live_run_then_a_stopped_one(inputs, tmp_path, elsewhere):
    """training_status.py on a real run: RUNNING (the lock's owner) with an ETA, then STOPPED after
    SIGTERM with the command that resumes it."""
    import signal

    home = tmp_path / "home"
    run_dir = home / "09_models" / "checkpoints" / "tiny"
    proc = subprocess.Popen([str(LAUNCH), "--model", "tiny", "--home", str(home), *inputs, "--max_steps", "2000"],
                            cwd=elsewhere, env=dict(os.environ, LONDON_LLM_PYTHON=sys.executable),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    status = [sys.executable, str(REPO / "10_scripts" / "training_status.py"), "--model", "tiny", "--home", str(home)]
    try:
        deadline = time.time() + 120
        while not list(run_dir.glob("checkpoint-*")):  # its first checkpoint records the run's total
            assert proc.poll() is None and time.time() < deadline, "training did not start"
            time.sleep(0.1)
        live = subprocess.run(status, cwd=elsewhere, capture_output=True, text=True, timeout=60).stdout
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "tiny training" in live and "RUNNING (pid" in live, live
    first = min(run_dir.glob("checkpoint-*"), key=checkpoint.step_of)
    total = checkpoint.read_trainer_state(first)["total_steps"]  # 2000, or fewer when one epoch ends first
    assert f"/ {total:,} (" in live and "preset" not in live, live
    assert "ETA" in live and "s/step" in live, live
    stopped = subprocess.run(status, cwd=elsewhere, capture_output=True, text=True, timeout=60).stdout
    newest = max(run_dir.glob("checkpoint-*"), key=checkpoint.step_of)
    assert "STOPPED" in stopped and f"to resume       ./resume_training.sh {newest}" in stopped, stopped
