"""The training scripts refuse what a look at the disk can refuse (no tokenizer, an incomplete one, no
documents) before torch and transformers load: the same one line as the full check, in seconds less."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# runs a script as `python script ...` would, then says which heavy libraries it had loaded
PROBE = """
import runpy, sys
script, *args = sys.argv[1:]
sys.argv = [script, *args]
try:
    runpy.run_path(script, run_name="__main__")
    code = 0
except SystemExit as exc:
    code = exc.code
print("LOADED", *sorted(m for m in ("torch", "transformers") if m in sys.modules))
sys.exit(code)
"""


def _train(script: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROBE, str(REPO / "04_training" / script), "--home",
                           str(tmp_path / "home"), "--no_wandb", *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)


def _one_error(result) -> str:
    lines = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.mark.parametrize("script", ["train_model_slm.py", "train_model.py"])
@pytest.mark.parametrize("kind", ["missing folder", "a text file"])
def test_a_bad_tokenizer_dir_is_refused_before_torch_loads(script, kind, tmp_path):
    tok = tmp_path / "tok"
    if kind == "a text file":
        tok.write_text("not a tokenizer\n")
    result = _train(script, tmp_path, "--tokenizer_dir", str(tok))
    line = _one_error(result)
    assert f"no tokenizer at {tok}: train it first with python 03_tokenizer/train_historical_tokenizer.py" in line, line
    assert "--model tiny" in line, line
    assert result.stdout.split("LOADED")[-1].split() == [], result.stdout  # no model was built
    log = (tmp_path / "home" / "04_training" / "model_training.log").read_text()
    assert "no tokenizer at" in log  # the training log says why, as for every refused run


def test_an_incomplete_tokenizer_folder_is_refused_before_torch_loads(tmp_path):
    tok = tmp_path / "tok"
    tok.mkdir()
    (tok / "tokenizer.json").write_text("{}")
    line = _one_error(result := _train("train_model_slm.py", tmp_path, "--model", "tiny", "--tokenizer_dir", str(tok)))
    assert f"{tok} is not a London tokenizer folder (london_tokenizer.json missing)" in line, line
    assert result.stdout.split("LOADED")[-1].split() == [], result.stdout


def test_no_documents_to_build_the_data_from_is_refused_before_torch_loads(small_documents, tmp_path):
    from training_runs import shared_tokenizer

    tok = shared_tokenizer(small_documents, tmp_path)
    missing = tmp_path / "none.jsonl"
    line = _one_error(result := _train("train_model_slm.py", tmp_path, "--model", "tiny", "--tokenizer_dir", str(tok),
                                       "--documents_file", str(missing)))
    assert f"documents file {missing} not found: run stage 02" in line, line
    assert result.stdout.split("LOADED")[-1].split() == [], result.stdout


def test_a_resume_without_tokenizer_dir_is_left_to_the_full_check(tmp_path):
    """The checkpoint's own tokenizer copy may stand in for a missing default folder: not judged early."""
    from argparse import Namespace

    from london_llm.training.cli import preflight

    out = tmp_path / "out"
    (out / "checkpoint-5").mkdir(parents=True)
    args = Namespace(fresh=False, resume_from_checkpoint=None, tokenizer_dir=None, use_pretokenized=False,
                     no_pretokenized=False)
    assert preflight(args, "slm", tmp_path / "missing", tmp_path / "docs.jsonl", tmp_path / "data", out) is None
    args.fresh = True
    assert "no tokenizer at" in preflight(args, "slm", tmp_path / "missing", tmp_path / "docs.jsonl",
                                          tmp_path / "data", out)


def test_use_pretokenized_without_the_data_is_refused_before_torch_loads_even_with_checkpoints(tmp_path):
    """The guide's `rm -rf .../pretokenized_data/` then `--use_pretokenized`, where a run left checkpoints
    (a resume, whose tokenizer is judged only later): no tokenizer or resume makes missing data usable."""
    out = tmp_path / "home" / "09_models" / "checkpoints" / "tiny"
    (out / "checkpoint-5").mkdir(parents=True)
    line = _one_error(result := _train("train_model_slm.py", tmp_path, "--model", "tiny", "--use_pretokenized"))
    assert f"Pre-tokenized data not found: no metadata.json ({out / 'pretokenized_data'})" in line, line
    assert "without --use_pretokenized" in line, line
    assert result.stdout.split("LOADED")[-1].split() == [], result.stdout


def test_a_resume_after_the_tokenizer_was_retrained_says_how_to_use_the_new_one(tmp_path, monkeypatch):
    """The guide's "Tokenizer mismatch" case on a resume: the checkpoint keeps its own tokenizer, and the
    line says why and what trains with the retrained one (--fresh); a missing folder is named as such."""
    from london_llm.tokenization import format as tok_format
    from london_llm.training import checkpoint as ckpt
    from london_llm.training.cli import tokenizer_for_resume

    resume, default = tmp_path / "checkpoint-20", tmp_path / "tokenizer"
    monkeypatch.setattr(ckpt, "read_trainer_state", lambda path: {"tokenizer_sha256": "old"})
    monkeypatch.setattr(tok_format, "tokenizer_fingerprint", lambda path: "old" if path == resume else "new")
    said: list[str] = []
    assert tokenizer_for_resume(default, resume, said.append) == resume
    assert said == [f"Using the tokenizer saved in {resume} ({default} does not exist)"]
    default.mkdir()
    (default / "tokenizer.json").write_text("{}")
    said.clear()
    assert tokenizer_for_resume(default, resume, said.append) == resume
    assert "now holds another tokenizer" in said[0] and "start over with --fresh" in said[0], said
