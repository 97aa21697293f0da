"""london_llm.training.metrics: the writer (the reader is tested in test_metrics.py)."""
from __future__ import annotations

import pytest

from london_llm.training.metrics import MetricsWriter, read_metrics


def test_metrics_log_keeps_everything_and_a_redone_step_replaces_the_killed_runs(tmp_path):
    path = tmp_path / "metrics.jsonl"
    log = MetricsWriter(path, branch="b1")
    for step in range(1, 6):
        log.write(step, "train", {"train/loss": float(step)})
    log.close()
    with open(path, "a") as fh:
        fh.write('{"step": 6, "kin')  # torn by a kill
    before = path.read_bytes()
    log = MetricsWriter(path, branch="b1")  # resumed from checkpoint-3 of the same branch
    log.write(4, "train", {"train/loss": 40.0})
    log.close()
    assert path.read_bytes().startswith(before)  # nothing cut: appended after the torn line
    metrics = read_metrics(path)
    assert [(r["step"], r["train/loss"]) for r in metrics.records] == [(1, 1.0), (2, 2.0), (3, 3.0), (4, 40.0)]
    assert metrics.skipped_lines == 1 and metrics.branch == "b1"
    assert all({"step", "time", "kind", "branch"} <= r.keys() for r in metrics.records)


def test_metrics_of_a_branch_follow_its_parent_to_the_fork_and_keep_the_abandoned_steps(tmp_path):
    path = tmp_path / "metrics.jsonl"
    log = MetricsWriter(path, branch="old")
    log.start_branch(0, None, output_dir=tmp_path)
    for step in range(1, 9):
        log.write(step, "train", {"train/loss": float(step), "train/mfu": 12.5})
    log.close()
    log = MetricsWriter(path, branch="new")
    log.start_branch(4, {"branch": "old", "output_dir": str(tmp_path), "checkpoint": str(tmp_path / "checkpoint-4")},
                     output_dir=tmp_path)
    for step in range(5, 7):
        log.write(step, "train", {"train/loss": 100.0 + step})
    log.close()
    metrics = read_metrics(path)
    assert [(r["step"], r["train/loss"]) for r in metrics.records] == [
        (1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0), (5, 105.0), (6, 106.0)]
    assert metrics.branch == "new" and [r["step"] for r in metrics.abandoned["old"]] == [5, 6, 7, 8]
    states = {b.id: b for b in metrics.branches}
    assert states["new"].state == "current" and states["new"].fork_step == 4 and states["new"].parent == "old"
    assert states["old"].state == "earlier" and "5-8 abandoned" in states["old"].describe()
    assert metrics.last("train/mfu") == 12.5  # percent, as written


def test_metrics_from_before_branches_read_as_the_legacy_branch_with_mfu_in_percent(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "time": 1.0, "kind": "train", "train/loss": 5.0, "train/mfu": 0.17}\n')
    metrics = read_metrics(path)
    assert metrics.branch == "legacy" and metrics.last("train/mfu") == pytest.approx(17.0)
