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


def test_a_refusing_rank_other_than_0_waits_for_rank_0_to_say_why(monkeypatch, tmp_path, capsys):
    """torchrun ends every worker once one fails: a rank 1 that refused first and left at once had rank 0
    killed before it printed the refusal (seen under CI load: no ERROR line at all). Rank 1 now waits,
    silent; rank 0 says it and leaves at once."""
    from london_llm.training import cli

    waits = []
    monkeypatch.setattr("time.sleep", waits.append)
    monkeypatch.setenv("RANK", "1")
    assert cli._refuse("tokenizer missing: run stage 03", tmp_path / "train.log", "slm") == 2
    assert waits == [cli.OTHER_RANKS_WAIT_S] and "tokenizer missing" not in capsys.readouterr().err
    monkeypatch.setenv("RANK", "0")
    waits.clear()
    assert cli._refuse("tokenizer missing: run stage 03", tmp_path / "train.log", "slm") == 2
    captured = capsys.readouterr()
    assert waits == [] and "tokenizer missing" in captured.out + captured.err


def test_on_another_node_its_local_rank_0_says_why(monkeypatch, tmp_path, capsys):
    """Multi-node: a problem only node 1 has (its tokenizer folder, say) is said there by its local rank 0."""
    from london_llm.training import cli

    waits = []
    monkeypatch.setattr("time.sleep", waits.append)
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert cli._refuse("tokenizer missing: run stage 03", tmp_path / "train.log", "slm") == 2
    captured = capsys.readouterr()
    assert waits == [] and "tokenizer missing" in captured.out + captured.err
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert cli._refuse("tokenizer missing: run stage 03", tmp_path / "train.log", "slm") == 2
    assert waits == [cli.OTHER_RANKS_WAIT_S] and "tokenizer missing" not in capsys.readouterr().err
