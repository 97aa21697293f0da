"""bench/gpu_check.sh, on a machine without a GPU: refuses cleanly (message, exit code 3), quickly."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import torch

from conftest import REPO

SCRIPT = REPO / "bench" / "gpu_check.sh"


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is here: run bench/gpu_check.sh itself")
def test_gpu_check_refuses_without_a_gpu(tmp_path):
    env = dict(os.environ, LONDON_LLM_PYTHON=sys.executable)
    started = time.monotonic()
    out = subprocess.run([str(SCRIPT)], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 3, out.stdout + out.stderr
    assert "no CUDA GPU" in out.stderr and "nothing checked" in out.stderr
    assert "===" not in out.stdout  # no step was started
    assert time.monotonic() - started < 60


def test_gpu_check_steps_name_scripts_and_flags_that_exist():
    """The prepared script must not fail on a GPU machine for a typo: its files and flags exist."""
    text = SCRIPT.read_text(encoding="utf-8")
    for path in ("tests/training/test_cuda.py", "bench/bench_train.py", "bench/bench_distributed.py"):
        assert path in text and (REPO / path).is_file(), path
    helps = {name: subprocess.run([sys.executable, str(REPO / "bench" / name), "--help"], capture_output=True,
                                  text=True, timeout=120, env=dict(os.environ, PYTHONPATH=str(REPO))).stdout
             for name in ("bench_train.py", "bench_distributed.py")}
    for line in text.replace("\\\n", " ").splitlines():  # a command with its continuation lines
        for name, help_text in helps.items():
            if f"bench/{name}" in line:
                flags = [w for w in line.replace("\\", " ").split() if w.startswith("--")]
                missing = [f for f in flags if f not in help_text]
                assert not missing, (name, missing)


def test_gpu_check_runs_its_steps_in_order_within_its_budget(tmp_path):
    """On a (faked) GPU machine: every step starts, each with its limit cut to the budget left; a step
    that outlives it is ended and reported, later ones are skipped for time, and the exit code says so."""
    calls = tmp_path / "calls.log"
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "nvidia-smi").write_text("#!/bin/sh\necho 0\n")
    (fake / "python").write_text(f"""#!/bin/bash
echo "$*" >> {calls}
case "$*" in
  *device_count*) echo 1;;
  *"--model regular"*) exec sleep 60;;  # compiles for longer than the budget left
esac
exit 0
""")
    for f in fake.iterdir():
        f.chmod(0o755)
    env = dict(os.environ, LONDON_LLM_PYTHON=str(fake / "python"), PATH=f"{fake}:{os.environ['PATH']}",
               GPU_CHECK_BUDGET_S="12")
    started = time.monotonic()
    out = subprocess.run([str(SCRIPT)], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    took = time.monotonic() - started
    assert out.returncode == 1, out.stdout + out.stderr
    ran = calls.read_text().splitlines()
    assert any("tests/training/test_cuda.py" in c for c in ran)
    assert [("slm" if "--model slm" in c else "regular") for c in ran if "bench_train.py" in c] == ["slm", "regular"]
    assert "TIMED OUT after" in out.stdout and "--model regular" in out.stdout.split("TIMED OUT after")[1]
    assert "SKIPPED" in out.stdout and "not run, the budget (GPU_CHECK_BUDGET_S=12) spent" in out.stdout
    assert "2-process NCCL run: skipped (1 GPU)" in out.stdout
    assert took < 12 + 10 + 5  # the budget, timeout's kill grace, start-up
