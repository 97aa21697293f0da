"""DDP under torchrun on the CPU (gloo), through the real training script, on real period text.

Two processes with batch 2 each against one process with batch 4 (the same global batch, so the
same windows every step): the loss curves must agree within floating-point tolerance, both ranks
must end with bit-identical weights, and a checkpoint written by two processes must resume exactly
in one (the world size changes, the global batch does not).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import REPO
from london_llm.training import checkpoint
from training_runs import make_inputs

pytestmark = pytest.mark.slow  # every test here trains or launches a real run

SCRIPT = REPO / "04_training" / "train_model_slm.py"
STEPS = 20

# Run the real script under torchrun and, when it returns, write a checksum of this rank's own
# copy of the model (the module DDP wrapped): a passive observer, the script is unchanged.
PROBE = r'''
import hashlib, os, runpy, sys
from pathlib import Path
import torch
wrapped = []
_init = torch.nn.parallel.DistributedDataParallel.__init__
def _remember(self, module, *args, **kwargs):
    wrapped.append(module)
    _init(self, module, *args, **kwargs)
torch.nn.parallel.DistributedDataParallel.__init__ = _remember
script, out = sys.argv[1], Path(sys.argv[2])
sys.argv = [script] + sys.argv[3:]
try:
    runpy.run_path(script, run_name="__main__")
finally:
    if wrapped:
        digest = hashlib.sha256()
        for name, tensor in sorted(wrapped[0].state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        out.mkdir(parents=True, exist_ok=True)
        (out / f"rank{os.environ['RANK']}.sha256").write_text(digest.hexdigest())
'''


@pytest.fixture(scope="module")
def inputs(small_documents, tmp_path_factory) -> dict[str, Path]:
    """Real documents, the shared tokenizer and the session's pretokenized data for it."""
    return make_inputs(small_documents, tmp_path_factory.mktemp("ddp_inputs"))


def train_flags(inputs: dict[str, Path], batch_size: int, steps: int = STEPS) -> list[str]:
    # Every step lies inside the linear warm-up, so the learning rate of a step does not depend on
    # --max_steps: a long run stopped early can be compared with a short one step by step.
    return ["--model", "tiny", "--no_wandb", "--tokenizer_dir", str(inputs["tokenizer"]),
            "--documents_file", str(inputs["documents"]), "--data_dir", str(inputs["data"]),
            "--max_steps", str(steps), "--batch_size", str(batch_size), "--logging_steps", "2",
            "--eval_steps", "10", "--save_steps", "10", "--eval_iters", "2", "--dtype", "fp32",
            "--warmup_steps", "1000", "--learning_rate", "0.05", "--workers", "1"]


def run(cmd: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, **env))
    assert result.returncode == 0, f"{cmd}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-5000:]}"
    return result


def curve(run_dir: Path) -> dict[tuple[int, str], float]:
    """(step, metric) -> value for the losses the metrics log holds."""
    out = {}
    for line in (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        for key in ("train/loss", "eval/val_loss", "eval/train_loss"):
            if record.get(key) is not None:
                out[(record["step"], key)] = record[key]
    return out


def assert_same_curve(got: dict, want: dict, rel: float = 1e-5) -> None:
    assert got.keys() == want.keys()
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=rel), key


@pytest.fixture(scope="module")
def single_run(inputs, tmp_path_factory) -> Path:
    """One process, batch 4: the reference."""
    out = tmp_path_factory.mktemp("single") / "run"
    run([sys.executable, str(SCRIPT), *train_flags(inputs, 4), "--fresh", "--output_dir", str(out)], cwd=out.parent)
    return out


@pytest.fixture(scope="module")
def ddp_run(inputs, single_run, tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    """torchrun --nproc_per_node=2 on the CPU (gloo), batch 2 per process; the probe records each rank's weights."""
    root = tmp_path_factory.mktemp("ddp")
    probe = root / "probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    out, sums = root / "run", root / "rank_weights"
    result = run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                  str(probe), str(SCRIPT), str(sums), *train_flags(inputs, 2), "--fresh", "--output_dir", str(out)],
                 cwd=root)
    return out, sums, result


