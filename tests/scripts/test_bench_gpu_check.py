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
    for line in text.splitlines():
        for name, help_text in helps.items():
            if f"bench/{name}" in line:
                flags = [w for w in line.replace("\\", " ").split() if w.startswith("--")]
                missing = [f for f in flags if f not in help_text]
                assert not missing, (name, missing)
