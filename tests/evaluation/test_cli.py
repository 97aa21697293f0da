"""london_llm.evaluation.cli: refusals before anything is evaluated, each one line naming its own fix."""
from __future__ import annotations

import pytest

import config
from london_llm.errors import run_command
from london_llm.evaluation.cli import main


def refuse(home, capsys, *args) -> str:
    capsys.readouterr()
    code = run_command(main, ["--model", "tiny", "--home", str(home), *args], prog="run_evaluation.py",
                       paths_fn=config.paths, presets=list(config.PRESETS))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("ERROR: "), err
    return err[0]


def test_no_checkpoint_names_the_fix_once(home, capsys):
    line = refuse(home, capsys)
    assert "no complete checkpoint" in line and line.count("pass --checkpoint") == 1, line


@pytest.mark.parametrize("args, about", [(["--threads", "0"], "--threads 0"), (["--device", "nonsense"], "nonsense")])
def test_an_unrelated_refusal_is_not_told_to_pass_checkpoint(home, capsys, args, about):
    # with the newest checkpoint found, "--threads 0: at least 1 (or pass --checkpoint)" sent a user after
    # the wrong flag
    from run_records import make_checkpoint

    make_checkpoint(home / "09_models" / "checkpoints" / "tiny", 10, 5.0)
    line = refuse(home, capsys, *args)
    assert about in line and "--checkpoint" not in line, line
