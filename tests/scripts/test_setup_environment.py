"""01_environment/setup_environment.py --check: a true report, from any directory."""
import os
import subprocess
import sys

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
