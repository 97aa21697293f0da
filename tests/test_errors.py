"""london_llm.errors: one base class, mapped to an exit code by the doors' run_command."""
from __future__ import annotations

import pytest

from london_llm.errors import EXIT_USAGE, LondonLLMError, run_command
from london_llm.pretokenize.format import PretokenizedIncompatible
from london_llm.tokenization.errors import TokenizerError
from london_llm.training.checkpoint import CheckpointError
from london_llm.training.errors import TrainingError
from london_llm.training.metrics import MonitorError
from london_llm.training.precision import PrecisionError
from london_llm.training.runlock import RunLocked


@pytest.mark.parametrize("cls", [TokenizerError, PretokenizedIncompatible, CheckpointError, TrainingError,
                                 MonitorError, PrecisionError, RunLocked])
def test_every_stage_error_is_a_london_llm_error(cls):
    assert issubclass(cls, LondonLLMError) and cls.exit_code == EXIT_USAGE == 2


def test_an_escaping_error_is_one_line_and_its_exit_code(capsys):
    def main(argv, *, name):
        raise TrainingError(f"{name}: no documents; run stage 02")

    assert run_command(main, ["--x"], name="train") == 2
    err = capsys.readouterr().err
    assert err == "ERROR: train: no documents; run stage 02\n"  # no traceback


def test_a_command_exit_status_and_arguments_pass_through():
    seen = []

    def main(argv, **kwargs):
        seen.append((argv, kwargs))
        return 1

    assert run_command(main, ["a"], paths_fn=len) == 1
    assert seen == [(["a"], {"paths_fn": len})]


def test_ctrl_c_is_one_line_and_the_shells_status(capsys):
    # e.g. Ctrl-C during historical_data_collector.py's cleaning printed a KeyboardInterrupt traceback
    def main(argv):
        raise KeyboardInterrupt

    try:
        status = run_command(main)
    except KeyboardInterrupt:  # escaping, it would also end this pytest session
        pytest.fail("Ctrl-C escaped run_command: the user sees a traceback")
    assert status == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "rerun the same command" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_any_other_exception_is_a_bug_and_keeps_its_traceback():
    def main(argv):
        raise KeyError("bug")

    with pytest.raises(KeyError):
        run_command(main)
