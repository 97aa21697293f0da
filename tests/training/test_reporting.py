"""london_llm.training.reporting: where reports go (W&B mode)."""
from __future__ import annotations

from london_llm.training.reporting import wandb_mode


def test_wandb_mode_never_goes_online_without_credentials(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    assert wandb_mode(False) == "offline"
    assert wandb_mode(True) == "disabled"
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert wandb_mode(False) == "online"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert wandb_mode(False) == "disabled"


class _Log:
    def __init__(self):
        self.lines = []

    def info(self, message):
        self.lines.append(message)

    warning = error = info


def _new_reporter(tmp_path, *, start_step, steps_total, model="slm"):
    from types import SimpleNamespace

    import torch

    from london_llm.settings import TrainConfig
    from london_llm.training.distributed import DistContext
    from london_llm.training.reporting import Reporter

    job = SimpleNamespace(logger=_Log(), ctx=DistContext(0, 0, 1, torch.device("cpu"), None), config=TrainConfig(),
                          identity=None, output_dir=tmp_path, wandb_mode="disabled", wandb_project="p",
                          run_name="r", wandb_dir=None, model_name=model)
    return Reporter(job, start_step=start_step, steps_total=steps_total, resumed=False, wandb_id=None)


def _reporter(tmp_path, *, start_step, steps_total, model="slm"):
    """A reporter with W&B off, past its opening line (tested below)."""
    reporter = _new_reporter(tmp_path, start_step=start_step, steps_total=steps_total, model=model)
    assert [line.split(" (")[0] for line in reporter.log.lines] == ["W&B is off"]
    reporter.log.lines.clear()
    return reporter


def test_with_wandb_off_the_log_says_where_the_metrics_go(tmp_path):
    """The guide's monitoring is the W&B dashboard: with it off (--no_wandb, WANDB_MODE=disabled) the
    run's opening lines say where the numbers go and the two commands that show them."""
    from london_llm.training.metrics import METRICS_FILE

    report = _new_reporter(tmp_path, start_step=0, steps_total=10, model="tiny")
    [line] = report.log.lines
    assert "--no_wandb or WANDB_MODE=disabled" in line and str(tmp_path / METRICS_FILE) in line, line
    assert f"10_scripts/training_status.py --model tiny --output_dir {tmp_path}" in line and "plot_training.py" in line
    report.close()


def test_cpu_warning_after_a_runs_only_step_names_no_zero_steps_left(tmp_path):
    """--max_steps 1 (or a resume one step short of the end): the warning came after the last step and
    said "the 0 steps left would take about 0 min"."""
    report = _reporter(tmp_path, start_step=0, steps_total=1)
    report.bar.update(1)
    report.first_step(12.0)
    report.close()
    [line] = report.log.lines
    assert "0 steps left" not in line and "0 min" not in line, line
    assert "12.0 s/step" in line and "last step" in line and "about 3 h)" in line and "--model tiny" in line, line


def test_cpu_warning_counts_the_steps_left(tmp_path):
    report = _reporter(tmp_path, start_step=10, steps_total=111)
    report.bar.update(1)
    report.first_step(6.0)
    report.close()
    [line] = report.log.lines
    assert "the 100 steps left would take about 10 min" in line, line


def test_a_failing_wandb_finish_is_said_not_swallowed(tmp_path, caplog):
    import logging

    from london_llm.training.reporting import WandbRun

    class Failing:
        def finish(self):
            raise RuntimeError("upload queue lost")

    logger = logging.getLogger("test.reporting.finish")
    run = WandbRun(mode="disabled", project="p", name="n", config={}, log_dir=tmp_path, logger=logger)
    run.run = Failing()
    with caplog.at_level(logging.WARNING, logger=logger.name):
        run.finish()
    assert "W&B finish failed (upload queue lost)" in caplog.text and run.run is None
