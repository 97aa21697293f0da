"""./run.sh's own lines (each stage's command and time, a failure, the summary) go to
<home>/logs/pipeline.log as well as the terminal; a dry run writes nothing."""
from __future__ import annotations

import subprocess

import config
from conftest import REPO
from london_llm import pipeline


def _main(argv, monkeypatch, returncodes):
    codes = iter(returncodes)
    ran = []

    def fake_run(cmd, *a, **k):
        ran.append(cmd)
        return subprocess.CompletedProcess(cmd, next(codes))
    monkeypatch.setattr(pipeline.subprocess, "run", fake_run)
    return pipeline.main(argv, root=REPO, presets=config.PRESETS, paths_fn=config.paths, home_env=config.HOME_ENV,
                         prog="run_pipeline.py"), ran


def test_the_pipeline_logs_its_stages_and_a_failure_to_a_file(tmp_path, monkeypatch, capsys):
    rc, ran = _main(["--home", str(tmp_path), "--model", "tiny", "--stages", "environment", "data"],
                    monkeypatch, [0, 3])
    assert rc == 3 and len(ran) == 2
    log = (tmp_path / "logs" / pipeline.LOG_NAME).read_text(encoding="utf-8")
    assert "INFO == environment: " in log and "setup_environment.py --check" in log
    assert "INFO == environment: done in" in log
    assert "ERROR stage 'data' failed (exit 3)" in log
    assert all(line[:4].isdigit() for line in log.splitlines())  # every line time-stamped, no blank ones
    err = capsys.readouterr().err
    assert "stage 'data' failed (exit 3)" in err  # the terminal still gets it, on stderr


def test_a_dry_run_writes_no_log(tmp_path, monkeypatch, capsys):
    rc, ran = _main(["--home", str(tmp_path), "--model", "tiny", "--dry_run"], monkeypatch, [])
    assert rc == 0 and not ran and "== environment" in capsys.readouterr().out
    assert not (tmp_path / "logs").exists()
