"""Stage 10's parts on their own: licences, the card schema, evaluation lookup, checkpoint choice."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from london_llm.publishing import licences
from london_llm.publishing.card_schema import check_front_matter
from london_llm.publishing.errors import PublishError


# --- licences ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, hub_id, redistributable", [
    ("CC BY-NC 4.0 (Old Bailey Online)", "cc-by-nc-4.0", True),
    ("CC BY-SA 4.0 (Sharon Howard, data from www.londonlives.org)", "cc-by-sa-4.0", True),
    ("CC0 1.0 (EEBO-TCP)", "cc0-1.0", True),
    ("public domain in the USA (Project Gutenberg); strip the PG licence text", "other", True),
    ("licensed for personal use only", "other", False),
    ("CC BY-ND 4.0", "cc-by-nd-4.0", False),
    ("as the files say", "unknown", False),
    (None, "unknown", False),
])
def test_licence_text_is_classified(text, hub_id, redistributable):
    lic = licences.classify(text)
    assert (lic.hub_id, lic.redistributable) == (hub_id, redistributable)


def test_a_non_commercial_source_makes_the_whole_non_commercial_and_says_why():
    pd = licences.classify("public domain (Project Gutenberg)")
    nc = licences.classify("CC BY-NC 4.0 (Old Bailey Online)")
    sa = licences.classify("CC BY-SA 4.0")
    hub_id, why = licences.combine([pd, nc])
    assert hub_id == "cc-by-nc-4.0" and "non-commercial" in why and "CC BY-NC 4.0" in why
    assert licences.combine([pd, nc, sa])[0] == "cc-by-nc-sa-4.0"
    assert licences.combine([pd, sa])[0] == "cc-by-sa-4.0"
    assert licences.combine([pd, licences.CC0])[0] == "cc0-1.0"
    assert licences.combine([pd, licences.UNKNOWN])[0] == "other"


def test_citations_the_projects_ask_for():
    obo = licences.citations_for("old_bailey_sessions", "CC BY-NC 4.0 (Old Bailey Online)")
    assert any("Old Bailey Proceedings Online, 1674-1913" in c and "Hitchcock" in c for c in obo)
    lives = licences.citations_for("london_lives_coroners_inquests", "CC BY-SA 4.0 (Sharon Howard, data from "
                                   "www.londonlives.org)")
    assert any("London Lives, 1690-1800" in c for c in lives)
    assert any("Coroners' Inquests" in c for c in lives)
    assert licences.citations_for("something_else", "CC0 1.0") == []


# --- the card schema -----------------------------------------------------------------------------

GOOD = {"license": "cc-by-nc-4.0", "language": ["en"], "library_name": "transformers",
        "pipeline_tag": "text-generation", "tags": ["gpt2"], "datasets": ["me/corpus"],
        "model-index": [{"name": "m", "results": [{"task": {"type": "text-generation"},
                                                   "dataset": {"name": "d", "type": "d"},
                                                   "metrics": [{"type": "bpb", "value": 1.5}]}]}]}


def test_schema_accepts_a_good_front_matter():
    assert check_front_matter(GOOD) == []


@pytest.mark.parametrize("change, complaint", [
    ({"license": "cc-by-nc"}, "license"),
    ({"language": "en"}, "language"),
    ({"language": ["English"]}, "ISO"),
    ({"library_name": "pytorch"}, "library_name"),
    ({"pipeline_tag": "generation"}, "pipeline_tag"),
    ({"tags": []}, "tags"),
    ({"model-index": [{"name": "m", "results": [{"task": {"type": "text-generation"},
                                                 "dataset": {"name": "d"},
                                                 "metrics": [{"type": "bpb", "value": "1.5"}]}]}]}, "dataset"),
    ({"model-index": [{"name": "m", "results": [{"task": {"type": "text-generation"},
                                                 "dataset": {"name": "d", "type": "d"},
                                                 "metrics": [{"type": "bpb"}]}]}]}, "numeric value"),
])
def test_schema_names_what_is_wrong(change, complaint):
    problems = check_front_matter({**GOOD, **change})
    assert problems and any(complaint in p for p in problems), problems


def test_dataset_schema_needs_task_categories_and_well_formed_configs():
    meta = {"license": "cc0-1.0", "language": ["en"], "task_categories": ["text-generation"],
            "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}]}
    assert check_front_matter(meta, "dataset") == []
    assert check_front_matter({**meta, "task_categories": ["chat"]}, "dataset")
    assert check_front_matter({**meta, "configs": [{"config_name": "default", "data_files": [{"path": "x"}]}]},
                              "dataset")


# --- evaluation results and checkpoint choice (a real checkpoint) -----------------------------------

from inference_fixtures import tiny_checkpoint  # noqa: E402,F401  (the session's trained tiny model)


def _copy_checkpoint(src: Path, dst: Path, step: int, val_loss: float) -> Path:
    from london_llm.training import checkpoint as ckpt

    folder = dst / f"checkpoint-{step}"
    shutil.copytree(src, folder)
    state = json.loads((folder / "trainer_state.json").read_text())
    state.update(step=step, last_val_loss=val_loss)
    (folder / "trainer_state.json").write_text(json.dumps(state))
    ckpt._write_manifest(folder, step)  # a complete checkpoint, as the trainer writes it
    return folder


def test_the_best_complete_checkpoint_is_chosen_and_named(tiny_checkpoint, tmp_path):  # noqa: F811
    from london_llm.publishing.selection import choose_checkpoint

    root = tmp_path / "run"
    root.mkdir()
    _copy_checkpoint(tiny_checkpoint, root, 10, 5.0)
    best = _copy_checkpoint(tiny_checkpoint, root, 20, 4.0)
    _copy_checkpoint(tiny_checkpoint, root, 30, 4.5)
    corrupt = _copy_checkpoint(tiny_checkpoint, root, 40, 1.0)
    (corrupt / "model.safetensors").write_bytes(b"\0" * (corrupt / "model.safetensors").stat().st_size)
    said = []
    assert choose_checkpoint(root, None, log=said.append) == best
    assert "checkpoint-20" in said[0] and "4.0000" in said[0]
    assert choose_checkpoint(root, "checkpoint-30.pt", log=said.append) == root / "checkpoint-30"
    with pytest.raises(PublishError, match="checkpoint-999.*checkpoint-10"):
        choose_checkpoint(root, "checkpoint-999")
    with pytest.raises(PublishError, match="sha256"):
        choose_checkpoint(root, "checkpoint-40")
    with pytest.raises(PublishError, match="No complete checkpoint"):
        choose_checkpoint(tmp_path / "empty", None)


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
