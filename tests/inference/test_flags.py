"""The one start-up of inference_unified.py, serve.py and run_evaluation.py (inference.flags.startup)."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest


def args(tmp_path: Path, **kw) -> argparse.Namespace:
    base = dict(checkpoints_dir=str(tmp_path / "ck"), home=None, model="tiny", checkpoint=None, device="cpu",
                dtype="auto", threads=None)
    return argparse.Namespace(**{**base, **kw})


def no_paths(_home):
    raise AssertionError("--checkpoints_dir was given: config paths are not consulted")


def test_every_spec_is_resolved_before_anything_loads(tmp_path):
    import torch

    from london_llm.inference.flags import startup

    (tmp_path / "ck").mkdir()
    a, b = tmp_path / "model_a", tmp_path / "model_b"
    a.mkdir(), b.mkdir()
    start = startup(args(tmp_path), no_paths, [str(a), str(b)])
    assert start.paths == (a.resolve(), b.resolve()) and start.path == a.resolve()
    assert start.device == torch.device("cpu") and start.dtype == torch.float32 and start.threads is None
    assert start.checkpoints_dir == tmp_path / "ck"
    assert startup(args(tmp_path, checkpoint=str(b)), no_paths).paths == (b.resolve(),)


@pytest.mark.parametrize("case, expect", [
    ("no_checkpoint", "no complete checkpoint"), ("bad_name", "checkpoint-7"), ("device", "cuda:7"),
    ("dtype", "fp16 needs a GPU"), ("threads", "--threads 0")])
def test_one_clear_error_at_start(tmp_path, case, expect):
    import torch

    from london_llm.inference.errors import InferenceError
    from london_llm.inference.flags import startup

    (tmp_path / "ck").mkdir()
    folder = tmp_path / "m"
    folder.mkdir()
    kw = {"no_checkpoint": {}, "bad_name": {"checkpoint": "checkpoint-7"},
          "device": {"checkpoint": str(folder), "device": "cuda:7"},
          "dtype": {"checkpoint": str(folder), "dtype": "fp16"},
          "threads": {"checkpoint": str(folder), "threads": 0}}[case]
    if case == "device" and torch.cuda.is_available():
        pytest.skip("CUDA is here")
    with pytest.raises(InferenceError, match=expect.replace("(", r"\(")):
        startup(args(tmp_path, **kw), no_paths)


def test_the_model_folder_comes_from_config_paths(tmp_path):
    from london_llm.inference.flags import startup

    class Paths:
        def checkpoint_dir(self, model):
            return tmp_path / "home" / model

    (tmp_path / "m").mkdir()
    seen = []
    start = startup(args(tmp_path, checkpoints_dir=None, home="H", checkpoint=str(tmp_path / "m")),
                    lambda home: seen.append(home) or Paths())
    assert seen == ["H"] and start.checkpoints_dir == tmp_path / "home" / "tiny"
