"""Stage 04 end to end, the way a user runs it: the training and checkpoint scripts as subprocesses,
on real period text from ../shared/corpus, with the tiny preset and a small tokenizer."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

pytestmark = pytest.mark.slow  # every test here trains or launches a real run

REPO = Path(__file__).resolve().parents[2]
TRAIN = REPO / "04_training" / "train_model_slm.py"
CHECK = REPO / "04_training" / "test_checkpoint_slm.py"
STEPS = 24
# small and quick: every step logged, a checkpoint every 5 steps (README: tiny preset)
SHORT = ["--model", "tiny", "--no_wandb", "--max_steps", str(STEPS), "--save_steps", "5", "--eval_steps", "10",
         "--logging_steps", "1", "--eval_iters", "2", "--batch_size", "4", "--max_length", "64",
         "--warmup_steps", "5"]


@pytest.fixture(scope="module")
def setup(small_documents, tmp_path_factory):
    """The shared tokenizer trained on the small real corpus, and this module's pretokenized data (built by the first run)."""
    from training_runs import shared_tokenizer

    root = tmp_path_factory.mktemp("train")
    tok = shared_tokenizer(small_documents, root)
    return {"root": root, "docs": small_documents, "tok": tok, "data": root / "pretokenized"}


def train(setup, out: Path, *extra: str, data_dir: Path | None = None, wait: bool = True, cwd: Path | None = None,
          capsys=None):
    """The training script as a subprocess; with `capsys`, its main in this process (for runs refused early)."""
    args = [sys.executable, str(TRAIN), *SHORT, "--tokenizer_dir", str(setup["tok"]),
            "--documents_file", str(setup["docs"]), "--data_dir", str(data_dir or setup["data"]),
            "--output_dir", str(out), "--log_file", str(out.parent / f"{out.name}.log"), *extra]
    if capsys is not None:
        from training_runs import train_in_process

        return train_in_process(capsys, *args[2:])
    kwargs = dict(cwd=cwd or setup["root"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if not wait:
        return subprocess.Popen(args, **kwargs)
    return subprocess.run(args, timeout=300, **kwargs)


def check_in_process(capsys, *args) -> subprocess.CompletedProcess:
    """test_checkpoint_slm.py's main in this process, through the door's run_command (no interpreter start-up)."""
    import config
    from london_llm.errors import run_command
    from london_llm.inference.check_cli import main

    capsys.readouterr()
    code = run_command(main, [str(a) for a in args], prog=CHECK.name, default_model="slm", presets=config.PRESETS,
                       paths_fn=config.paths, description="Check an SLM checkpoint")
    out = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out.out, out.err)


def records(out: Path) -> list[tuple]:
    """(step, kind, loss) of every event of the run's timeline: its loss curve. metrics.jsonl keeps every
    line (steps a killed run logged past its checkpoint are logged again); the reader follows the timeline."""
    from london_llm.training.metrics import read_metrics

    return [(r["step"], r["kind"], r.get("train/loss", r.get("eval/val_loss"))) for r in read_metrics(out).records]


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), f"{key} differs between {a} and {b}"


