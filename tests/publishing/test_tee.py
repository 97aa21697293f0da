"""publishing.tee: the scripts' log, and run_logged, the one way both publishing scripts run."""
from __future__ import annotations

from types import SimpleNamespace

from london_llm.publishing.tee import run_logged
from london_llm.tokenization.errors import TokenizerError


def test_a_known_failure_is_one_logged_error_line_and_its_exit_code(tmp_path, capsys):
    log_file = tmp_path / "logs" / "publish.log"

    def run(args, defaults, *, log):
        log(f"Publishing {defaults}")
        raise TokenizerError("tokenizer.json is missing; run 03_tokenizer first")

    assert run_logged(run, SimpleNamespace(log_file=log_file), "slm") == 2
    out = capsys.readouterr()
    assert out.out == "Publishing slm\n"
    assert out.err == "ERROR: tokenizer.json is missing; run 03_tokenizer first\n"
    lines = log_file.read_text().splitlines()
    assert lines[0].endswith("INFO Publishing slm") and lines[1].endswith("ERROR ERROR: tokenizer.json is missing; "
                                                                          "run 03_tokenizer first")


def test_success_passes_the_status_on_and_ctrl_c_is_130(capsys):
    assert run_logged(lambda args, defaults, log: 0, SimpleNamespace(log_file=None), None) == 0

    def interrupted(args, defaults, *, log):
        raise KeyboardInterrupt

    assert run_logged(interrupted, SimpleNamespace(log_file=None), None) == 130
    assert "nothing half-written" in capsys.readouterr().err


def test_a_bug_is_not_swallowed():
    def broken(args, defaults, *, log):
        raise KeyError("bug")  # not a LondonLLMError: a bug keeps its traceback

    try:
        run_logged(broken, SimpleNamespace(log_file=None), None)
    except KeyError as exc:
        assert exc.args == ("bug",)
    else:
        raise AssertionError("an unknown exception was swallowed")
