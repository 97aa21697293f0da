"""10_scripts/publish_dataset.py end to end: the corpus as Parquet that datasets.load_dataset reads, row for row,
with training's split; a source that forbids redistribution left out; the upload to the Hub stub."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from inference_fixtures import tiny_checkpoint  # noqa: F401  (the session's trained tiny model)
from publishing_helpers import DATASET, hub, offline_env, online_env, relicensed, run  # noqa: F401  (hub: fixture)

pytestmark = pytest.mark.slow


def test_dataset_export_loads_and_matches_documents_row_for_row(tiny_checkpoint, small_documents, tmp_path):  # noqa: F811
    import datasets

    state = json.loads((tiny_checkpoint / "trainer_state.json").read_text())
    data_dir = Path(state["data_dir"])
    docs = small_documents  # the file the tiny model was trained on
    records = [json.loads(line) for line in open(docs)]
    result = run(DATASET, "--documents_file", docs, "--data_dir", data_dir, "--output_dir", tmp_path / "ds",
                 "--dry_run", env=offline_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert re.search(r"README\.md\s+[\d,]+ B\s+sha256 [0-9a-f]{64}", result.stdout)
    loaded = datasets.load_dataset(str(tmp_path / "ds"), cache_dir=str(tmp_path / "cache"))
    rows = [r for split in ("train", "validation") for r in loaded[split]]
    by_id = {r["id"]: r for r in records}
    assert sorted(r["id"] for r in rows) == sorted(by_id) and len(rows) == len(records)
    for row in rows:
        assert row == {k: by_id[row["id"]].get(k) for k in row}, row["id"]
    for split in ("train", "validation"):  # file order kept within each split
        ids = [r["id"] for r in loaded[split]]
        assert ids == [r["id"] for r in records if r["id"] in set(ids)]
    # exactly the split training used (pretokenization's metadata counts it per kind)
    meta = json.loads((data_dir / "metadata.json").read_text())
    for ours, theirs in (("train", "train"), ("validation", "val")):
        kinds = {}
        for r in loaded[ours]:
            kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
        assert kinds == {k: v["documents"] for k, v in meta["splits"][theirs]["by_kind"].items()}
    card = (tmp_path / "ds" / "README.md").read_text()
    assert "## Statistics per source" in card and "## Documents per period" in card and "Cite:" in card


def test_dataset_leaves_out_a_source_that_forbids_redistribution_and_uploads(small_documents, hub, tmp_path):  # noqa: F811
    import datasets

    docs = relicensed(small_documents, tmp_path / "documents.jsonl", "gutenberg", "licensed for personal use only")
    result = run(DATASET, "--documents_file", docs, "--data_dir", tmp_path / "no_pretokenized", "--model",
                 "tiny", "--output_dir", tmp_path / "ds", env=online_env(tmp_path, hub.url))
    assert result.returncode == 0, result.stderr
    assert "Leaving out gutenberg" in result.stdout and "personal use only" in result.stdout
    loaded = datasets.load_dataset(str(tmp_path / "ds"), cache_dir=str(tmp_path / "cache"))
    assert {r["source"] for split in loaded.values() for r in split} == {"old_bailey"}
    repo = hub.repo("alice/london-historical-corpus", "dataset")
    names = sorted(repo.head.files)
    assert "README.md" in names and any(n.startswith("data/train-") and n.endswith(".parquet") for n in names)
    assert "Left out because their licence does not allow redistribution" in repo.head.files["README.md"].data.decode()