def wait_for_step(proc: subprocess.Popen, out: Path, step: int, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    metrics = out / "metrics.jsonl"
    while time.time() < deadline:
        if metrics.exists() and any(json.loads(line)["step"] >= step
                                    for line in metrics.read_text().splitlines() if line.endswith("}")):
            return
        if proc.poll() is not None:
            raise AssertionError(f"training ended before step {step}:\n{proc.stdout.read()}")
        time.sleep(0.02)
    proc.kill()
    raise AssertionError(f"no step {step} within {timeout}s")


@pytest.fixture(scope="module")
def reference(setup):
    """One uninterrupted run: the baseline every interrupted run must reproduce exactly."""
    out = setup["root"] / "reference"
    result = train(setup, out)
    assert result.returncode == 0, result.stdout
    return out, result.stdout


def test_loss_falls_and_every_checkpoint_loads_and_generates(reference, setup):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out, log = reference
    assert "Pre-tokenized data not found" in log  # first run builds the data, saying why
    rows = records(out)
    train_losses = [loss for step, kind, loss in rows if kind == "train"]
    assert [s for s, k, _ in rows if k == "train"] == list(range(1, STEPS + 1))
    assert sum(train_losses[-4:]) / 4 < sum(train_losses[:4]) / 4 - 0.5, train_losses
    events = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    for key in ("train/loss", "train/lr", "train/mfu", "train/iter", "train/dt_ms", "train/grad_norm",
                "train/tokens_per_sec"):
        assert key in events[0]
    evals = [e for e in events if e["kind"] == "eval"]
    assert [e["step"] for e in evals] == [10, 20, 24]
    assert {"eval/val_loss", "eval/val_ppl", "eval/train_loss"} <= evals[0].keys()
    checkpoints = sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    assert [p.name for p in checkpoints] == ["checkpoint-5", "checkpoint-10", "checkpoint-15", "checkpoint-20",
                                             "checkpoint-24"]
    for folder in checkpoints:
        model = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        real_vocab = len(tokenizer)
        assert model.config.vocab_size % 64 == 0 and model.config.vocab_size >= real_vocab
        ids = tokenizer("The prisoner was indicted for", return_tensors="pt").input_ids
        torch.manual_seed(0)
        out_ids = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=40, do_sample=True,
                                 top_k=0, temperature=5.0, pad_token_id=tokenizer.pad_token_id)
        new = out_ids[0, ids.shape[1]:]
        assert len(new) > 0 and int(new.max()) < real_vocab  # padded ids never come out, even at high temperature
        state = json.loads((folder / "trainer_state.json").read_text())
        assert state["step"] == int(folder.name.split("-")[1]) and state["config"]["max_length"] == 64
    final = json.loads((checkpoints[-1] / "trainer_state.json").read_text())
    assert final["final"] is True and final["last_val_loss"] == evals[-1]["eval/val_loss"]
    # each loss says where it was measured: checkpoint-15 (a save step between evaluations) only carries step 10's
    saved = {p.name: json.loads((p / "trainer_state.json").read_text()) for p in checkpoints}
    assert final["last_val_step"] == 24 and saved["checkpoint-10"]["last_val_step"] == 10
    assert saved["checkpoint-15"]["last_val_step"] == 10 and saved["checkpoint-5"]["last_val_step"] is None
    assert saved["checkpoint-15"]["last_val_loss"] == evals[0]["eval/val_loss"]
    best = min(evals, key=lambda e: e["eval/val_loss"])
    assert (final["best_val_loss"], final["best_val_step"]) == (best["eval/val_loss"], best["step"])
    assert "Saving model checkpoint to" in (out.parent / "reference.log").read_text()
    assert not (out / "training.lock").exists()


def test_checkpoint_script_lists_and_generates(reference, setup, capsys):
    out, _ = reference
    listing = subprocess.run([sys.executable, str(CHECK), "--checkpoints_dir", str(out), "--list-checkpoints"],
                             capture_output=True, text=True, timeout=120, cwd=setup["root"])
    assert listing.returncode == 0, listing.stderr
    assert "checkpoint-24" in listing.stdout and "checkpoint-5 " in listing.stdout and " ok" in listing.stdout
    row15 = next(line for line in listing.stdout.splitlines() if "checkpoint-15 " in line)
    assert "(step 10)" in row15, listing.stdout  # a carried loss is marked with where it was measured
    # the script's door runs twice as a subprocess (listing, interactive); the rest in this process
    run = check_in_process(capsys, "--checkpoints_dir", out, "--checkpoint_path", "checkpoint-20.pt", "--prompt",
                           "Parliament sat in Westminster Hall", "--max_new_tokens", "10", "--eval_batches", "2")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "checkpoint-20: step 20" in run.stdout
    assert "validation loss:" in run.stdout and "perplexity" in run.stdout
    assert "Prompt: Parliament sat in Westminster Hall" in run.stdout
    interactive = subprocess.run([sys.executable, str(CHECK), "--checkpoints_dir", str(out), "--interactive",
                                  "--eval_batches", "0", "--max_new_tokens", "5"],
                                 input="The prisoner was indicted for\n\n", capture_output=True, text=True,
                                 timeout=120, cwd=setup["root"])
    assert interactive.returncode == 0, interactive.stdout + interactive.stderr
    assert "checkpoint-24: step 24" in interactive.stdout  # the newest by default
    assert "> The prisoner was indicted for" in interactive.stdout and "tokens/s" in interactive.stdout  # the core's session
    wrong = check_in_process(capsys, "--checkpoints_dir", out, "--checkpoint_path", "checkpoint-999")
    assert wrong.returncode == 2 and "checkpoint-999" in wrong.stderr and "checkpoint-24" in wrong.stderr
    assert "--checkpoint_path" in wrong.stderr and "--resume_from_checkpoint" not in wrong.stderr  # this script's flag
    empty = check_in_process(capsys, "--checkpoints_dir", setup["root"] / "none", "--checkpoint_path", "checkpoint-20")
    assert empty.returncode == 2 and "no checkpoints exist" in empty.stderr and "--model" in empty.stderr
    assert "one of these" not in empty.stderr


