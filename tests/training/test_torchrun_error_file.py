"""london_llm.training.distributed.record_error_for_torchrun: torchrun's report shows the run's one line."""
from __future__ import annotations

from london_llm.training.distributed import record_error_for_torchrun


def test_torchrun_reads_the_runs_line_as_the_root_cause(tmp_path, monkeypatch):
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError, ProcessFailure

    error_file = tmp_path / "error.json"
    monkeypatch.setenv("TORCHELASTIC_ERROR_FILE", str(error_file))
    record_error_for_torchrun("Checkpoint not found: 'checkpoint-7465' (looked for …)")
    failure = ProcessFailure(local_rank=0, pid=123, exitcode=2, error_file=str(error_file))
    report = ChildFailedError("train_model_slm.py", {0: failure}).format_msg()
    assert "traceback : Checkpoint not found: 'checkpoint-7465' (looked for …)" in report, report
    assert "<N/A>" not in report


def test_outside_torchrun_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv("TORCHELASTIC_ERROR_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    record_error_for_torchrun("anything")
    assert list(tmp_path.iterdir()) == []
