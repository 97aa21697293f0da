"""The training loop's safety and bookkeeping, end to end through 04_training's script on real text:
a diverged run stops with a message and keeps its good checkpoints in strict JSON; a checkpoint
written inside a logging window resumes to the same logs; a longer --max_steps on resume continues
the learning rate smoothly; no host sync per step."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file

from scripts.test_train_model import records, setup, train  # noqa: F401 - setup is the module's fixture

pytestmark = pytest.mark.slow


def strict_load(text: str):
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


def test_a_diverging_run_stops_keeps_its_good_checkpoints_and_writes_strict_json(setup):
    out = setup["root"] / "diverged"
    result = train(setup, out, "--learning_rate", "1e4", "--warmup_steps", "1", "--max_steps", "60",
                   "--save_steps", "2", "--logging_steps", "2", "--save_total_limit", "2", "--eval_steps", "4")
    log = result.stdout
    assert result.returncode == 2, log
    assert "Training diverged" in log and "--learning_rate (now 10000)" in log
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert max(steps) < 60  # stopped, not run to its end
    checkpoints = sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    assert checkpoints, log  # the good ones were not pruned away
    assert f"The last good checkpoint is {checkpoints[-1]}" in log
    for folder in checkpoints:
        state = strict_load((folder / "trainer_state.json").read_text())
        strict_load((folder / "manifest.json").read_text())
        assert all(math.isfinite(v) for v in state["metrics"].values() if isinstance(v, float))
        assert all(t.isfinite().all() for t in load_file(str(folder / "model.safetensors")).values()), folder
    for line in (out / "metrics.jsonl").read_text().splitlines():
        strict_load(line)
    assert any(json.loads(line).get("train/nonfinite_steps") for line in (out / "metrics.jsonl").read_text().splitlines())


def test_a_checkpoint_inside_a_logging_window_resumes_to_the_same_logs(setup):
    # logging every 4 steps, a checkpoint every 5: checkpoint-5 holds one step of the window 5..8
    flags = ["--max_steps", "12", "--logging_steps", "4", "--save_steps", "5", "--eval_steps", "100"]
    whole = setup["root"] / "window_whole"
    assert train(setup, whole, *flags).returncode == 0
    part = setup["root"] / "window_part"
    part.mkdir()
    shutil.copytree(whole / "checkpoint-5", part / "checkpoint-5")
    lines = (whole / "metrics.jsonl").read_text().splitlines()
    (part / "metrics.jsonl").write_text("".join(l + "\n" for l in lines if json.loads(l)["step"] <= 5))
    resumed = train(setup, part, *flags, "--resume_from_checkpoint", "checkpoint-5")
    assert resumed.returncode == 0, resumed.stdout

    def train_events(folder):
        return [(e["step"], e["train/loss"], e["train/grad_norm"]) for e in map(json.loads,
                (folder / "metrics.jsonl").read_text().splitlines()) if e["kind"] == "train"]
    assert train_events(part) == train_events(whole)  # step 8's window covers steps 5..8 in both


def test_a_longer_max_steps_on_resume_continues_the_learning_rate(setup):
    flags = ["--logging_steps", "1", "--save_steps", "10", "--eval_steps", "100", "--warmup_steps", "2"]
    whole = setup["root"] / "length_whole"
    assert train(setup, whole, *flags, "--max_steps", "20").returncode == 0
    out = setup["root"] / "length_longer"
    out.mkdir()
    shutil.copytree(whole / "checkpoint-10", out / "checkpoint-10")
    resumed = train(setup, out, *flags, "--max_steps", "40", "--resume_from_checkpoint", "checkpoint-10")
    assert resumed.returncode == 0, resumed.stdout
    assert "length changed on resume (20 -> 40 steps)" in resumed.stdout

    def lrs(folder):
        return {e["step"]: e["train/lr"] for e in map(json.loads, (folder / "metrics.jsonl").read_text().splitlines())
                if e["kind"] == "train"}
    before, after = lrs(whole), lrs(out)
    # the first resumed step takes the learning rate the 20-step run took there: no jump
    assert after[11] == pytest.approx(before[11], rel=1e-9)
    assert all(after[s] >= after[s + 1] for s in range(11, 40))
    assert max(after[s] - after[s + 1] for s in range(11, 40)) <= before[11] - before[12] + 1e-12
    peak = 1e-3  # the tiny preset's; its floor is a tenth of it
    assert after[40] == pytest.approx(peak * 0.1, rel=0.02)
    state = json.loads((out / "checkpoint-40" / "trainer_state.json").read_text())
    assert state["schedule_anchor"]["step"] == 10
