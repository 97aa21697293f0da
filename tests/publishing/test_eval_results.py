"""Stage 05's results found for the checkpoint being published."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from london_llm.publishing.errors import PublishError


from inference_fixtures import tiny_checkpoint  # noqa: E402,F401  (the session's trained tiny model)


def test_evaluation_results_are_found_by_the_checkpoint_sha256(tiny_checkpoint, tmp_path):  # noqa: F811
    from london_llm.evaluation.results import metric, new_results, write_results
    from london_llm.hashing import sha256_file
    from london_llm.publishing.eval_results import find_evaluation

    sha = sha256_file(tiny_checkpoint / "model.safetensors")
    results = new_results(command=["x"], mode="quick", seed=1, limit=None, device="cpu", libraries={}, machine={})
    results["checkpoints"] = [
        {"name": "other", "path": "/elsewhere/checkpoint-1", "step": 1, "sha256": "0" * 64,
         "tasks": {"bpb": {"metrics": {"bpb": metric(9.0, 0.1, 10, higher_is_better=False)}}}},
        {"name": tiny_checkpoint.name, "path": "/moved/away", "step": 30, "sha256": sha,
         "tasks": {"bpb": {"metrics": {"bpb": metric(2.5, 0.1, 10, higher_is_better=False)},
                           "baselines": {"unigram": {"bpb": metric(4.0)}}},
                   "history_mc": {"metrics": {"acc": metric(0.4, 0.02, 279)}}}}]
    write_results(tmp_path / "run1", results)
    found = find_evaluation(tmp_path, tiny_checkpoint, sha)
    assert found is not None
    assert {(r.task, r.metric, r.value) for r in found.rows} == {("bpb", "bpb", 2.5), ("history_mc", "acc", 0.4)}
    assert next(r for r in found.rows if r.task == "bpb").baselines == {"unigram": 4.0}
    assert find_evaluation(tmp_path, tiny_checkpoint, "f" * 64) is None
    (tmp_path / "run2").mkdir()
    (tmp_path / "run2" / "results.json").write_text(json.dumps({"format_version": 99, "checkpoints": []}))
    with pytest.raises(PublishError, match="format_version"):
        find_evaluation(tmp_path / "run2", tiny_checkpoint, sha)
