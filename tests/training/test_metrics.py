"""london_llm.training.metrics: the reader keeps the timeline the model really followed."""
from __future__ import annotations

import json

import pytest

from london_llm.training import metrics, status
from run_records import SEC_PER_STEP, T0, _train, records, write_log


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
