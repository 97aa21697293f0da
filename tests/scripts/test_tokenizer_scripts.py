"""Stage 03 scripts, run the way a user runs them: subprocesses, from another directory, real text."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO
from tokenizer_helpers import build_mixed_documents

TRAIN = REPO / "03_tokenizer" / "train_historical_tokenizer.py"
CHECK = REPO / "03_tokenizer" / "test_tokenizer.py"


def run(script, *args, cwd, home):
    env = {**os.environ, "LONDON_LLM_HOME": str(home)}
    return subprocess.run([sys.executable, str(script), *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def pipeline_home(shared_corpus, tmp_path_factory):
    """An artifact root holding documents.jsonl where stage 02 puts it, and the tokenizer trained by
    the script with its defaults (but a small vocabulary) from an unrelated working directory."""
    home = tmp_path_factory.mktemp("home")
    build_mixed_documents(shared_corpus, home / "data" / "london_historical" / "processed" / "documents.jsonl")
    result = run(TRAIN, "--vocab_size", 1500, "--no_progress", "--held_out_fraction", 0.05,
                 cwd=tmp_path_factory.mktemp("elsewhere"), home=home)
    assert result.returncode == 0, result.stderr
    return home


def test_train_script_writes_the_tokenizer_where_the_guide_says(pipeline_home):
    folder = pipeline_home / "09_models" / "tokenizers" / "london_historical_tokenizer"
    assert (folder / "tokenizer.json").is_file() and (folder / "merges.txt").is_file()
    info = json.loads((folder / "london_tokenizer.json").read_text(encoding="utf-8"))
    assert info["vocab_size"] == 1500
    assert "<|kind:ocr|>" in info["conditioning_tags"]
    log = (pipeline_home / "logs" / "tokenizer_training.log").read_text(encoding="utf-8")
    assert "conditioning tags" in log and "1500 tokens" in log


@pytest.mark.slow
def test_check_script_passes_and_reports_compression(pipeline_home, tmp_path):
    result = run(CHECK, "--max_chars_per_kind", 60_000, cwd=tmp_path, home=pipeline_home)
    assert result.returncode == 0, result.stderr
    out = result.stderr
    for kind in ("book", "ocr", "ordinary", "parish"):
        assert f"round trip {kind}" in out
    assert "FAILED" not in out and "all checks passed" in out
    # the ~20 s comparison is announced while it runs, before the results (which come when all is done)
    assert out.index("checking ") < out.index("comparison: training a") < out.index("round trip book"), out
    report = json.loads((pipeline_home / "logs" / "tokenizer_report.json").read_text(encoding="utf-8"))
    assert all(r["exact"] and r["source"] == "held out" for r in report["round_trip"].values())
    comparison = report["comparison"]
    assert "Python" in comparison["modern_source"] and comparison["modern_vocab_size"] > 1000
    ours = comparison["historical_tokenizer_on_historical"]
    theirs = comparison["modern_tokenizer_on_historical"]
    assert ours["tokens"] > 0 and ours["chars"] == theirs["chars"]
    assert ours["chars_per_token"] > theirs["chars_per_token"]  # period text compresses better with ours


def test_check_script_fails_on_a_lossy_tokenizer(pipeline_home, tmp_path):
    """A tokenizer without its decoder (consistent files, so it loads) must fail the round trip: exit 1."""
    import shutil
    folder = shutil.copytree(pipeline_home / "09_models" / "tokenizers" / "london_historical_tokenizer",
                             tmp_path / "lossy")
    spec = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    spec["decoder"] = None
    (folder / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    info = json.loads((folder / "london_tokenizer.json").read_text(encoding="utf-8"))
    info["tokenizer_sha256"] = hashlib.sha256((folder / "tokenizer.json").read_bytes()).hexdigest()
    (folder / "london_tokenizer.json").write_text(json.dumps(info), encoding="utf-8")
    result = run(CHECK, "--tokenizer_dir", folder, "--no_comparison", "--report", tmp_path / "r.json",
                 cwd=tmp_path, home=pipeline_home)
    assert result.returncode == 1, result.stderr
    assert "FAILED" in result.stderr and "differs at character" in result.stderr


def test_scripts_report_bad_input_in_one_message(tmp_path):
    result = run(TRAIN, "--documents", tmp_path / "missing.jsonl", "--no_progress", cwd=tmp_path, home=tmp_path)
    assert result.returncode == 2
    assert "missing.jsonl not found" in result.stderr and "Traceback" not in result.stderr
    result = run(CHECK, "--tokenizer_dir", tmp_path / "none", cwd=tmp_path, home=tmp_path)
    assert result.returncode == 2
    assert "train_historical_tokenizer.py" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("script, flags", [
    (TRAIN, ["--documents", "--output_dir", "--vocab_size", "--min_frequency", "--held_out_fraction",
             "--model_max_length", "--log_file", "--no_progress"]),
    (CHECK, ["--tokenizer_dir", "--documents", "--max_chars_per_kind", "--no_comparison", "--report", "--log_file"]),
])
def test_help_documents_every_flag(script, flags, tmp_path):
    result = run(script, "--help", cwd=tmp_path, home=tmp_path)
    assert result.returncode == 0
    for flag in flags:
        assert flag in result.stdout
