"""london_llm.training.status: run status, liveness (the run lock) and checkpoint lookup."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from london_llm.training import checkpoint, metrics, status
from run_records import SEC_PER_STEP, make_checkpoint, records, write_log


def test_status_of_a_running_run_has_progress_eta_losses_and_newest_checkpoint(tmp_path):
    log = metrics.read_metrics(write_log(tmp_path / "metrics.jsonl", records(1, 100)))
    make_checkpoint(tmp_path, 50, 6.0)
    make_checkpoint(tmp_path, 100, 4.5)
    infos = checkpoint.list_checkpoints(tmp_path)
    st = status.run_status(log, infos, total_steps=200, running_owner="pid 42 on host, started now")
    assert st.state == "running" and st.step == 100
    assert st.eta_seconds == pytest.approx(100 * SEC_PER_STEP)
    assert st.newest_checkpoint.name == "checkpoint-100" and st.best_val_loss == pytest.approx(log.last("eval/val_loss"))
    text = status.format_status(st, "slm training", now=log.last_time + 5)
    assert "RUNNING (pid 42" in text and "100 / 200 (50.0%)" in text
    assert "ETA             0m 50s (0.50 s/step)" in text
    assert "checkpoint-100 (val loss 4.5000" in text and "2 kept" in text
    assert "last logged     0m 05s ago" in text
    assert "tokens/s        2,048   MFU 1.5%" in text, "MFU is logged as a fraction, shown in percent"


def test_status_after_the_run_distinguishes_finished_stopped_and_not_started(tmp_path):
    done = metrics.read_metrics(write_log(tmp_path / "a" / "metrics.jsonl", records(1, 200)))
    assert status.run_status(done, [], 200, None).state == "finished"
    half = metrics.read_metrics(write_log(tmp_path / "b" / "metrics.jsonl", records(1, 120)))
    st = status.run_status(half, [], 200, None)
    assert st.state == "stopped" and st.eta_seconds is None
    text = status.format_status(st, "slm", resume_hint="./resume_training.sh checkpoint-100")
    assert "STOPPED" in text and "to resume       ./resume_training.sh checkpoint-100" in text
    assert status.run_status(None, [], 200, None).state == "not started"
    guessed = status.run_status(half, [], 200, "pid 1", total_is_guess=True)
    assert "120 / 200 (60.0%)   (the preset's total" in status.format_status(guessed, "slm")


def test_an_incomplete_checkpoint_is_not_offered_as_the_newest(tmp_path):
    make_checkpoint(tmp_path, 50, 4.9)
    broken = make_checkpoint(tmp_path, 100, 4.1)
    (broken / checkpoint.WEIGHTS).write_bytes(b"truncated")
    st = status.run_status(None, checkpoint.list_checkpoints(tmp_path), 200, None)
    assert st.newest_checkpoint.name == "checkpoint-50" and st.step == 50 and st.state == "stopped"


def test_a_live_lock_means_running_and_a_dead_owners_lock_does_not(tmp_path):
    assert status.live_run_owner(tmp_path) is None
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; sys.path.insert(0, sys.argv[1]); from london_llm.training.runlock import RunLock;"
         "lock = RunLock(sys.argv[2]).acquire(); print('locked', flush=True); time.sleep(60)", str(REPO), str(tmp_path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        owner = status.live_run_owner(tmp_path)
        assert owner is not None and f"pid {holder.pid}" in owner
    finally:
        holder.kill()
        holder.wait()
    assert (tmp_path / "training.lock").exists(), "a killed run leaves its lock file behind"
    assert status.live_run_owner(tmp_path) is None, "but the kernel released its flock: not running"


@pytest.fixture
def model_dirs(tmp_path) -> dict[str, Path]:
    root = tmp_path / "09_models" / "checkpoints"
    dirs = {"slm": root / "slm", "regular": root, "tiny": root / "tiny"}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    (dirs["slm"] / "checkpoint-500").mkdir()
    (dirs["slm"] / "checkpoint-1000").mkdir()
    (dirs["regular"] / "checkpoint-250").mkdir()
    (dirs["regular"] / "checkpoint-500").mkdir()
    return dirs


def test_locate_by_name_finds_the_model(model_dirs):
    assert status.locate_checkpoint("checkpoint-1000", model_dirs) == ("slm", model_dirs["slm"] / "checkpoint-1000")
    assert status.locate_checkpoint("checkpoint-250.pt", model_dirs)[0] == "regular"  # the guide's spelling


def test_locate_an_ambiguous_name_asks_for_the_model(model_dirs):
    with pytest.raises(metrics.MonitorError, match="several models.*--model"):
        status.locate_checkpoint("checkpoint-500", model_dirs)
    assert status.locate_checkpoint("checkpoint-500", model_dirs, model="regular")[0] == "regular"


def test_locate_a_missing_name_lists_what_exists(model_dirs):
    with pytest.raises(metrics.MonitorError, match=r"checkpoint-42.*slm: checkpoint-500, checkpoint-1000"):
        status.locate_checkpoint("checkpoint-42", model_dirs)


def test_locate_by_path_relative_to_the_current_folder(model_dirs, tmp_path):
    model, path = status.locate_checkpoint("09_models/checkpoints/slm/checkpoint-500", model_dirs, cwd=tmp_path)
    assert (model, path) == ("slm", model_dirs["slm"] / "checkpoint-500")
    elsewhere = tmp_path / "experiments" / "checkpoint-7"
    elsewhere.mkdir(parents=True)
    with pytest.raises(metrics.MonitorError, match="cannot tell which model.*--model"):
        status.locate_checkpoint(str(elsewhere), model_dirs)
    assert status.locate_checkpoint(str(elsewhere), model_dirs, model="tiny") == ("tiny", elsewhere)
    with pytest.raises(metrics.MonitorError, match="not a checkpoint folder"):
        status.locate_checkpoint(str(tmp_path / "experiments"), model_dirs)


def test_the_checkpoint_table_has_step_loss_date_size_and_state_for_each_model(tmp_path):
    make_checkpoint(tmp_path / "slm", 50, 4.9)
    broken = make_checkpoint(tmp_path / "slm", 1500, 4.1)
    (broken / checkpoint.WEIGHTS).write_bytes(b"truncated")
    dirs = {"slm": tmp_path / "slm", "regular": tmp_path / "regular"}
    table = status.format_checkpoint_table({m: checkpoint.list_checkpoints(d) for m, d in dirs.items()}, dirs)
    lines = table.splitlines()
    assert lines[0] == f"slm: {tmp_path / 'slm'}"
    assert lines[1].split() == ["checkpoint", "step", "val", "loss", "saved", "size", "state"]
    ok, bad = lines[2].split(), lines[3].split()
    assert ok[:3] == ["checkpoint-50", "50", "4.9000"]
    assert ok[-1] == "ok" and ok[-2] in ("B", "KB", "MB") and bad[:3] == ["checkpoint-1500", "1,500", "4.1000"]
    assert "INCOMPLETE:" in lines[3]
    assert lines[4:] == [f"regular: {tmp_path / 'regular'}", "  (no checkpoints)"]
    assert status.human_size(512) == "512 B" and status.human_size(3 * 2**20) == "3.0 MB"


def test_locate_a_name_a_fresh_start_set_aside_says_where_it_went(model_dirs):
    """The guide's cure for ./launch_training.sh run by mistake is to resume checkpoint-N by name; the fresh
    start moved it to previous_runs/<when>/, so the error names that folder and the command that resumes it."""
    old = model_dirs["slm"] / "previous_runs" / "20261201-101010" / "checkpoint-7465"
    newer = model_dirs["slm"] / "previous_runs" / "20261202-101010" / "checkpoint-7465"
    old.mkdir(parents=True)
    newer.mkdir(parents=True)
    with pytest.raises(metrics.MonitorError) as caught:
        status.locate_checkpoint("checkpoint-7465", model_dirs)
    message = str(caught.value)
    assert f"set it aside, not deleted, in {newer.parent}" in message, message
    assert f"./resume_training.sh {newer} " in message and str(old) not in message, message
    assert "regular: checkpoint-250, checkpoint-500. checkpoint-7465 is no longer in" in message, message


def test_locate_a_missing_name_never_set_aside_has_no_such_note(model_dirs):
    with pytest.raises(metrics.MonitorError) as caught:
        status.locate_checkpoint("checkpoint-42", model_dirs)
    assert "set it aside" not in str(caught.value)


def test_the_listing_shows_what_a_fresh_start_set_aside(model_dirs):
    """After ./launch_training.sh by mistake the listing (./resume_training.sh, --list-checkpoints) must not
    look as if the old run were gone: the set-aside folder is named with the command that resumes it."""
    old = model_dirs["slm"] / "previous_runs" / "20261201-101010" / "checkpoint-10"
    newest = model_dirs["slm"] / "previous_runs" / "20261202-101010"
    for folder in (old, newest / "checkpoint-7000", newest / "checkpoint-7465"):
        folder.mkdir(parents=True)
    table = status.format_checkpoint_table({"slm": [], "tiny": []}, model_dirs)
    assert (f"  (no checkpoints)\n  set aside (not deleted) in {newest}: checkpoint-7000 .. checkpoint-7465; "
            f"1 older folder(s) there too; resume one with ./resume_training.sh {newest / 'checkpoint-7465'}") in table
    assert table.count("set aside") == 1, table  # tiny has none