def test_sigkill_at_any_step_then_auto_resume_is_exact(reference, setup):
    ref, _ = reference
    out = setup["root"] / "killed"
    kill_at = random.Random().randint(7, 18)
    proc = train(setup, out, wait=False)
    wait_for_step(proc, out, kill_at)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert (out / "training.lock").exists()  # a dead process leaves its lock behind
    resumed = train(setup, out)
    assert resumed.returncode == 0, resumed.stdout
    assert "Resuming from the newest complete checkpoint" in resumed.stdout
    assert "Taking over a stale lock" in resumed.stdout
    assert "Using pre-tokenized data" in resumed.stdout  # compatible data is reused, not rebuilt
    assert records(out) == records(ref), f"killed at step {kill_at}"
    assert_same_weights(out / f"checkpoint-{STEPS}", ref / f"checkpoint-{STEPS}")


def test_sigterm_saves_a_checkpoint_that_resumes_exactly(reference, setup):
    ref, _ = reference
    out = setup["root"] / "terminated"
    proc = train(setup, out, wait=False)
    wait_for_step(proc, out, 7)
    proc.send_signal(signal.SIGTERM)
    log, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, log
    assert "SIGTERM received: stopped at step" in log
    stopped_at = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["step"]
    assert (out / f"checkpoint-{stopped_at}").is_dir() and stopped_at < STEPS
    assert not (out / "training.lock").exists()
    resumed = train(setup, out, "--resume_from_checkpoint", f"checkpoint-{stopped_at}")
    assert resumed.returncode == 0, resumed.stdout
    assert records(out) == records(ref)
    assert_same_weights(out / f"checkpoint-{STEPS}", ref / f"checkpoint-{STEPS}")


def test_corrupt_newest_checkpoint_is_passed_over(reference, setup):
    ref, _ = reference
    out = setup["root"] / "corrupt"
    out.mkdir()
    for name in ("checkpoint-5", "checkpoint-10"):
        shutil.copytree(ref / name, out / name)
    shutil.copy(ref / "metrics.jsonl", out / "metrics.jsonl")
    weights_file = out / "checkpoint-10" / "model.safetensors"
    data = bytearray(weights_file.read_bytes())
    data[-100:] = bytes(100)  # flipped bytes, same size: only the sha256 tells
    weights_file.write_bytes(bytes(data))
    result = train(setup, out)
    assert result.returncode == 0, result.stdout
    assert "skipping" in result.stdout and "checkpoint-10" in result.stdout and "sha256" in result.stdout
    assert "Resuming from the newest complete checkpoint" in result.stdout and "checkpoint-5 " in result.stdout
    assert_same_weights(out / "checkpoint-10", ref / "checkpoint-10")  # rewritten by the resumed run
    assert_same_weights(out / f"checkpoint-{STEPS}", ref / f"checkpoint-{STEPS}")


def test_wrong_checkpoint_name_lists_the_existing_ones(reference, setup, capsys):
    ref, _ = reference
    result = train(setup, ref, "--resume_from_checkpoint", "checkpoint-3000", capsys=capsys)  # refused: in-process
    assert result.returncode == 2
    assert "Checkpoint not found: 'checkpoint-3000'" in result.stdout
    assert "checkpoint-20" in result.stdout and "checkpoint-24" in result.stdout


