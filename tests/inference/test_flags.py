"""The one start-up of inference_unified.py, serve.py and run_evaluation.py (inference.flags.startup)."""
from __future__ import annotations

import argparse
import re
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


def parsers():
    """The three commands' parsers as their doors build them."""
    import config
    from london_llm.evaluation.cli import build_parser as evaluation
    from london_llm.inference.cli import build_parser as inference
    from london_llm.inference.serve_cli import build_parser as serve

    return {"inference": inference("inference_unified.py", "d", "slm", config.PRESETS),
            "serve": serve("serve.py", "d", "slm", config.PRESETS),
            "evaluation": evaluation("run_evaluation.py", list(config.PRESETS), "slm")}


def flag(parser, name):
    return next(a for a in parser._actions if name in a.option_strings)


def test_the_three_commands_share_one_set_of_model_flags():
    ps = parsers()
    for name in ("--model", "--checkpoints_dir", "--home", "--device"):
        seen = {(tuple(flag(p, name).option_strings), flag(p, name).default, flag(p, name).help,
                 tuple(flag(p, name).choices or ())) for p in ps.values()}
        assert len(seen) == 1, (name, seen)
    # --checkpoint: the same names everywhere; evaluation alone takes several (and --checkpoints)
    single = set(flag(ps["inference"], "--checkpoint").option_strings)
    assert single == set(flag(ps["serve"], "--checkpoint").option_strings) == {
        "--checkpoint", "--checkpoint_path", "--model_path"}
    assert set(flag(ps["evaluation"], "--checkpoint").option_strings) == single | {"--checkpoints"}
    # --threads: one text; serve.py says its own default, which it applies (only a given --threads is set)
    assert flag(ps["inference"], "--threads").help == flag(ps["evaluation"], "--threads").help
    assert "torch's default)" in flag(ps["serve"], "--threads").help and "50M" not in flag(ps["serve"], "--threads").help
    # --dtype: not an evaluation flag, but startup finds "auto" there as the others' default
    assert not any("--dtype" in a.option_strings for a in ps["evaluation"]._actions)
    assert ps["evaluation"].parse_args([]).dtype == ps["inference"].parse_args([]).dtype == "auto"


def test_evaluation_takes_repeats_and_comma_lists_of_checkpoints(tmp_path):
    from london_llm.inference.flags import startup

    (tmp_path / "ck").mkdir()
    for name in "abc":
        (tmp_path / name).mkdir()
    a, b, c = (str(tmp_path / n) for n in "abc")
    parsed = parsers()["evaluation"].parse_args(
        ["--checkpoints_dir", str(tmp_path / "ck"), "--device", "cpu", "--checkpoint", f"{a}, {b}", "--checkpoints", c])
    assert startup(parsed, no_paths).paths == tuple((tmp_path / n).resolve() for n in "abc")
    # a single-checkpoint command takes a comma as part of the name
    one = parsers()["inference"].parse_args(["--checkpoints_dir", str(tmp_path / "ck"), "--device", "cpu",
                                             "--checkpoint", a])
    assert startup(one, no_paths).paths == ((tmp_path / "a").resolve(),)


def test_help_shows_a_default_once_and_never_none():
    import config
    from london_llm.inference.check_cli import build_parser as check

    for name, parser in {**parsers(), "test_checkpoint": check("test_checkpoint.py", "d", "regular",
                                                               config.PRESETS)}.items():
        text = " ".join(parser.format_help().split())  # unwrapped
        assert "(default: None)" not in text and "(default: False)" not in text, name
        assert text.count("(default: the newest complete") == 1, name
        assert re.search(r"\(default: (slm|regular)\)", text) and "(default: auto)" in text, name
        assert all(a.help for a in parser._actions), (name, [a.dest for a in parser._actions if not a.help])
    assert "(default: 0.8)" in parsers()["inference"].format_help()  # a default the help does not state is added


def test_no_checkpoint_for_the_default_model_points_at_model(tmp_path, home):
    # the guide's `python inference_unified.py --interactive` defaults to slm; after ./run.sh on a CPU only
    # tiny exists, and the message must say how to reach it
    from london_llm.inference.errors import InferenceError
    from london_llm.inference.flags import startup

    (tmp_path / "ck").mkdir()
    with pytest.raises(InferenceError, match="no complete checkpoint.*--model for the preset you trained.*tiny"):
        startup(args(tmp_path, model="slm"), no_paths)


def test_no_checkpoint_for_the_default_model_names_the_model_that_has_some(home):
    """inference_unified.py, serve.py and run_evaluation.py default to slm; with only tiny's checkpoints
    (./run.sh on a CPU) the error names the model that has some and the --model that picks it."""
    import config
    from run_records import make_checkpoint

    from london_llm.inference.errors import InferenceError
    from london_llm.inference.flags import startup

    make_checkpoint(config.paths(home).checkpoint_dir("tiny"), 40, 6.9)
    make_checkpoint(config.paths(home).checkpoint_dir("tiny"), 50, 6.8)
    wanted = args(home, model="slm", checkpoints_dir=None, model_choices=tuple(config.PRESETS))
    with pytest.raises(InferenceError, match=re.escape("a folder. The tiny model has checkpoints (newest: "
                                                       "checkpoint-50): pass --model tiny.")):
        startup(wanted, config.paths)
    (home / "ck").mkdir()
    with pytest.raises(InferenceError) as given:  # --checkpoints_dir named the folder meant: no hint
        startup(args(home, model="slm", model_choices=tuple(config.PRESETS)), config.paths)
    assert "pass --model tiny" not in str(given.value)
