"""One tiny trained checkpoint per test session for the inference tests.

A tokenizer trained on ~1 MB of real period text (../shared/corpus), then the `tiny` preset trained
for a few steps by the real training script, so the checkpoint folder is exactly what users get.
Built once and shared by every module that imports the `tiny_checkpoint` fixture.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TRAIN = REPO / "04_training" / "train_model_slm.py"
STEPS = 30
CONTEXT = 96
_BUILT: dict[str, Path] = {}


def build_tiny_checkpoint(root: Path, documents: Path) -> Path:
    from london_llm.tokenization.training import train_tokenizer

    tok = train_tokenizer(documents, root / "tokenizer", vocab_size=1000, show_progress=False)
    out = root / "checkpoints"
    args = [sys.executable, str(TRAIN), "--model", "tiny", "--no_wandb", "--max_steps", str(STEPS),
            "--save_steps", str(STEPS), "--eval_steps", str(STEPS), "--eval_iters", "1", "--batch_size", "8",
            "--max_length", str(CONTEXT), "--warmup_steps", "3", "--learning_rate", "3e-3",
            "--tokenizer_dir", str(tok), "--documents_file", str(documents), "--data_dir", str(root / "data"),
            "--output_dir", str(out), "--log_file", str(root / "train.log")]
    result = subprocess.run(args, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    if result.returncode != 0:
        raise AssertionError(f"training the tiny test model failed:\n{result.stdout[-3000:]}")
    return out / f"checkpoint-{STEPS}"


@pytest.fixture(scope="session")
def tiny_checkpoint(small_documents, tmp_path_factory) -> Path:
    """checkpoint-30 of a tiny GPT-2 (context 96) trained on real text; its parent is the checkpoints folder."""
    if "path" not in _BUILT:
        _BUILT["path"] = build_tiny_checkpoint(tmp_path_factory.mktemp("tiny_model"), small_documents)
    return _BUILT["path"]


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def cli(capsys):
    """cli.main in this process with config.py's paths, as the door calls it (no interpreter start-up)."""
    import config
    from london_llm.inference.cli import main

    def call(*args):
        capsys.readouterr()
        try:
            code = main([str(a) for a in args], prog="inference_unified.py", default_model="slm",
                        presets=config.PRESETS, paths_fn=config.paths)
        except SystemExit as exc:  # argparse: --help, or a malformed flag
            code = exc.code
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return call
