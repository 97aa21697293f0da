"""The training guide's commands as a new user meets them: a context-length change reuses the token
files, the first command after `./run.sh` on a CPU ends in one line of advice, the slm preset on a
CPU says how long it would take, MFU is a percentage everywhere, the training log names each run,
and --help and warnings read clean. Through the real scripts, with the tiny preset."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from training_runs import (STATUS, TORCHRUN, TRAIN_REGULAR, TRAIN_SLM, make_inputs, metric_lines, ok, run, tiny_flags,
                           train_in_process)


@pytest.fixture(scope="module")
def inputs(small_documents, tmp_path_factory) -> dict:
    return make_inputs(small_documents, tmp_path_factory.mktemp("guide"))


@pytest.fixture(scope="module")
def guide_runs(inputs, tmp_path_factory) -> dict:
    """The guide's runs, made once and read by several tests: a 3-step run that builds the token files
    (then training_status.py on it), and two runs at other context lengths that reuse them (all three
    appending to one training log)."""
    root = tmp_path_factory.mktemp("guide_runs")
    data, log_file = root / "data", root / "model_training.log"

    def train(name: str, steps: int, *flags, log: bool = True) -> str:
        extra = ["--log_file", log_file] if log else []
        return ok(run([sys.executable, TRAIN_SLM, *tiny_flags(inputs, steps, **{"--data_dir": str(data)}), *flags,
                       "--output_dir", root / name, *extra], cwd=root))

    runs = {"root": root, "data": data, "log_file": log_file, "first": train("a", 3)}
    runs["files"] = {name: (data / name).stat() for name in ("train.bin", "val.bin", "metadata.json")}
    runs["status"] = ok(run([sys.executable, STATUS, "--output_dir", root / "a", "--model", "tiny"], cwd=root))
    runs["again"] = []
    for flags in (["--max_length", "32"], ["--max_length", "128", "--use_pretokenized"]):
        text = train(f"b{flags[1]}", 2, *flags)
        runs["again"].append((text, {name: (data / name).stat() for name in runs["files"]}))
    return runs


def test_a_context_length_change_reuses_the_token_files(guide_runs):
    assert "Pre-tokenized data not found" in guide_runs["first"]
    for again, files in guide_runs["again"]:
        assert "Using pre-tokenized data" in again and "mismatch" not in again.lower(), again
        for name, stat in guide_runs["files"].items():
            now = files[name]
            assert (now.st_ino, now.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns), f"{name} was rebuilt"


def _after_run_sh(inputs, home: Path) -> None:
    """What ./run.sh leaves on a CPU: the tiny model's tokenizer only (and the documents)."""
    sys.path.insert(0, str(REPO))
    import config

    paths = config.paths(home)
    tiny_tok = paths.tokenizer_dir.with_name(paths.tokenizer_dir.name + "_tiny")
    shutil.copytree(inputs["tokenizer"], tiny_tok)
    paths.documents_file.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(inputs["documents"], paths.documents_file)


def _one_line_advice(output: str) -> str:
    lines = [line for line in output.splitlines() if "ERROR" in line]
    assert len(lines) == 1, output
    assert "03_tokenizer/train_historical_tokenizer.py" in lines[0] and "--model tiny" in lines[0], lines[0]
    assert str(REPO / "london_llm") not in output, output  # no traceback through our code
    return lines[0]


def test_the_guides_first_command_after_run_sh_on_a_cpu_says_what_to_run_first(inputs, tmp_path):
    home = tmp_path / "home"
    _after_run_sh(inputs, home)
    env = {"LONDON_LLM_HOME": str(home)}
    plain = run([sys.executable, "train_model_slm.py", "--no_wandb"], cwd=REPO / "04_training", **env)
    assert plain.returncode == 2
    _one_line_advice(plain.stdout)


