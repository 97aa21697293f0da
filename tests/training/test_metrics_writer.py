"""london_llm.training.metrics: the writer (the reader is tested in test_metrics.py)."""
from __future__ import annotations

from london_llm.training.metrics import MetricsWriter, read_metrics


def test_metrics_log_drops_events_past_the_resumed_step(tmp_path):
    path = tmp_path / "metrics.jsonl"
    log = MetricsWriter(path)
    for step in range(1, 6):
        log.write(step, "train", {"train/loss": float(step)})
    log.close()
    with open(path, "a") as fh:
        fh.write('{"step": 6, "kin')  # torn by a kill
    log = MetricsWriter(path, resume_step=3)
    log.write(4, "train", {"train/loss": 40.0})
    log.close()
    records = read_metrics(path).records
    assert [(r["step"], r["train/loss"]) for r in records] == [(1, 1.0), (2, 2.0), (3, 3.0), (4, 40.0)]
    assert all({"step", "time", "kind"} <= r.keys() for r in records)
