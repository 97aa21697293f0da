"""A run's identity (model, output folder, tokenizer, lineage) travels in its checkpoints: a resume from
another model's or another folder's checkpoint is refused, naming what to run, and touches nothing;
with --branch (or by going back to an older checkpoint of the same folder) it continues as a new
branch, and metrics.jsonl keeps every branch's history, which the status and plot scripts tell apart.
Through the real scripts, on real period text, with the tiny preset."""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import pytest

from training_runs import (PLOT, STATUS, TRAIN_REGULAR, TRAIN_SLM, make_inputs, metric_lines, ok, run,
                           tiny_flags, train_in_process)

STEPS = 12


@pytest.fixture(scope="module")
def inputs(small_documents, tmp_path_factory) -> dict:
    return make_inputs(small_documents, tmp_path_factory.mktemp("identity"))


@pytest.fixture(scope="module")
def first(inputs) -> Path:
    """A finished 12-step tiny run (checkpoints 5, 10, 12): the run others try to take over."""
    out = inputs["root"] / "first"
    ok(run([sys.executable, TRAIN_SLM, *tiny_flags(inputs, STEPS), "--output_dir", out], cwd=inputs["root"]))
    return out


@pytest.fixture(scope="module")
def other(inputs) -> Path:
    """A finished 6-step tiny run in another folder. The refusal test (first in this file) asserts it
    changes nothing in it; the branch test after it then continues first's checkpoint there."""
    out = inputs["root"] / "other"
    ok(run([sys.executable, TRAIN_SLM, *tiny_flags(inputs, 6), "--output_dir", out], cwd=inputs["root"]))
    return out


def state(checkpoint: Path) -> dict:
    return json.loads((checkpoint / "trainer_state.json").read_text())


def losses(records: list[dict]) -> dict[int, float]:
    return {r["step"]: r["train/loss"] for r in records if r["kind"] == "train"}


def snapshot(folder: Path) -> tuple[bytes, list[str]]:
    return (folder / "metrics.jsonl").read_bytes(), sorted(p.name for p in folder.iterdir())


def test_checkpoints_record_the_runs_identity(first, inputs):
    run_id = state(first / "checkpoint-12")["run"]
    assert run_id["model"] == "tiny" and Path(run_id["output_dir"]) == first
    assert run_id["tokenizer_sha256"] == hashlib.sha256((inputs["tokenizer"] / "tokenizer.json").read_bytes()).hexdigest()
    assert run_id["lineage"] == [] and run_id["branch"] and run_id["id"]
    assert state(first / "checkpoint-5")["run"] == run_id  # one run, one branch, from its first checkpoint on
    assert {r["branch"] for r in metric_lines(first)} == {run_id["branch"]}


def test_another_models_or_folders_checkpoint_is_refused_and_changes_nothing(first, other, inputs, capsys):
    before = {first: snapshot(first), other: snapshot(other)}

    # the repro: the regular script handed the slm (here: tiny) model's checkpoint by path
    # (both refusals run the scripts' main in this process: the doors are run as subprocesses elsewhere)
    wrong_model = train_in_process(capsys, *tiny_flags(inputs, 14), "--model", "regular", "--output_dir", other,
                                   "--resume_from_checkpoint", first / "checkpoint-10", script=TRAIN_REGULAR)
    assert wrong_model.returncode == 2, wrong_model.stdout
    error = [line for line in wrong_model.stdout.splitlines() if "ERROR" in line]
    assert len(error) == 1 and "'tiny' model" in error[0] and "--model tiny" in error[0], wrong_model.stdout
    assert "train_model_slm.py" in error[0] and "--branch" in error[0], error[0]

    # the same model, another run's folder
    wrong_folder = train_in_process(capsys, *tiny_flags(inputs, 14), "--output_dir", other,
                                    "--resume_from_checkpoint", first / "checkpoint-10")
    assert wrong_folder.returncode == 2, wrong_folder.stdout
    error = [line for line in wrong_folder.stdout.splitlines() if "ERROR" in line]
    assert len(error) == 1 and str(first) in error[0] and "--branch" in error[0], wrong_folder.stdout
    assert {first: snapshot(first), other: snapshot(other)} == before  # byte-identical metrics, same files


