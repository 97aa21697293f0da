"""The pretokenization benchmark runs as a user runs it (small sizes; figures are printed, not judged)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "bench" / "bench_pretokenize.py"


def test_help_documents_every_flag():
    out = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True).stdout
    for flag in ("--documents", "--tokenizer_dir", "--corpus", "--max_chars", "--vocab_size", "--repeats",
                 "--workers", "--no_serial", "--open_gb", "--block_size", "--batch_size", "--work_dir"):
        assert flag in out


@pytest.mark.slow
def test_small_run_on_the_real_corpus_prints_both_figures(shared_corpus, tmp_path):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--corpus", str(shared_corpus), "--max_chars", "400000", "--vocab_size", "600",
         "--repeats", "1", "--open_gb", "0.01", "--block_size", "64", "--batch_size", "4",
         "--documents", str(tmp_path / "absent.jsonl"), "--tokenizer_dir", str(tmp_path / "absent_tok"),
         "--work_dir", str(tmp_path / "work")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert re.search(r"pretokenization / library = \d+\.\d%", out), out
    assert re.search(r"all cores give \d+\.\d+x", out), out
    assert re.search(r"total to first batch \d+\.\d+ s", out), out
    assert (tmp_path / "work" / "pretokenized_data" / "metadata.json").is_file()