def test_two_cpu_processes_follow_the_single_process_loss_curve(single_run, ddp_run):
    ddp_dir, _, result = ddp_run
    want, got = curve(single_run), curve(ddp_dir)
    assert (STEPS, "eval/val_loss") in want and len([k for k in want if k[1] == "train/loss"]) == STEPS // 2
    assert_same_curve(got, want)
    assert want[(2, "train/loss")] > want[(STEPS, "train/loss")], "the model learned"
    state = checkpoint.read_trainer_state(ddp_dir / f"checkpoint-{STEPS}")
    assert state["world_size"] == 2 and state["global_batch"] == 4
    assert "2 process(es)" in result.stderr, "rank 0 reports the world size"
    assert "Weights are identical on all 2 ranks" in result.stderr


def test_both_ranks_end_with_identical_weights_equal_to_the_single_process_ones(single_run, ddp_run):
    ddp_dir, sums, _ = ddp_run
    rank0, rank1 = (sums / "rank0.sha256").read_text(), (sums / "rank1.sha256").read_text()
    assert rank0 == rank1, "DDP replicas diverged"
    ddp_weights = checkpoint.load_weights(ddp_dir / f"checkpoint-{STEPS}")
    single_weights = checkpoint.load_weights(single_run / f"checkpoint-{STEPS}")
    assert ddp_weights.keys() == single_weights.keys()
    for name, tensor in single_weights.items():
        torch.testing.assert_close(ddp_weights[name], tensor, rtol=1e-4, atol=1e-5, msg=name)


