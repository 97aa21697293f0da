"""Helpers for the end-to-end stage 04 tests: run the real training scripts (python, torchrun, the
launchers) on real period text with the tiny preset, and read what they leave behind."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

from conftest import REPO

TRAIN_SLM = REPO / "04_training" / "train_model_slm.py"
TRAIN_REGULAR = REPO / "04_training" / "train_model.py"
LAUNCH = REPO / "launch_training.sh"
RESUME = REPO / "resume_training.sh"
STATUS = REPO / "10_scripts" / "training_status.py"
PLOT = REPO / "10_scripts" / "plot_training.py"
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
STOP_LINE = re.compile(r"stopped at step (\d+) after saving (\S+?)[;.]?(?:\s|$)")


def tiny_flags(inputs: dict, steps: int = 12, **overrides: str) -> list[str]:
    """A tiny run: every step logged, checkpoints every 5 steps, the shared tokenizer and data."""
    flags = {"--model": "tiny", "--max_steps": str(steps), "--save_steps": "5", "--eval_steps": "10",
             "--logging_steps": "1", "--eval_iters": "1", "--batch_size": "2", "--max_length": "64",
             "--warmup_steps": "5", "--workers": "1", "--tokenizer_dir": str(inputs["tokenizer"]),
             "--documents_file": str(inputs["documents"]), "--data_dir": str(inputs["data"])}
    flags.update(overrides)
    return ["--no_wandb"] + [word for pair in flags.items() for word in pair]


_TOKENIZERS: dict[Path, Path] = {}


def shared_tokenizer(small_documents: Path, root: Path) -> Path:
    """A 1,024-token tokenizer trained on the small documents once per session (into the first caller's
    `root`) and shared by every training test: read it, never write into it."""
    if small_documents not in _TOKENIZERS:
        from london_llm.tokenization.training import train_tokenizer

        _TOKENIZERS[small_documents] = train_tokenizer(small_documents, root / "tokenizer", vocab_size=1024,
                                                       show_progress=False)
    return _TOKENIZERS[small_documents]


_DATA: dict[tuple[Path, Path], Path] = {}


def shared_data(small_documents: Path, tokenizer: Path, root: Path) -> Path:
    """The tiny preset's pretokenized data for the shared tokenizer, built once per session (into the first
    caller's `root`) by the function the training script calls, with the script's settings: every run
    then finds it compatible and reuses it. Read it, never write into it. (The first run's build and its
    message are tested where a module keeps its own folder: test_train_model.py, test_train_guide.py.)"""
    key = (small_documents, tokenizer)
    if key not in _DATA:
        import config
        from london_llm.pretokenize.build import prepare_pretokenized

        tiny = config.PRESETS["tiny"]
        _DATA[key] = prepare_pretokenized(small_documents, tokenizer, root / "pretokenized", workers=1,
                                          val_fraction=tiny.val_fraction, seed=tiny.seed, log=lambda _m: None)
    return _DATA[key]


def make_inputs(small_documents: Path, root: Path) -> dict:
    """The shared tokenizer and the session's pretokenized data for it (shared_data), and this `root`."""
    tok = shared_tokenizer(small_documents, root)
    return {"documents": small_documents, "tokenizer": tok, "data": shared_data(small_documents, tok, root),
            "root": root}


def run(cmd: list, cwd: Path, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, env=dict(os.environ, LONDON_LLM_PYTHON=sys.executable, **env))


def train_in_process(capsys, *argv, script: Path = TRAIN_SLM) -> subprocess.CompletedProcess:
    """A training script's main in this process, through its door (run_command), for runs refused before
    they train: no interpreter start-up. Its output is stdout and stderr together, as `run` gives it."""
    import config
    from london_llm.errors import run_command
    from london_llm.training.cli import main

    capsys.readouterr()
    code = run_command(main, [str(a) for a in argv], prog=script.name, presets=config.PRESETS, paths_fn=config.paths,
                       default_model="slm" if script == TRAIN_SLM else "regular", description=script.stem)
    out = capsys.readouterr()
    return subprocess.CompletedProcess([script, *argv], code, out.out + out.err)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"{result.args}\n{result.stdout[-6000:]}"
    return result.stdout


def metric_lines(folder: Path) -> list[dict]:
    path = folder / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def wait_for_step(folder: Path, step: int, procs: list, timeout: float = 180) -> None:
    """Until metrics.jsonl holds a train record at `step` or later (the run is mid-way)."""
    deadline = time.time() + timeout
    path = folder / "metrics.jsonl"
    while time.time() < deadline:
        if path.exists():
            for line in path.read_text().splitlines():
                if line.endswith("}") and json.loads(line).get("step", -1) >= step:
                    return
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(f"{p.args} ended (rc {p.returncode}) before step {step}")
        time.sleep(0.05)
    raise AssertionError(f"no step {step} in {path} within {timeout}s")


def stop_of(log_text: str) -> tuple[int, Path]:
    """The step and checkpoint named by the run's stop line."""
    found = STOP_LINE.findall(log_text)
    assert len(found) == 1, f"expected one stop line, found {found}:\n{log_text[-4000:]}"
    return int(found[0][0]), Path(found[0][1])


def assert_stopped_with_checkpoint(out: Path, log_file: Path, *reasons: str) -> int:
    """The run left a complete checkpoint at the step it stopped at, logged why (any one of `reasons`: some
    stops race, e.g. Ctrl-C reaches tee before the workers), and released its lock."""
    from london_llm.training.checkpoint import verify

    text = log_file.read_text(encoding="utf-8")
    step, path = stop_of(text)
    assert any(reason in text for reason in reasons), f"none of {reasons!r} in the log:\n{text[-3000:]}"
    assert path == out / f"checkpoint-{step}" and verify(path) is None, path
    last_train = max(r["step"] for r in metric_lines(out) if r["kind"] == "train")
    assert last_train == step, (last_train, step)
    assert not (out / "training.lock").exists(), "a stale lock was left behind"
    return step


def kill_quietly(*procs: Optional[subprocess.Popen]) -> None:
    for p in procs:
        if p is not None and p.poll() is None:
            p.kill()
            p.wait(timeout=30)
