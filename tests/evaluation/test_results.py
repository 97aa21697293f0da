"""The results artifact: round trip and version check."""
from __future__ import annotations

import json

import pytest


def test_results_round_trip_and_version_check(tmp_path):
    from london_llm.evaluation import results as r

    res = r.new_results(command=["x"], mode="quick", seed=1, limit=None, device="cpu", libraries={}, machine={})
    res["checkpoints"].append({"name": "checkpoint-5", "step": 5, "tasks": {"history": {
        "metrics": {"acc": r.metric(0.5, 0.1, 20)}, "baselines": {"chance": {"acc": r.metric(0.25, None, 20)}}}}})
    path = r.write_results(tmp_path, res)
    rows = list(r.iter_metrics(r.read_results(path)))
    assert rows == [{"checkpoint": "checkpoint-5", "step": 5, "task": "history", "metric": "acc", "value": 0.5,
                     "stderr": 0.1, "n": 20, "higher_is_better": True, "baseline_chance": 0.25}]
    res["format_version"] = 99
    path.write_text(json.dumps(res))
    with pytest.raises(r.ResultsFormatError, match="format_version 99.*rerun 05_evaluation/run_evaluation.py"):
        r.read_results(tmp_path)
    with pytest.raises(r.ResultsFormatError, match="does not exist"):
        r.read_results(tmp_path / "nowhere")
    assert r.metric(float("nan"))["value"] is None