def test_branch_flag_continues_another_folders_checkpoint_as_a_new_branch(first, other, inputs, tmp_path):
    old_metrics = (other / "metrics.jsonl").read_bytes()
    old_branch = state(other / "checkpoint-6")["run"]["branch"]
    out = ok(run([sys.executable, TRAIN_SLM, *tiny_flags(inputs, STEPS), "--output_dir", other, "--branch",
                  "--resume_from_checkpoint", first / "checkpoint-10"], cwd=tmp_path))
    assert "new branch" in out
    new = state(other / "checkpoint-12")["run"]
    parent = state(first / "checkpoint-10")["run"]
    assert new["branch"] not in (old_branch, parent["branch"]) and Path(new["output_dir"]) == other
    fork = new["lineage"][-1]
    assert fork["step"] == 10 and Path(fork["output_dir"]) == first and fork["branch"] == parent["branch"]
    text = (other / "metrics.jsonl").read_bytes()
    assert text.startswith(old_metrics)  # the folder's own history is kept, byte for byte
    added = [r for r in metric_lines(other) if r["branch"] == new["branch"]]
    assert losses(added) == {s: v for s, v in losses(metric_lines(first)).items() if s > 10}  # an exact continuation


def test_going_back_to_an_older_checkpoint_keeps_both_histories(first, inputs, tmp_path):
    folder = tmp_path / "branched"
    shutil.copytree(first, folder, ignore=shutil.ignore_patterns("*.lock"))
    before = (folder / "metrics.jsonl").read_bytes()
    old_branch = state(folder / "checkpoint-12")["run"]["branch"]
    out = ok(run([sys.executable, TRAIN_SLM, *tiny_flags(inputs, STEPS), "--output_dir", folder,
                  "--resume_from_checkpoint", "checkpoint-5"], cwd=tmp_path))
    assert "later checkpoint(s) of the abandoned branch" in out and "new branch" in out
    assert (folder / "metrics.jsonl").read_bytes().startswith(before)  # nothing truncated
    new = state(folder / "checkpoint-12")["run"]
    assert new["branch"] != old_branch and new["lineage"][-1]["step"] == 5
    records = metric_lines(folder)
    assert losses([r for r in records if r["branch"] == old_branch]) == losses(metric_lines(first))
    assert losses([r for r in records if r["branch"] == new["branch"]]) == {
        s: v for s, v in losses(metric_lines(first)).items() if s > 5}

    status = ok(run([sys.executable, STATUS, "--output_dir", folder, "--model", "tiny"], cwd=tmp_path))
    assert f"branch          {new['branch']}" in status, status
    assert old_branch in status and "abandoned" in status, status
    plots = ok(run([sys.executable, PLOT, "--output_dir", folder, "--out_dir", tmp_path / "plots"], cwd=tmp_path))
    assert new["branch"] in plots and old_branch in plots and "abandoned" in plots, plots
    assert list((tmp_path / "plots").glob("*.png"))


def _strip_identity(checkpoint: Path) -> None:
    """Make a checkpoint look like one written before runs had an identity (manifest kept valid)."""
    saved = state(checkpoint)
    saved.pop("run")
    data = (json.dumps(saved, indent=2) + "\n").encode()
    (checkpoint / "trainer_state.json").write_bytes(data)
    manifest = json.loads((checkpoint / "manifest.json").read_text())
    manifest["files"]["trainer_state.json"] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (checkpoint / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def test_a_checkpoint_without_identity_still_resumes(first, inputs, tmp_path):
    folder = tmp_path / "old"
    shutil.copytree(first, folder, ignore=shutil.ignore_patterns("*.lock"))
    _strip_identity(folder / "checkpoint-12")
    legacy = [{k: v for k, v in r.items() if k != "branch"} for r in metric_lines(folder)]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in legacy))
    out = ok(run([sys.executable, TRAIN_SLM, *tiny_flags(inputs, 14), "--output_dir", folder], cwd=tmp_path))
    assert "Resumed from" in out and "at step 12" in out
    assert state(folder / "checkpoint-14")["run"]["model"] == "tiny"
    assert [r["step"] for r in metric_lines(folder) if r["kind"] == "train"] == list(range(1, 15))
    status = ok(run([sys.executable, STATUS, "--output_dir", folder, "--model", "tiny"], cwd=tmp_path))
    assert "14 / 14" in status, status


def test_a_relative_checkpoint_path_follows_one_rule_in_the_resume_script(tmp_path):
    """With LONDON_LLM_HOME set, the guide's 09_models/... path works from any folder (current folder first,
    then the artifact root), as it does for the training scripts (training.checkpoint.resolve)."""
    from run_records import make_checkpoint

    from training_runs import RESUME

    home = tmp_path / "home"
    saved = make_checkpoint(home / "09_models" / "checkpoints" / "slm", 130, 3.0)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = run([RESUME, "09_models/checkpoints/slm/checkpoint-130", "--dry_run"], cwd=elsewhere,
              LONDON_LLM_HOME=str(home))
    assert out.returncode == 0 and f"--resume_from_checkpoint {saved}" in out.stdout, out.stdout
