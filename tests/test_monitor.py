"""Monitoring without W&B: the metrics reader, run status, lock detection, checkpoint lookup, plots,
and the two thin scripts (10_scripts/training_status.py, 10_scripts/plot_training.py) run as a user would."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from conftest import REPO
from london_llm.training import checkpoint, metrics, status
from london_llm.training.plots import PLOTS, render_plots, smooth

T0 = 1_750_000_000.0
SEC_PER_STEP = 0.5


def _train(step: int, t: float) -> dict:
    loss = 3.0 + 5.0 * math.exp(-step / 60)
    return {"step": step, "time": t, "kind": "train", "train/loss": loss, "train/lr": 1e-3 * min(1, step / 20),
            "train/mfu": 0.015, "train/iter": step, "train/dt_ms": SEC_PER_STEP * 1000,
            "train/grad_norm": 0.9, "train/tokens_per_sec": 2048.0}


def _eval(step: int, t: float) -> dict:
    val = 3.2 + 5.0 * math.exp(-step / 60)
    return {"step": step, "time": t, "kind": "eval", "eval/val_loss": val, "eval/val_ppl": math.exp(val),
            "eval/train_loss": val - 0.1}


def records(first: int, last: int, t0: float = T0, log_every: int = 10, eval_every: int = 50) -> list[dict]:
    """What the trainer logs for steps first..last: train every log_every steps, eval every eval_every."""
    out = []
    for step in range(first, last + 1):
        t = t0 + (step - first + 1) * SEC_PER_STEP
        if step % log_every == 0:
            out.append(_train(step, t))
        if step % eval_every == 0:
            out.append(_eval(step, t))
    return out


def write_log(path: Path, recs: list[dict], tail: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in recs) + tail, encoding="utf-8")
    return path


def make_checkpoint(root: Path, step: int, val_loss: float, max_steps: int = 200) -> Path:
    """A real checkpoint folder (checkpoint.save_checkpoint) of a very small GPT-2."""
    model = GPT2LMHeadModel(GPT2Config(vocab_size=64, n_positions=16, n_embd=8, n_layer=1, n_head=2,
                                       bos_token_id=0, eos_token_id=0))
    return checkpoint.save_checkpoint(
        root, step, model=model, optimizer_state={"state": {}, "param_groups": []},
        rng_states=[{"torch": torch.get_rng_state()}], tokenizer_dir=None,
        trainer_state={"last_val_loss": val_loss, "config": {"max_steps": max_steps}}, log=lambda _: None)


# --- reading the log -----------------------------------------------------------------------------

def test_reads_a_live_log_ignoring_the_line_being_written_and_counting_corrupt_ones(tmp_path):
    recs = records(1, 100)
    lines = [json.dumps(r) for r in recs]
    lines.insert(3, "{not json")
    lines.insert(5, json.dumps({"hello": "world"}))  # JSON, but not a metric record
    text = "\n".join(lines) + "\n" + json.dumps(_train(110, T0 + 99))[:25]  # torn: still being written
    (tmp_path / "metrics.jsonl").write_text(text, encoding="utf-8")
    log = metrics.read_metrics(tmp_path)  # the checkpoint folder is enough
    assert log.path == tmp_path / "metrics.jsonl"
    assert len(log.records) == len(recs) and log.last_step == 100
    assert log.skipped_lines == 2
    steps, losses = log.series("eval/val_loss")
    assert steps == [50, 100] and losses[1] < losses[0]


def test_missing_log_names_the_file_and_what_writes_it(tmp_path):
    with pytest.raises(metrics.MonitorError, match=r"no metrics log at .*metrics\.jsonl.*launch_training"):
        metrics.read_metrics(tmp_path)


def test_a_resumed_run_replaces_the_steps_it_redid_and_starts_a_segment(tmp_path):
    # ran to 130, died, resumed from checkpoint-100 an hour later, went on to 200
    first = records(1, 130)
    second = records(101, 200, t0=first[-1]["time"] + 3600)
    log = metrics.read_metrics(write_log(tmp_path / "metrics.jsonl", first + second))
    train_steps = log.series("train/loss")[0]
    assert train_steps == list(range(10, 201, 10)), "each step once, from the timeline that counts"
    assert len(log.segment_starts) == 2
    assert log.records[log.segment_starts[1]]["step"] == 110
    # the speed is measured after the resume: the hour stopped does not count
    assert status.steps_per_second(log) == pytest.approx(1 / SEC_PER_STEP)


def test_a_resume_after_the_log_was_trimmed_is_found_by_its_pause(tmp_path):
    """The trainer trims the log back to the checkpoint it resumes from: no step repeats, only a pause."""
    first = records(1, 100)
    second = records(101, 200, t0=first[-1]["time"] + 3600)
    log = metrics.read_metrics(write_log(tmp_path / "metrics.jsonl", first + second))
    assert len(log.segment_starts) == 2 and log.records[log.segment_starts[1]]["step"] == 110
    assert status.steps_per_second(log) == pytest.approx(1 / SEC_PER_STEP)
    # evaluation pauses of a slow model are not restarts
    slow = [dict(r, time=T0 + r["step"] * 10.0, **({"train/dt_ms": 10_000.0} if r["kind"] == "train" else {}))
            for r in records(1, 200)]
    for r in slow:
        if r["step"] > 50:
            r["time"] += 300  # a five-minute evaluation at step 50
    assert metrics.read_metrics(write_log(tmp_path / "slow.jsonl", slow)).segment_starts == [0]


# --- status ------------------------------------------------------------------------------------------

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


# --- finding a checkpoint's model ----------------------------------------------------------------

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


# --- plots -------------------------------------------------------------------------------------------

def test_smoothing_follows_the_trend_without_pulling_the_start_to_zero():
    assert smooth([5.0, 5.0, 5.0], 0.9) == pytest.approx([5.0, 5.0, 5.0])
    noisy = [3 + (0.5 if i % 2 else -0.5) for i in range(200)]
    assert max(abs(v - 3) for v in smooth(noisy)[50:]) < 0.1


def test_render_plots_writes_one_png_per_panel_and_an_overview(tmp_path):
    from matplotlib.image import imread

    log = metrics.read_metrics(write_log(tmp_path / "metrics.jsonl", records(1, 130) + records(101, 200, T0 + 999)))
    written = render_plots(log, tmp_path / "plots", "unit test")
    assert [p.name for p in written] == [f"{n}.png" for n in PLOTS] + ["training_overview.png"]
    for png in written:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width, _ = imread(png).shape
        assert width > 600 and height > 300
    assert not list((tmp_path / "plots").glob(".*.tmp")), "no temporary files left"


def test_render_plots_copes_with_a_log_that_has_only_evaluations(tmp_path):
    log = metrics.read_metrics(write_log(tmp_path / "metrics.jsonl", [_eval(50, T0)]))
    assert len(render_plots(log, tmp_path / "plots")) == len(PLOTS) + 1


# --- the scripts, as a user runs them ------------------------------------------------------------

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
    proc = subprocess.Popen([sys.executable, str(REPO / "10_scripts" / "training_status.py"), "--output_dir",
                             str(tmp_path), "--watch", "0.2"], stdout=subprocess.PIPE, text=True)
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