def test_second_live_run_is_refused(reference, setup):
    from london_llm.training.runlock import RunLock

    out = setup["root"] / "locked"
    with RunLock(out):  # this test process is the live run
        result = train(setup, out)
    assert result.returncode == 2
    assert "Another training run is writing to" in result.stdout and str(os.getpid()) in result.stdout
    assert not list(out.glob("checkpoint-*"))


def test_pretokenization_rules_through_the_script(reference, setup, capsys):
    data = setup["root"] / "pretok_data"
    shutil.copytree(setup["data"], data)  # built by the reference run (max_length 64)
    out = setup["root"] / "pretok"
    created = json.loads((data / "metadata.json").read_text())["created"]
    # another context length: the flat token stream fits it, with or without --use_pretokenized
    reused = train(setup, out, "--use_pretokenized", "--max_length", "32", "--max_steps", "1", data_dir=data)
    assert reused.returncode == 0 and "Using pre-tokenized data" in reused.stdout, reused.stdout
    assert json.loads((data / "metadata.json").read_text())["created"] == created
    # another split: --use_pretokenized fails naming the reason and changes nothing; the default warns and rebuilds
    refused = train(setup, out, "--use_pretokenized", "--val_fraction", "0.2", "--max_length", "32", data_dir=data,
                    capsys=capsys)  # refused before training: in-process
    assert refused.returncode == 2 and "Split settings changed" in refused.stdout, refused.stdout
    assert json.loads((data / "metadata.json").read_text())["created"] == created
    rebuilt = train(setup, out, "--fresh", "--val_fraction", "0.2", "--max_length", "32", "--max_steps", "1",
                    data_dir=data)
    assert rebuilt.returncode == 0, rebuilt.stdout
    assert "WARNING Split settings changed" in rebuilt.stdout  # a warning, logged as one
    assert json.loads((data / "metadata.json").read_text())["val_fraction"] == 0.2
    # --no_pretokenized rebuilds even compatible data
    created = json.loads((data / "metadata.json").read_text())["created"]
    forced = train(setup, out, "--val_fraction", "0.2", "--max_length", "32", "--max_steps", "2", "--no_pretokenized",
                   data_dir=data)
    assert forced.returncode == 0, forced.stdout
    assert "Pre-tokenized" in forced.stdout and json.loads((data / "metadata.json").read_text())["created"] != created
    assert "Resuming from the newest complete checkpoint" in forced.stdout  # from the run before it