@pytest.mark.slow
def test_the_guides_torchrun_command_after_run_sh_says_it_once(inputs, tmp_path):
    home = tmp_path / "home"
    _after_run_sh(inputs, home)
    result = run([*TORCHRUN, "--nproc_per_node=2", "train_model_slm.py", "--no_wandb"], cwd=REPO / "04_training",
                 LONDON_LLM_HOME=str(home))
    assert result.returncode != 0
    _one_line_advice(result.stdout)


def test_the_slm_preset_on_a_cpu_says_how_long_and_how_to_train_tiny(inputs, tmp_path):
    # its own data folder: the slm preset's split differs from tiny's, so the shared data would be rebuilt
    flags = tiny_flags(inputs, 2, **{"--model": "slm", "--batch_size": "1", "--save_steps": "100",
                                     "--data_dir": str(tmp_path / "data")})
    out = ok(run([sys.executable, TRAIN_SLM, *flags, "--output_dir", tmp_path / "slm"], cwd=tmp_path))
    advice = [line for line in out.splitlines() if "--model tiny" in line]
    assert len(advice) == 1 and "WARNING" in advice[0] and re.search(r"\d+(\.\d+)? s/step", advice[0]), out
    assert "CPU" in advice[0], advice[0]


def test_mfu_is_a_percentage_in_the_log_the_metrics_and_the_status(guide_runs):
    out, text = guide_runs["root"] / "a", guide_runs["first"]
    logged = {int(m.group(1)): float(m.group(2)) for m in re.finditer(r"step (\d+)/\d+: .*MFU ([\d.]+)%", text)}
    recorded = {r["step"]: r["train/mfu"] for r in metric_lines(out) if r["kind"] == "train"}
    assert logged.keys() == recorded.keys() == {1, 2, 3}
    for step, value in recorded.items():
        assert f"{value:.1f}" == f"{logged[step]:.1f}", (step, value, logged[step])
    assert f"MFU {recorded[3]:.1f}%" in guide_runs["status"], guide_runs["status"]


def test_the_training_log_names_each_run_and_logs_warnings_as_warnings(guide_runs):
    root = guide_runs["root"]
    text = guide_runs["log_file"].read_text()
    headers = [line for line in text.splitlines() if "=====" in line]
    assert len(headers) == 3, headers
    for header, name in zip(headers, ("a", "b32", "b128")):
        assert f"output {root / name} " in header, (name, header)
    tags = {re.search(r"\[(tiny [^\]]+)\]", line).group(1) for line in text.splitlines() if line.strip()}
    assert len(tags) == 3, tags  # every line carries its run's tag
    assert "INFO Warning" not in text and "WARNING" in text  # "Pre-tokenized data not found" is a warning


def test_help_says_each_default_once():
    out = subprocess.run([sys.executable, TRAIN_REGULAR, "--help"], capture_output=True, text=True, timeout=60,
                         cwd="/").stdout
    assert "(default: None)" not in out
    squashed = " ".join(out.split())
    for flag in ("--output_dir", "--home", "--tokenizer_dir", "--resume_from_checkpoint", "--branch"):
        part = squashed.split(flag, 1)[1][:400]
        assert part.count("(default") <= 1, (flag, part)


def test_nothing_to_train_says_so_plainly(inputs, guide_runs, capsys):
    """The first run's command again with a smaller --max_steps: a finished 3-step run asked for 2 steps.
    In this process, through the script's door: it ends before any step, so no interpreter start-up."""
    flags = tiny_flags(inputs, 2, **{"--data_dir": str(guide_runs["data"])})
    again = ok(train_in_process(capsys, *flags, "--output_dir", guide_runs["root"] / "a"))
    assert "step 3 of 2" not in again and "nothing to train" in again.lower() and "--max_steps" in again, again


