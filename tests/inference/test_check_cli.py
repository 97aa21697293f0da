"""The checkpoint check's command line: prompts are bounded, whether typed or passed with --prompt; it
generates through the inference core, with the conditioning tags, and a max_new_tokens past the
context is refused with what fits."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from inference_fixtures import tiny_checkpoint  # noqa: F401 - session fixture

from london_llm.inference import check_cli as checkpoint_cli


def test_a_prompt_from_the_command_line_is_bounded_like_a_typed_one(capsys):
    seen = []
    check = SimpleNamespace(sample=lambda engine, prompt, settings: seen.append(prompt) or "")
    checkpoint_cli._show(check, None, None, "x" * 1_000_000)
    assert len(seen[0]) == checkpoint_cli.MAX_PROMPT_CHARS



def check(capsys, *args):
    import config
    from london_llm.inference.check_cli import main

    capsys.readouterr()
    code = main([str(a) for a in args], prog="test_checkpoint.py", description="check", default_model="slm",
                presets=config.PRESETS, paths_fn=config.paths)
    captured = capsys.readouterr()
    assert "ERROR" not in captured.out  # errors go to stderr, where a redirected report cannot hide them
    return code, captured.out + captured.err


def test_the_check_samples_with_tags_through_the_core(tiny_checkpoint, capsys, monkeypatch):  # noqa: F811
    from london_llm.inference.engine import Engine
    from london_llm.inference.loading import load_model
    from london_llm.inference.prompts import build_prompt
    from london_llm.inference.sampling import SamplingParams

    prompt = "Parliament sat in Westminster Hall"
    asked = []
    generate = Engine.generate
    monkeypatch.setattr(Engine, "generate", lambda self, p, params, n=1: asked.append((p, params)) or
                        generate(self, p, params, n))
    code, out = check(capsys, "--checkpoints_dir", tiny_checkpoint.parent, "--prompt", prompt, "--max_new_tokens", 12,
                      "--eval_batches", 0, "--seed", 5)
    assert code == 0, out
    engine = Engine(load_model(tiny_checkpoint))
    params = SamplingParams(max_new_tokens=12, temperature=0.8, top_k=50, seed=5)
    assert asked == [(f"<|kind:book|>{prompt}", params.validated())]  # tagged as training documents begin
    tagged = engine.generate(build_prompt(prompt, known_tags=engine.loaded.conditioning_tags), params)[0].text
    assert f"Model:  {prompt}{tagged}\n" in out
    code, out = check(capsys, "--checkpoints_dir", tiny_checkpoint.parent, "--prompt", prompt, "--max_new_tokens", 12,
                      "--eval_batches", 0, "--seed", 5, "--kind", "ordinary", "--year", 1760)
    assert code == 0 and "Model:  " + prompt in out
    assert asked[-1][0] == f"<|kind:ordinary|><|period:1750-1774|>{prompt}"


def test_max_new_tokens_past_the_context_is_refused_not_capped(tiny_checkpoint, capsys):  # noqa: F811
    code, out = check(capsys, "--checkpoints_dir", tiny_checkpoint.parent, "--max_new_tokens", 200, "--eval_batches", 0)
    assert code == 2 and "context of 96 tokens" in out and "at most 94 new tokens" in out


def test_an_error_goes_to_stderr_in_one_line(tiny_checkpoint, capsys):  # noqa: F811
    import config
    from london_llm.inference.check_cli import main

    capsys.readouterr()
    code = main(["--checkpoints_dir", str(tiny_checkpoint.parent), "--checkpoint_path", "checkpoint-999999"],
                prog="test_checkpoint.py", description="check", default_model="slm",
                presets=config.PRESETS, paths_fn=config.paths)
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.startswith("ERROR: ") and captured.err.count("\n") == 1 and "checkpoint-999999" in captured.err
    code, out = check(capsys, "--checkpoints_dir", tiny_checkpoint.parent, "--kind", "spaceship", "--eval_batches", 0)
    assert code == 2 and "spaceship" in out and "ordinary" in out
    code, out = check(capsys, "--checkpoints_dir", tiny_checkpoint.parent, "--max_new_tokens", 94, "--eval_batches", 0,
                      "--prompt", "word " * 30)
    assert code == 2 and "at most" in out  # a long prompt leaves less room: refused, never cut silently


def test_the_checkpoint_list_is_the_training_status_table(tmp_path, capsys):
    from run_records import make_checkpoint
    from london_llm.training import checkpoint, status

    make_checkpoint(tmp_path, 20, 3.5)
    make_checkpoint(tmp_path, 40, 3.25)
    code, out = check(capsys, "--checkpoints_dir", tmp_path, "--list-checkpoints", "--model", "tiny")
    assert code == 0
    assert out == status.format_checkpoint_table({"tiny": checkpoint.list_checkpoints(tmp_path)},
                                                 {"tiny": tmp_path}) + "\n"


def test_no_checkpoint_for_the_default_model_names_the_model_that_has_some(home, capsys):
    """The guide's `cd 04_training; python test_checkpoint.py` checks the regular model; after ./run.sh on a
    CPU only tiny has checkpoints, and the error says so with the --model that reaches them."""
    import config
    from run_records import make_checkpoint

    make_checkpoint(config.paths(home).checkpoint_dir("tiny"), 40, 6.9)
    code, out = check(capsys, "--model", "regular", "--eval_batches", "0")
    assert code == 2 and "The tiny model has checkpoints (newest: checkpoint-40): pass --model tiny." in out, out
    # a folder given by --output_dir (the check's alias of --checkpoints_dir) is the one meant: no hint
    code, out = check(capsys, "--output_dir", home / "empty", "--eval_batches", "0")
    assert code == 2 and "no complete checkpoint" in out and "pass --model tiny" not in out, out


def test_an_empty_listing_names_the_model_that_has_checkpoints(home, capsys):
    """The guide's Support section: `python test_checkpoint.py --list-checkpoints` (the regular model's)."""
    import config
    from run_records import make_checkpoint

    make_checkpoint(config.paths(home).checkpoint_dir("tiny"), 40, 6.9)
    code, out = check(capsys, "--model", "regular", "--list-checkpoints")
    assert code == 0 and "(no checkpoints)" in out, out
    assert out.strip().endswith("The tiny model has checkpoints (newest: checkpoint-40): pass --model tiny."), out
    code, out = check(capsys, "--model", "tiny", "--list-checkpoints")
    assert code == 0 and "checkpoint-40" in out and "pass --model" not in out, out


def test_the_guides_bare_check_names_the_script_and_the_model_that_has_checkpoints(tmp_path, capsys):
    """`python test_checkpoint.py` (regular) after ./run.sh on a CPU (which trains tiny): one line naming
    train_model.py and `--model tiny`; --list-checkpoints says the same under its empty table."""
    import config
    from run_records import make_checkpoint
    from london_llm.inference.check_cli import main

    home = tmp_path / "home"
    make_checkpoint(config.paths(home).checkpoint_dir("tiny"), 20, 3.5)
    make_checkpoint(config.paths(home).checkpoint_dir("tiny"), 40, 3.25)
    capsys.readouterr()
    code = main(["--home", str(home)], prog="test_checkpoint.py", description="check", default_model="regular",
                presets=config.PRESETS, paths_fn=config.paths)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "no complete checkpoint of the regular model" in err and "python 04_training/train_model.py" in err
    assert err.rstrip().endswith("The tiny model has checkpoints (newest: checkpoint-40): pass --model tiny."), err
    code, out = check(capsys, "--home", home, "--list-checkpoints")  # default slm here
    assert code == 0 and "(no checkpoints)" in out and out.rstrip().endswith("The tiny model has checkpoints (newest: checkpoint-40): pass --model tiny."), out
    code, out = check(capsys, "--home", home, "--list-checkpoints", "--model", "tiny")
    assert code == 0 and "tiny model has" not in out.lower() and "--model" not in out, out
    (tmp_path / "mine").mkdir()  # a folder of one's own names no model and no other model's checkpoints
    code, out = check(capsys, "--home", home, "--checkpoints_dir", tmp_path / "mine")
    assert code == 2 and f"no complete checkpoint in {tmp_path / 'mine'}: train into it first" in out, out
    assert "--model" not in out and "tiny model" not in out, out


def test_a_relative_checkpoint_path_is_found_under_the_artifact_root_from_anywhere(tmp_path, capsys, monkeypatch):
    """The guide's `--checkpoint_path 09_models/checkpoints/...` resolves as training's
    --resume_from_checkpoint does: from the current folder, then from the artifact root."""
    import config
    from run_records import make_checkpoint
    from london_llm.inference import check
    from london_llm.training import checkpoint as ckpt

    home = tmp_path / "home"
    paths = config.paths(home)
    made = make_checkpoint(paths.checkpoint_dir("tiny"), 30, 3.5)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    root = paths.checkpoint_dir("regular")
    assert check.pick_checkpoint(root, "09_models/checkpoints/tiny/checkpoint-30", home=paths.home) == made.resolve()
    with pytest.raises(ckpt.CheckpointNotFound) as err:  # the guide's placeholder, typed as it stands
        check.pick_checkpoint(paths.checkpoint_dir("slm"), "09_models/checkpoints/slm/checkpoint-XXXX.pt",
                              home=paths.home)
    message = str(err.value)
    assert "XXXX stands for a step number" in message
    looked = message.split("(looked for ")[1].split(").")[0].split(" or ")
    assert len(looked) == len(set(looked)) == 2, looked  # the current folder, then the artifact root: once each
