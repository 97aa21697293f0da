"""`--home` on the stage-03, count_tokens and publishing scripts, run as a user runs them (subprocesses, another working
directory, no LONDON_LLM_HOME): the artifacts are read and written under that root, as config.paths(home)
lays it out; the flag beats the variable, and an explicit path flag beats both."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, build_small_documents

TRAIN = REPO / "03_tokenizer" / "train_historical_tokenizer.py"
CHECK = REPO / "03_tokenizer" / "test_tokenizer.py"
PUBLISH = REPO / "10_scripts" / "publish_to_huggingface.py"
DATASET = REPO / "10_scripts" / "publish_dataset.py"
COUNT = REPO / "02_data_collection" / "count_tokens.py"
DOCUMENTS = Path("data/london_historical/processed/documents.jsonl")
TOKENIZER = Path("09_models/tokenizers/london_historical_tokenizer")


def run(script, *args, cwd: Path, env_home: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "LONDON_LLM_HOME"}
    env.update(PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    if env_home is not None:
        env["LONDON_LLM_HOME"] = str(env_home)
    return subprocess.run([sys.executable, str(script), *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def home(shared_corpus, tmp_path_factory) -> Path:
    """An artifact root with documents.jsonl where stage 02 puts it (a little real text)."""
    root = tmp_path_factory.mktemp("home")
    build_small_documents(shared_corpus, root / DOCUMENTS, novel_chars=40_000, accounts=12)
    return root


@pytest.fixture(scope="module")
def trained(home, tmp_path_factory) -> Path:
    result = run(TRAIN, "--home", home, "--vocab_size", 800, "--no_progress", "--held_out_fraction", 0.1,
                 cwd=tmp_path_factory.mktemp("elsewhere"))
    assert result.returncode == 0, result.stderr
    return home


def test_tokenizer_trains_from_and_into_the_home(trained):
    info = json.loads((trained / TOKENIZER / "london_tokenizer.json").read_text(encoding="utf-8"))
    assert info["vocab_size"] == 800
    assert Path(info["training_data"]["documents_file"]) == (trained / DOCUMENTS).resolve()
    assert (trained / "logs" / "tokenizer_training.log").is_file()


def test_tokenizer_check_reads_the_home_and_beats_the_variable(trained, tmp_path):
    decoy = tmp_path / "decoy"  # what LONDON_LLM_HOME says: --home must win
    result = run(CHECK, "--home", trained, "--no_comparison", "--max_chars_per_kind", 20_000, cwd=tmp_path,
                 env_home=decoy)
    assert result.returncode == 0, result.stderr
    report = json.loads((trained / "logs" / "tokenizer_report.json").read_text(encoding="utf-8"))
    assert Path(report["tokenizer_dir"]).resolve() == (trained / TOKENIZER).resolve()
    assert not decoy.exists()


def test_an_explicit_path_flag_beats_the_home(trained, tmp_path):
    other = tmp_path / "other_home"
    result = run(CHECK, "--home", other, "--tokenizer_dir", trained / TOKENIZER, "--no_comparison",
                 "--max_chars_per_kind", 5_000, "--report", tmp_path / "report.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "report.json").is_file()
    assert (other / "logs" / "tokenizer_check.log").is_file()  # the paths not given still follow --home


def test_count_tokens_counts_the_homes_documents_with_its_tokenizer(trained, tmp_path):
    result = run(COUNT, "--home", trained, "--json", "--no_progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout)
    assert counts["tokenizer"] and counts["total"]["tokens"] > 0
    assert counts["total"]["documents"] == sum(1 for _ in open(trained / DOCUMENTS, encoding="utf-8"))
    assert (trained / "logs" / "count_tokens.log").is_file()


def test_publish_looks_for_the_checkpoint_under_the_home(tmp_path):
    home = tmp_path / "home"
    result = run(PUBLISH, "--home", home, "--model", "tiny", "--dry_run", cwd=tmp_path)
    assert result.returncode == 2
    assert str(home / "09_models" / "checkpoints" / "tiny") in result.stderr
    assert (home / "logs" / "publish_to_huggingface.log").is_file()


def test_publish_dataset_exports_the_homes_documents_into_it(home, tmp_path):
    result = run(DATASET, "--home", home, "--model", "tiny", "--dry_run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    records = sum(1 for _ in open(home / DOCUMENTS, encoding="utf-8"))
    assert f"Exporting {records:,} documents of {home / DOCUMENTS}" in result.stdout
    out = home / "09_models" / "hf_export" / "dataset"
    assert f"Exported folder: {out}" in result.stdout and (out / "README.md").is_file()
    assert (home / "logs" / "publish_dataset.log").is_file()
