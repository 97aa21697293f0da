"""01_environment/setup_environment.py --check: a true report, from any directory."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import REPO

SCRIPT = REPO / "01_environment" / "setup_environment.py"


def _check(cwd, home):
    env = {**os.environ, "LONDON_LLM_HOME": str(home)}
    return subprocess.run([sys.executable, str(SCRIPT), "--check"], cwd=cwd, env=env,
                          capture_output=True, text=True)


def test_check_reports_this_machine_and_exits_zero(tmp_path):
    result = _check(REPO, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert torch.__version__ in out
    assert ("CPU build" in out) == (torch.version.cuda is None)
    assert f"GPUs                   {torch.cuda.device_count()}" in out
    assert f"CPU cores              {os.cpu_count()}" in out
    assert "RAM" in out and "disk" in out


def test_check_finds_the_same_paths_from_another_directory(tmp_path):
    def stable(out):  # free disk space may move between the two runs; everything else must not
        return [line for line in out.splitlines() if "] disk" not in line]
    here = _check(REPO, tmp_path).stdout
    elsewhere = _check(tmp_path, tmp_path).stdout
    assert stable(here) == stable(elsewhere)
    assert f"Artifact root: {tmp_path}" in here


def test_check_sees_artifacts_that_exist(tmp_path):
    docs = tmp_path / "data/london_historical/processed/documents.jsonl"
    docs.parent.mkdir(parents=True)
    docs.write_text("{}\n")
    out = _check(tmp_path, tmp_path).stdout
    assert f"[yes] 02 cleaned documents: {docs}" in out
    assert "[ no] 03 tokenizer" in out


def test_help_documents_every_flag():
    out = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True).stdout
    for flag in ("--check", "--env_dir", "--requirements", "--home"):
        assert flag in out


def test_the_project_is_installed_editable_without_touching_the_pins(tmp_path):
    """create_environment installs requirements, then `pip install -e ROOT --no-deps` (recorded by a
    stand-in python that logs its arguments), so the pins come from requirements.txt alone."""
    from london_llm.environment import create_environment

    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    calls = tmp_path / "calls.txt"
    fake = env / "bin" / "python"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    fake.chmod(0o755)
    create_environment(env, REPO / "requirements.txt", project=REPO, upgrade_pip=False)
    lines = calls.read_text().splitlines()
    assert lines[0] == f"-m pip install -q -r {REPO / 'requirements.txt'}"
    assert lines[-1].startswith("-m pip install -q --no-deps") and lines[-1].endswith(f"-e {REPO}")
    assert "--no-build-isolation" in lines[-1]  # the stand-in "has" setuptools: its import check exits 0


def test_a_shared_environment_keeps_the_other_checkouts_install(tmp_path):
    """LONDON_LLM_VENV=<main>/helloLondon ./run.sh in a worktree, with requirements.txt changed since the
    environment was made, re-pointed the shared environment's editable london_llm at the worktree: the
    main checkout's own commands then ran the worktree's code."""
    import json

    from london_llm.environment import create_environment

    main = tmp_path / "main"
    main.mkdir()
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    calls = tmp_path / "calls.txt"
    url = json.dumps({"url": main.as_uri(), "dir_info": {"editable": True}})
    fake = env / "bin" / "python"  # answers the metadata query as an environment installed from `main` would
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> {calls}\n"
                    f"case \"$2\" in *direct_url*) echo '{url}';; esac\n")
    fake.chmod(0o755)
    create_environment(env, REPO / "requirements.txt", project=REPO, upgrade_pip=False)
    assert not [line for line in calls.read_text().splitlines() if "-e " in line]  # no editable re-install
    main.rmdir()  # the checkout it pointed at is gone: install this one
    create_environment(env, REPO / "requirements.txt", project=REPO, upgrade_pip=False)
    assert calls.read_text().splitlines()[-1].endswith(f"-e {REPO}")


def test_checkpoints_are_reported_per_model_not_by_folder(tmp_path):
    """After ./run.sh trained tiny on a CPU, the report said "[yes] 04 regular checkpoints" (the regular
    model's folder is the others' parent) and nothing of tiny's tokenizer or checkpoints."""
    models = tmp_path / "09_models"
    (models / "checkpoints" / "tiny" / "checkpoint-60").mkdir(parents=True)
    (models / "checkpoints" / "tiny" / "checkpoint-120").mkdir()
    (models / "tokenizers" / "london_historical_tokenizer_tiny").mkdir(parents=True)
    (models / "tokenizers" / "london_historical_tokenizer_tiny" / "tokenizer.json").write_text("{}")
    out = _check(tmp_path, tmp_path).stdout
    assert f"[ no] 04 regular checkpoints: {models / 'checkpoints' / 'checkpoint-N'}" in out, out
    assert "[ no] 04 SLM checkpoints" in out
    assert f"[yes] 04 tiny checkpoints: {models / 'checkpoints' / 'tiny' / 'checkpoint-120'}" in out, out
    assert "[yes] 03 tiny tokenizer" in out and "[ no] 03 tokenizer:" in out


def test_a_python_older_than_the_pins_is_refused_before_anything_is_made(tmp_path, monkeypatch):
    """The guide says Python 3.8+; torch 2.13 and pyproject.toml need 3.10: the set-up says so in one
    line instead of creating an environment pip cannot fill, and the check reports the same need."""
    from london_llm import environment

    too_old = r"Python 3\.9\.18 is too old: this project needs 3\.10\+"
    with pytest.raises(environment.EnvironmentSetupError, match=too_old):
        environment.require_python((3, 9, 18))
    environment.require_python((3, 10, 0))
    real = environment.require_python
    monkeypatch.setattr(environment, "require_python", lambda: real((3, 8, 10)))
    with pytest.raises(environment.EnvironmentSetupError, match="3.8.10 is too old"):
        environment.create_environment(tmp_path / "env", REPO / "requirements.txt", upgrade_pip=False)
    assert not (tmp_path / "env").exists()
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert f'requires-python = ">={".".join(map(str, environment.MIN_PYTHON))}"' in pyproject


def test_a_venv_without_pip_is_one_line_naming_python3_venv_and_leaves_nothing(tmp_path, monkeypatch):
    """Ubuntu/Debian without python3-venv: ensurepip fails inside venv; the half-made folder (whose python
    a rerun would take for a working environment) is removed."""
    import subprocess as sp

    from london_llm import environment

    def no_ensurepip(self, env_dir):
        (Path(env_dir) / "bin").mkdir(parents=True)
        (Path(env_dir) / "bin" / "python").write_text("")
        raise sp.CalledProcessError(1, ["python", "-Im", "ensurepip", "--upgrade", "--default-pip"])

    monkeypatch.setattr(environment.venv.EnvBuilder, "create", no_ensurepip)
    env = tmp_path / "env"
    with pytest.raises(environment.EnvironmentSetupError) as err:
        environment.create_environment(env, REPO / "requirements.txt", upgrade_pip=False)
    assert "sudo apt install python3-venv" in str(err.value) and "\n" not in str(err.value)
    assert not env.exists()


def test_a_failed_install_is_one_line_and_exit_2_through_the_script(tmp_path):
    """pip failing (no network, no wheel) ends the set-up with one line, not a CalledProcessError traceback."""
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    fake = env / "bin" / "python"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    done = subprocess.run([sys.executable, str(SCRIPT), "--env_dir", str(env)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("ERROR: installing into") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr and "exit 1" in done.stderr
