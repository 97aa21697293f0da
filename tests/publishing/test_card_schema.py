"""The project's own check of a card's YAML front matter."""
from __future__ import annotations

import pytest

from london_llm.publishing.card_schema import check_front_matter


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
