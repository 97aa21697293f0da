"""10_scripts/training_status.py and plot_training.py, run as a user runs them, from another directory."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO
from london_llm.training.plots import PLOTS
from run_records import make_checkpoint, records, write_log


def run_script(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "10_scripts" / name), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_scripts_document_every_flag():
    for name, flags in [("training_status.py", ["--model", "--home", "--output_dir", "--max_steps", "--watch",
                                                  "--list_checkpoints", "--locate"]),
                        ("plot_training.py", ["--model", "--home", "--output_dir", "--metrics", "--out_dir", "--title"])]:
        out = run_script(name, "--help", cwd=REPO)
        assert out.returncode == 0
        for flag in flags:
            assert flag in out.stdout, (name, flag)


@pytest.mark.slow
def test_status_and_plot_scripts_on_a_run_folder_from_another_directory(tmp_path):
    home = tmp_path / "home"
    run_dir = home / "09_models" / "checkpoints" / "tiny"
    write_log(run_dir / "metrics.jsonl", records(1, 100))
    make_checkpoint(run_dir, 100, 4.2, max_steps=400)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = run_script("training_status.py", "--model", "tiny", "--home", str(home), cwd=elsewhere)
    assert out.returncode == 0, out.stderr
    assert "tiny training" in out.stdout and "STOPPED" in out.stdout
    assert "100 / 400 (25.0%)" in out.stdout, "total steps come from the checkpoint's recorded configuration"
    assert f"./resume_training.sh {run_dir / 'checkpoint-100'}" in out.stdout
    out = run_script("plot_training.py", "--model", "tiny", "--home", str(home), cwd=elsewhere)
    assert out.returncode == 0, out.stderr
    pngs = sorted(Path(p).name for p in out.stdout.split())
    assert pngs == sorted([f"{n}.png" for n in PLOTS] + ["training_overview.png"])
    assert all((run_dir / "plots" / n).is_file() for n in pngs)


def test_plot_script_without_a_log_says_which_file_and_exits_2(tmp_path):
    out = run_script("plot_training.py", "--output_dir", str(tmp_path), cwd=tmp_path)
    assert out.returncode == 2
    assert f"no metrics log at {tmp_path / 'metrics.jsonl'}" in out.stderr
    write_log(tmp_path / "metrics.jsonl", [])
    out = run_script("plot_training.py", "--output_dir", str(tmp_path), cwd=tmp_path)
    assert out.returncode == 2 and "holds no metric records yet" in out.stderr


@pytest.mark.slow
def test_status_script_lists_checkpoints_of_every_model(tmp_path):
    home = tmp_path / "home"
    make_checkpoint(home / "09_models" / "checkpoints" / "slm", 500, 3.25)
    make_checkpoint(home / "09_models" / "checkpoints", 250, 3.5)
    out = run_script("training_status.py", "--home", str(home), "--list_checkpoints", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    slm_row = next(l for l in lines if "checkpoint-500" in l)
    assert "3.2500" in slm_row and "ok" in slm_row and time.strftime("%Y-%m-%d") in slm_row
    assert any("checkpoint-250" in l and "3.5000" in l for l in lines)
    assert "tiny" not in out.stdout, "the test preset is listed only when it has checkpoints"


@pytest.mark.slow
def test_status_watch_redraws_until_ctrl_c(tmp_path):
    import signal

    write_log(tmp_path / "metrics.jsonl", records(1, 100))
    # A job started in the background by a non-interactive shell inherits SIGINT ignored, and Python
    # then installs no Ctrl-C handler: give the script the terminal's default, as a user's has.
    proc = subprocess.Popen([sys.executable, str(REPO / "10_scripts" / "training_status.py"), "--output_dir",
                             str(tmp_path), "--watch", "0.2"], stdout=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        screens = 0
        for line in proc.stdout:
            screens += "slm training" in line
            if screens == 2:
                break
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert screens == 2