def test_without_the_environment_the_guides_command_names_it(tmp_path):
    """`python3 04_training/train_model.py --batch_size 1` from a python that lacks the project's packages."""
    bare = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if Path(p).is_file()), None)
    if bare is None or subprocess.run([bare, "-c", "import torch"], capture_output=True).returncode == 0:
        pytest.skip("no python without torch on this machine")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run([bare, str(TRAIN_REGULAR), "--batch_size", "1"], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ModuleNotFoundError" not in result.stderr, result.stderr
    assert "environment" in lines[0] and "./launch_training.sh" in lines[0] and "activate" in lines[0], lines[0]


def test_out_of_memory_ends_in_one_line_naming_the_smaller_batch(inputs, tmp_path, capsys, monkeypatch):
    """The guide's "Out of memory" (CUDA out of memory → reduce the batch size): a run that runs out of
    device memory mid-way ends with exit 2 and one line naming the flags that fit the same step and the
    command that goes on from its last checkpoint, not torch's traceback. The device's failure is stood in
    for by torch's own OutOfMemoryError from the third optimizer step on (no GPU here)."""
    import torch

    import london_llm.training.loop as loop

    real, calls = loop.optimizer_step, []

    def step_then_run_out(*args, **kwargs):
        calls.append(1)
        if len(calls) > 6:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "optimizer_step", step_then_run_out)
    out_dir = tmp_path / "run"
    result = train_in_process(capsys, *tiny_flags(inputs, 10), "--output_dir", out_dir)
    assert result.returncode == 2, result.stdout
    errors = [line for line in result.stdout.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "Traceback" not in result.stdout, result.stdout
    assert "out of memory on cpu with --batch_size 2 sequences of --max_length 64" in errors[0], errors[0]
    assert errors[0].endswith(f"Go on from {out_dir / 'checkpoint-5'} with them: rerun the same command (it resumes "
                              "the newest checkpoint), adding --batch_size 1 --gradient_accumulation_steps 2"), errors[0]


def test_the_evaluation_line_has_the_guides_names(guide_runs):
    """The guide's "Evaluation Results": {'eval_loss': ..., 'eval_runtime': ..., 'eval_samples_per_second': ...,
    'eval_steps_per_second': ..., 'epoch': ...}; ours also says the perplexity and the training loss."""
    line = re.search(r"\{'eval_loss': [\d.]+, 'eval_ppl': [\d.]+, 'train_loss': [\d.]+, 'eval_runtime': ([\d.]+), "
                     r"'eval_samples_per_second': ([\d.]+), 'eval_steps_per_second': ([\d.]+), 'epoch': [\d.]+\}",
                     guide_runs["first"])
    assert line, guide_runs["first"]
    runtime, samples_s, steps_s = map(float, line.groups())
    # --eval_iters 1 batch of --batch_size 2 sequences, in one process
    assert runtime > 0 and abs(samples_s * runtime - 2) < 0.05 and abs(steps_s * runtime - 1) < 0.05, line.group(0)


def test_a_set_aside_run_resumed_where_the_error_says_reuses_its_folders_token_files(inputs, tmp_path, capsys):
    """After ./launch_training.sh by mistake (the guide's "high loss instead of resuming"), the old checkpoint
    is resumed in previous_runs/<time>/ as the not-found error says: the token files of the folder it came
    from are reused, not rebuilt inside previous_runs/ (minutes for the whole corpus). In this process."""
    flags = [w for w in tiny_flags(inputs, 5) if w not in ("--data_dir", str(inputs["data"]))]
    out = tmp_path / "run"
    ok(train_in_process(capsys, *flags, "--output_dir", out))
    fresh = ok(train_in_process(capsys, *flags, "--output_dir", out, "--fresh"))
    aside = next(out.glob("previous_runs/*/checkpoint-5"))
    assert f"started by mistake? stop this run and resume the old one there: ./resume_training.sh {aside})" in fresh
    again = ok(train_in_process(capsys, *flags, "--max_steps", "6", "--resume_from_checkpoint", aside,
                                "--output_dir", aside.parent))
    assert f"Using pre-tokenized data in {out / 'pretokenized_data'}" in again, again
    assert "Pre-tokenized data not found" not in again and not (aside.parent / "pretokenized_data").exists()
    assert (aside.parent / "checkpoint-6").is_dir()
