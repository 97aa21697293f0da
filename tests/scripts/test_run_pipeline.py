"""10_scripts/run_pipeline.py (./run.sh): every stage, run as a user runs it, on a slice of real text."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, require_shared_corpus

SCRIPT = REPO / "10_scripts" / "run_pipeline.py"


def _run(args, cwd, env_home):
    env = {**os.environ, "LONDON_LLM_HOME": str(env_home), "LONDON_LLM_PYTHON": sys.executable}
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_dry_run_plans_every_stage_in_order(tmp_path):
    out = _run(["--dry_run", "--model", "tiny", "--from-dir", str(tmp_path)], tmp_path, tmp_path).stdout
    stages = [line.split(":")[0] for line in out.splitlines() if line.startswith("== ")]
    assert stages == ["== environment", "== data", "== tokenizer", "== tokenizer check", "== train", "== check",
                      "== evaluate", "== publish"]
    assert "run_evaluation.py --mode quick --model tiny" in out and "publish_to_huggingface.py --model tiny --dry_run" in out
    assert "launch_training.sh --model tiny" in out  # nothing to resume: a fresh start
    assert "london_historical_tokenizer_tiny" in out  # tiny never replaces the real tokenizer


@pytest.mark.slow
def test_pipeline_runs_end_to_end_then_skips_and_resumes(tmp_path):
    corpus = require_shared_corpus()
    source = tmp_path / "sources"
    # two of the five novels (1.4 of 5.4 MB, with the manifest): every stage still runs on real text,
    # in a fraction of the time the whole source takes to clean, tokenize and pretokenize
    shutil.copytree(corpus / "gutenberg-18c-novels-dighums", source / "gutenberg-18c-novels-dighums",
                    ignore=shutil.ignore_patterns("HenryFielding__*", "SamuelRichardson__*", "*FerdinandFathom*"))
    home = tmp_path / "home"
    train = "--max_steps 12 --save_steps 6 --eval_steps 6 --eval_iters 2 --no_wandb"
    elsewhere = tmp_path / "default_home"  # what LONDON_LLM_HOME says; --home must win for every stage
    first = _run(["--model", "tiny", "--home", str(home), "--from-dir", str(source), "--train_args", train],
                 tmp_path, elsewhere)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert (home / "data/london_historical/processed/documents.jsonl").exists()
    assert (home / "09_models/tokenizers/london_historical_tokenizer_tiny/tokenizer.json").exists()
    assert (home / "09_models/checkpoints/tiny/checkpoint-12/model.safetensors").exists()
    assert "validation loss" in first.stdout and "Prompt:" in first.stdout
    # the quick evaluation's headline, the dry run's export and the commands to use the model close the run
    assert "Evaluation (quick): checkpoint-12: held-out" in first.stdout
    assert (home / "05_evaluation/results/tiny/results.json").exists()
    assert (home / "09_models/hf_export/tiny/model.safetensors").exists()
    assert "Hub export (dry run): " + str(home / "09_models/hf_export/tiny") in first.stdout
    assert "inference_unified.py --model tiny --interactive" in first.stdout and "serve.py --model tiny" in first.stdout
    assert (home / "logs" / "tokenizer_training.log").exists()
    assert not elsewhere.exists(), "a stage wrote outside --home"

    # A rerun skips finished stages and resumes training rather than starting over.
    again = _run(["--model", "tiny", "--home", str(home), "--stages", "data", "tokenizer", "train", "--dry_run",
                  "--train_args", "--max_steps 18"], tmp_path, elsewhere).stdout
    assert "data: " in again and "exists; skipping" in again
    assert "resume_training.sh --model tiny" in again and "checkpoint-12" in again


def test_dry_run_passes_add_texts_to_the_data_stage_even_when_documents_exist(tmp_path):
    texts = tmp_path / "my texts"
    texts.mkdir()
    documents = tmp_path / "data" / "london_historical" / "processed" / "documents.jsonl"
    documents.parent.mkdir(parents=True)
    documents.write_text("")
    out = _run(["--dry_run", "--model", "tiny", "--stages", "data", "--add-texts", str(texts),
                "--texts-licence", "CC BY 4.0"], tmp_path, tmp_path).stdout
    data = [line for line in out.splitlines() if "historical_data_collector.py" in line]
    assert len(data) == 1 and "skipping" not in out, out
    assert "--add-texts" in data[0] and "my texts" in data[0]
    assert "--texts-licence" in data[0] and "CC BY 4.0" in data[0]