def test_only_rank_zero_writes(ddp_run):
    ddp_dir, _, result = ddp_run
    assert sorted(p.name for p in ddp_dir.glob("checkpoint-*")) == ["checkpoint-10", f"checkpoint-{STEPS}"]
    assert checkpoint.verify(ddp_dir / f"checkpoint-{STEPS}") is None
    records = [json.loads(l) for l in (ddp_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    steps = [(r["step"], r["kind"]) for r in records]
    assert len(steps) == len(set(steps)), "each step logged once, not once per rank"
    assert result.stderr.count("Training finished at step") == 1


def test_a_two_process_checkpoint_resumes_exactly_in_one_process(inputs, ddp_run, tmp_path):
    """World size 2 -> 1 with the same global batch (--batch_size 4): same windows, same losses."""
    ddp_dir, _, _ = ddp_run
    home = tmp_path / "home"
    target = home / "09_models" / "checkpoints" / "tiny"
    target.mkdir(parents=True)
    shutil.copytree(ddp_dir / "checkpoint-10", target / "checkpoint-10")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run([str(REPO / "resume_training.sh"), "checkpoint-10", "--home", str(home),
                  *train_flags(inputs, 4)[2:]], cwd=elsewhere, LONDON_LLM_PYTHON=sys.executable)
    assert "Resuming the 'tiny' model" in result.stderr and "1 CPU process(es)" in result.stderr
    assert "random state is re-seeded" in result.stderr, "says what it could not restore exactly"
    resumed = curve(target)
    assert min(step for step, _ in resumed) == 12
    assert_same_curve(resumed, {k: v for k, v in curve(ddp_dir).items() if k[0] > 10})


def test_plot_and_status_scripts_on_the_real_two_process_run(ddp_run, tmp_path):
    from matplotlib.image import imread

    ddp_dir, _, _ = ddp_run
    plots = tmp_path / "plots"
    out = run([sys.executable, str(REPO / "10_scripts" / "plot_training.py"), "--model", "tiny",
               "--output_dir", str(ddp_dir), "--out_dir", str(plots)], cwd=tmp_path)
    written = [Path(p) for p in out.stdout.split()]
    assert sorted(p.name for p in written) == sorted(["loss.png", "learning_rate.png", "throughput.png",
                                                      "step_time.png", "training_overview.png"])
    for png in written:
        pixels = imread(png)
        assert pixels.shape[0] > 300 and pixels.std() > 0.05, f"{png} is blank"
    out = run([sys.executable, str(REPO / "10_scripts" / "training_status.py"), "--model", "tiny",
               "--output_dir", str(ddp_dir)], cwd=tmp_path)
    assert "FINISHED" in out.stdout and f"{STEPS} / {STEPS} (100.0%)" in out.stdout
    assert f"newest ckpt     checkpoint-{STEPS}" in out.stdout


def test_sigterm_to_the_launcher_under_torchrun_saves_and_the_resume_script_continues_exactly(
        inputs, ddp_run, tmp_path):
    """A preemptible machine's SIGTERM reaches torchrun (the launcher execs it), which passes it to
    both workers: they agree to stop, save a checkpoint and exit; resuming on two processes then
    reproduces the uninterrupted two-process run."""
    ddp_dir, _, _ = ddp_run
    out = tmp_path / "preempted"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, LONDON_LLM_PYTHON=sys.executable)
    proc = subprocess.Popen([str(REPO / "launch_training.sh"), "--nproc_per_node", "2", *train_flags(inputs, 2, 400),
                             "--output_dir", str(out)], cwd=elsewhere, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while not ((out / "metrics.jsonl").is_file() and (out / "metrics.jsonl").read_text().strip()):
            assert proc.poll() is None and time.time() < deadline, "training did not start"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        log, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    saved = [p for p in out.glob("checkpoint-*") if checkpoint.step_of(p) is not None]
    assert len(saved) == 1, log[-3000:]
    stop = checkpoint.step_of(saved[0])
    assert f"SIGTERM received: stopped at step {stop} after saving" in log
    assert checkpoint.verify(saved[0]) is None, "a complete checkpoint"
    assert not (out / "training.lock").exists(), "the lock is released on a clean stop"
    assert 2 <= stop < STEPS

    result = run([str(REPO / "resume_training.sh"), str(saved[0]), "--model", "tiny", "--nproc_per_node", "2",
                  *train_flags(inputs, 2)[2:]], cwd=elsewhere, LONDON_LLM_PYTHON=sys.executable)
    assert f"Resumed from {saved[0]} at step {stop}" in result.stderr
    assert "Weights are identical on all 2 ranks" in result.stderr
    # a train loss is the mean over its logging window (2 steps): compare the windows wholly after the stop
    after = lambda key: key[0] > stop and (key[1] != "train/loss" or key[0] - 2 >= stop)  # noqa: E731
    assert_same_curve({k: v for k, v in curve(out).items() if after(k)},
                      {k: v for k, v in curve(ddp_dir).items() if after(k)})


def test_two_nodes_through_the_launcher_follow_the_single_process_loss_curve(inputs, single_run, tmp_path):
    """Multi-node as the docs give it (c10d rendezvous), with two 'nodes' on this machine sharing
    its filesystem: one launcher per node, one CPU process each, global batch 2 x 2."""
    import socket

    with socket.socket() as s:  # a free port for the rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "two_nodes"
    env = dict(os.environ, LONDON_LLM_PYTHON=sys.executable)
    nodes = [subprocess.Popen([str(REPO / "launch_training.sh"), "--nnodes", "2", "--rdzv_endpoint",
                               f"127.0.0.1:{port}", "--nproc_per_node", "1", *train_flags(inputs, 2),
                               "--output_dir", str(out)], cwd=tmp_path, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    try:
        logs = [node.communicate(timeout=300)[0] for node in nodes]
    finally:
        for node in nodes:
            if node.poll() is None:
                node.kill()
    assert [node.returncode for node in nodes] == [0, 0], "\n".join(log[-3000:] for log in logs)
    both = "".join(logs)
    assert "on each of 2 nodes" in both and "Weights are identical on all 2 ranks" in both
    assert_same_curve(curve(out), curve(single_run))
    assert checkpoint.read_trainer_state(out / f"checkpoint-{STEPS}")["world_size"] == 2