def test_fresh_keeps_earlier_checkpoints_aside(reference, setup, tmp_path):
    out = setup["root"] / "fresh"
    # no credentials and no network: W&B runs offline, into logs/wandb under the artifact root
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB")}
    env.update(HOME=str(tmp_path), NETRC=str(tmp_path / "no-netrc"))
    first = subprocess.run([sys.executable, str(TRAIN), *[a for a in SHORT if a != "--no_wandb"], "--max_steps", "1",
                            "--home", str(tmp_path), "--tokenizer_dir", str(setup["tok"]), "--documents_file",
                            str(setup["docs"]), "--data_dir", str(setup["data"]), "--output_dir", str(out)],
                           env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "(offline)" in first.stderr and list((tmp_path / "logs" / "wandb").glob("offline-run-*"))
    # the guide's "WandB Training Summary" names, as W&B recorded them (the run file is binary: look for the keys)
    recorded = b"".join(f.read_bytes() for f in (tmp_path / "logs" / "wandb").glob("offline-run-*/run-*.wandb"))
    for name in ("eval/iter", "eval/train_loss", "eval/val_loss", "eval/val_ppl", "train/dt_ms", "train/iter",
                 "train/loss", "train/lr", "train/mfu"):
        assert name.encode() in recorded, name
    again = train(setup, out, "--max_steps", "1", "--fresh")
    assert again.returncode == 0, again.stdout
    assert "Resuming" not in again.stdout and "moved 1 earlier checkpoint" in again.stdout
    assert list(out.glob("previous_runs/*/checkpoint-1")) and (out / "checkpoint-1").is_dir()


def test_help_documents_every_flag():
    result = subprocess.run([sys.executable, str(REPO / "04_training" / "train_model.py"), "--help"],
                            capture_output=True, text=True, timeout=60, cwd="/")
    assert result.returncode == 0
    for flag in ("--resume_from_checkpoint", "--no_pretokenized", "--use_pretokenized", "--batch_size", "--fresh",
                 "--output_dir", "--tokenizer_dir", "--documents_file", "--no_wandb", "--device", "--model",
                 "--print_config", "--learning_rate", "--gradient_accumulation_steps", "--dtype", "--compile"):
        assert flag in result.stdout
    for script in ("test_checkpoint.py", "test_checkpoint_slm.py", "test_slm_checkpoint.py"):
        helped = subprocess.run([sys.executable, str(REPO / "04_training" / script), "--help"],
                                capture_output=True, text=True, timeout=60, cwd="/")
        assert helped.returncode == 0 and "--list-checkpoints" in helped.stdout and "--interactive" in helped.stdout


def test_resuming_with_another_tokenizer_is_refused(reference, setup):
    ref, _ = reference
    from london_llm.tokenization.training import train_tokenizer

    other = train_tokenizer(setup["docs"], setup["root"] / "other_tokenizer", vocab_size=1100, show_progress=False)
    result = train(setup, ref, "--tokenizer_dir", str(other))
    assert result.returncode == 2
    assert "is not the one" in result.stdout and str(other) in result.stdout


def test_resuming_without_tokenizer_dir_uses_the_checkpoints_tokenizer(reference, setup, tmp_path):
    # ./run.sh --model tiny trains its tokenizer into <tokenizer>_tiny; ./resume_training.sh checkpoint-N passes
    # no --tokenizer_dir, so the default folder is missing (or another tokenizer): the checkpoint's copy is used
    ref, _ = reference
    out = tmp_path / "resumed"
    shutil.copytree(ref, out, ignore=shutil.ignore_patterns("*.lock"))
    args = [sys.executable, str(TRAIN), *SHORT, "--home", str(tmp_path / "home"), "--documents_file",
            str(setup["docs"]), "--data_dir", str(setup["data"]), "--output_dir", str(out),
            "--resume_from_checkpoint", "checkpoint-20", "--max_steps", "21"]
    result = subprocess.run(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert result.returncode == 0, result.stdout
    assert "Using the tokenizer saved in" in result.stdout and (out / "checkpoint-21").is_dir()


def test_tiny_defaults_to_the_pipelines_tiny_tokenizer(tmp_path):
    from london_llm.settings import default_tokenizer_dir

    base = tmp_path / "london_historical_tokenizer"
    assert default_tokenizer_dir(base, "tiny") == base  # no tiny tokenizer: stage 03's
    (tmp_path / "london_historical_tokenizer_tiny").mkdir()
    assert default_tokenizer_dir(base, "tiny") == tmp_path / "london_historical_tokenizer_tiny"
    assert default_tokenizer_dir(base, "slm") == base


def test_explicit_resume_from_an_older_checkpoint_sets_the_later_ones_aside(reference, setup):
    """Going back to checkpoint-10 branches the run: checkpoint-15..24 of the old branch are kept aside,
    so a later auto-resume continues the new branch, and the new branch reproduces the reference."""
    ref, _ = reference
    out = setup["root"] / "branch"
    shutil.copytree(ref, out, ignore=shutil.ignore_patterns("pretokenized_data", "*.lock"))
    result = train(setup, out, "--resume_from_checkpoint", "checkpoint-10")
    assert result.returncode == 0, result.stdout
    assert "later checkpoint(s) of the abandoned branch" in result.stdout
    aside = list(out.glob("previous_runs/*-after-step-10"))
    assert len(aside) == 1 and (aside[0] / "checkpoint-15").is_dir() and (aside[0] / f"checkpoint-{STEPS}").is_dir()
    assert_same_weights(out / f"checkpoint-{STEPS}", ref / f"checkpoint-{STEPS}")
