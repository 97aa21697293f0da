"""The launchers use the environment run.sh made: $LONDON_LLM_VENV is honoured as run.sh honours it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO


def fake_venv(root: Path) -> Path:
    """A virtual environment folder whose bin/python runs this test's interpreter."""
    (root / "bin").mkdir(parents=True)
    python = root / "bin" / "python"
    python.write_text(f'#!/bin/sh\necho ran >> "{root / "used"}"\nexec "{sys.executable}" "$@"\n',
                      encoding="utf-8")
    python.chmod(0o755)
    return python


def run(script: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("LONDON_LLM_PYTHON", "LONDON_LLM_VENV")}
    environment.update(env)
    return subprocess.run([str(REPO / script), "--model", "tiny", "--home", str(tmp_path / "home"), "--dry_run"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, env=environment)


@pytest.mark.parametrize("script", ["launch_training.sh", "resume_training.sh"])
def test_launchers_run_the_python_of_LONDON_LLM_VENV(tmp_path, script):
    python = fake_venv(tmp_path / "my env")
    out = run(script, tmp_path, LONDON_LLM_VENV=str(tmp_path / "my env"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "my env" / "used").is_file()  # the launcher ran this environment's python
    if script == "launch_training.sh":
        assert f"{python} {REPO / '10_scripts' / 'torchrun_launch.py'}" in out.stderr


def test_a_LONDON_LLM_VENV_without_python_is_refused_by_name(tmp_path):
    out = run("launch_training.sh", tmp_path, LONDON_LLM_VENV=str(tmp_path / "missing"))
    assert out.returncode == 2 and "LONDON_LLM_VENV" in out.stderr and "run.sh" in out.stderr
