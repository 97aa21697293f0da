"""Unit tests of the training building blocks on small inputs built here (fast, in process)."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from london_llm.training import checkpoint as ckpt
from london_llm.training import rng
from london_llm.training.mfu import Peak, cpu_peak_estimate, gpu_peak, mfu
from london_llm.training.model import build_model, flops_per_token, generation_config, padded_vocab_size
from london_llm.training.optim import learning_rate, make_optimizer
from london_llm.training.precision import PrecisionError, choose_device, choose_precision, cpu_has_bf16
from london_llm.training.runlock import RunLock, RunLocked
from london_llm.settings import TrainConfig
from london_llm.training.metrics import MetricsWriter, read_metrics
from london_llm.training.reporting import wandb_mode
from london_llm.training.loop import total_steps

SMALL = TrainConfig(n_layer=1, n_head=2, n_embd=16, max_length=8, vocab_size=100, batch_size=2,
                    max_steps=100, warmup_steps=10, learning_rate=1e-3, min_lr_ratio=0.1)


def test_model_pads_vocab_ties_weights_and_uses_sdpa():
    model = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0, pad_id=1, seed=3)
    assert model.config.vocab_size == 128 and model.config.tokenizer_vocab_size == 100
    assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()
    assert model.config._attn_implementation == "sdpa"
    again = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0, seed=3)
    assert torch.equal(model.transformer.h[0].attn.c_attn.weight, again.transformer.h[0].attn.c_attn.weight)
    gen = generation_config(model.config)
    assert gen.suppress_tokens == list(range(100, 128))
    assert padded_vocab_size(30_000, 64) == 30_016 and padded_vocab_size(100, 1) == 100


def test_flops_per_token_matches_the_6n_rule():
    model = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0)
    n = sum(p.numel() for p in model.parameters()) - model.transformer.wpe.weight.numel()
    assert flops_per_token(model, 1, 16, 8) == 6 * n + 12 * 1 * 16 * 8


def test_weight_decay_only_on_matrices_and_embeddings():
    model = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0)
    opt = make_optimizer(model, SMALL, torch.device("cpu"))
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == SMALL.weight_decay and no_decay["weight_decay"] == 0.0
    assert all(p.dim() >= 2 for p in decay["params"]) and all(p.dim() == 1 for p in no_decay["params"])
    ids = {id(p) for g in opt.param_groups for p in g["params"]}
    assert len(ids) == len(list(model.parameters()))  # every parameter once, tied weight included
    assert model.transformer.wte.weight in decay["params"]


def test_schedule_warms_up_linearly_then_decays_by_cosine_to_the_floor():
    lrs = [learning_rate(s, SMALL, 100) for s in range(101)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert lrs[10] == pytest.approx(1e-3)
    assert lrs[55] == pytest.approx(1e-4 + 0.5 * 9e-4)  # half-way through the decay
    assert lrs[100] == pytest.approx(1e-4)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))


def test_total_steps_is_the_earlier_of_max_steps_and_epochs():
    # batches_per_epoch counts global micro-batches, as EpochBatches.batches_per_epoch does
    assert total_steps(SMALL.replace(max_steps=100, num_epochs=1), batches_per_epoch=500) == 100
    assert total_steps(SMALL.replace(max_steps=None, num_epochs=2), batches_per_epoch=25) == 50
    assert total_steps(SMALL.replace(max_steps=None, num_epochs=0.5, gradient_accumulation_steps=5),
                       batches_per_epoch=50) == 5
    # 3 epochs of 7 micro-batches with accumulation 2: 10 whole steps, never an 11th in epoch 4
    assert total_steps(SMALL.replace(max_steps=None, num_epochs=3, gradient_accumulation_steps=2),
                       batches_per_epoch=7) == 10


def test_precision_choice_honours_the_hardware():
    cpu = torch.device("cpu")
    assert choose_precision(cpu, "fp32").name == "fp32"
    auto = choose_precision(cpu, "auto")
    assert auto.name == ("bf16" if cpu_has_bf16() else "fp32")
    with pytest.raises(PrecisionError, match="fp16 needs a GPU"):
        choose_precision(cpu, "fp16")
    if not torch.cuda.is_available():
        with pytest.raises(PrecisionError, match="CUDA is not available"):
            choose_device("cuda")
    assert not auto.grad_scaler().is_enabled()


def test_mfu_is_measured_against_the_detected_card_or_not_at_all():
    assert gpu_peak("NVIDIA H100 80GB HBM3").label == "H100 SXM bf16"
    assert gpu_peak("NVIDIA H100 PCIe").flops == 756e12
    assert gpu_peak("NVIDIA H200").label == "H200 SXM bf16"
    assert gpu_peak("NVIDIA A100-SXM4-80GB").flops == 312e12
    assert gpu_peak("NVIDIA L4").label == "L4 bf16" and gpu_peak("NVIDIA L40S").label == "L40S bf16"
    assert gpu_peak("Tesla V100-SXM2-16GB").label == "V100 SXM2 fp16"
    assert gpu_peak("NVIDIA GeForce RTX 4090").flops == 165.2e12
    unknown = gpu_peak("Mystery Accelerator 9000")
    assert unknown.flops is None and mfu(1e9, 1e3, unknown) is None
    assert "estimate" in cpu_peak_estimate(cores=2).label
    assert mfu(6e6, 1000, Peak(12e9, "x")) == pytest.approx(0.5)
    assert mfu(6e6, 1000, Peak(12e9, "x"), world_size=2) == pytest.approx(0.25)


def test_rng_state_round_trips_through_weights_only_torch_files(tmp_path):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    state = rng.capture()
    torch.save(state, tmp_path / "rng.pt")
    expected = (random.random(), np.random.rand(), torch.rand(3))
    rng.restore(torch.load(tmp_path / "rng.pt", weights_only=True))
    assert (random.random(), np.random.rand()) == expected[:2] and torch.equal(torch.rand(3), expected[2])


def _save(root: Path, step: int, model, val=None, limit=0):
    opt = make_optimizer(model, SMALL, torch.device("cpu"))
    return ckpt.save_checkpoint(root, step, model=model, optimizer_state={"optimizer": opt.state_dict()},
                                rng_states=[rng.capture()], trainer_state={"last_val_loss": val, "config": {}},
                                tokenizer_dir=None, save_total_limit=limit, log=lambda m: None)


def test_checkpoints_verify_list_resolve_and_prune(tmp_path):
    model = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0)
    for step in (10, 20, 30):
        _save(tmp_path, step, model, val=1.0 / step)
    assert [i.step for i in ckpt.list_checkpoints(tmp_path)] == [10, 20, 30]
    assert ckpt.verify(tmp_path / "checkpoint-30") is None
    assert ckpt.resolve(tmp_path, "checkpoint-20") == (tmp_path / "checkpoint-20").resolve()
    assert ckpt.resolve(tmp_path, "checkpoint-20.pt") == (tmp_path / "checkpoint-20").resolve()
    assert ckpt.resolve(tmp_path, str(tmp_path / "checkpoint-10.pt")) == (tmp_path / "checkpoint-10").resolve()
    with pytest.raises(ckpt.CheckpointNotFound, match="checkpoint-10, checkpoint-20, checkpoint-30"):
        ckpt.resolve(tmp_path, "checkpoint-7465")
    # the guide's relative spelling finds this model's folder; another model's folder is not silently swapped in
    assert ckpt.resolve(tmp_path, f"{tmp_path.name}/checkpoint-20.pt") == (tmp_path / "checkpoint-20").resolve()
    with pytest.raises(ckpt.CheckpointNotFound, match="slm/checkpoint-20"):
        ckpt.resolve(tmp_path, "09_models/checkpoints/slm/checkpoint-20.pt")
    assert torch.load(tmp_path / "checkpoint-30" / "optimizer.pt", weights_only=True)["optimizer"]["param_groups"]
    # a truncated file and a missing manifest are both recognised; the newest good one is chosen
    weights = tmp_path / "checkpoint-30" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    assert "truncated" in ckpt.verify(tmp_path / "checkpoint-30")
    (tmp_path / "checkpoint-20" / "manifest.json").unlink()
    assert "interrupted" in ckpt.verify(tmp_path / "checkpoint-20")
    warnings = []
    assert ckpt.newest_good(tmp_path, log=warnings.append) == tmp_path / "checkpoint-10"
    assert len(warnings) == 2 and "checkpoint-30" in warnings[0]
    _save(tmp_path, 40, model, limit=2)
    assert [i.step for i in ckpt.list_checkpoints(tmp_path)] == [30, 40]
    assert not list(tmp_path.glob(".checkpoint-*"))  # no temporary folders left behind


def test_metrics_log_drops_events_past_the_resumed_step(tmp_path):
    path = tmp_path / "metrics.jsonl"
    log = MetricsWriter(path)
    for step in range(1, 6):
        log.write(step, "train", {"train/loss": float(step)})
    log.close()
    with open(path, "a") as fh:
        fh.write('{"step": 6, "kin')  # torn by a kill
    log = MetricsWriter(path, resume_step=3)
    log.write(4, "train", {"train/loss": 40.0})
    log.close()
    records = read_metrics(path).records
    assert [(r["step"], r["train/loss"]) for r in records] == [(1, 1.0), (2, 2.0), (3, 3.0), (4, 40.0)]
    assert all({"step", "time", "kind"} <= r.keys() for r in records)


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


def test_run_lock_refuses_a_live_holder_and_takes_over_a_dead_ones(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from london_llm.training.runlock import RunLock
        lock = RunLock({str(tmp_path)!r}).acquire()  # held while this process lives
        print("locked", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLocked, match=f"pid {holder.pid}"):
            RunLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    messages = []
    with RunLock(tmp_path, log=messages.append) as lock:
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()
    assert messages and "stale lock" in messages[0] and str(holder.pid) in messages[0]
    assert not (tmp_path / "training.lock").exists()


@pytest.mark.parametrize("rows_per_chunk", [7, 10_000])
def test_fused_loss_matches_cross_entropy_over_the_logits(monkeypatch, rows_per_chunk):
    import torch.nn.functional as F

    from london_llm.training import fused_loss

    torch.manual_seed(0)
    vocab = 300
    monkeypatch.setattr(fused_loss, "CHUNK_ELEMENTS", rows_per_chunk * vocab)
    monkeypatch.setattr(fused_loss, "CHUNK_ELEMENTS_FP32", rows_per_chunk * vocab)
    hidden = torch.randn(50, 16, requires_grad=True)
    weight = (torch.randn(vocab, 16) * 0.3).requires_grad_()
    targets = torch.randint(0, vocab, (50,))
    expected = F.cross_entropy(hidden @ weight.t(), targets)
    grads = torch.autograd.grad(expected, (hidden, weight))
    loss = fused_loss.linear_cross_entropy(hidden, weight, targets)
    fused_grads = torch.autograd.grad(loss * 3, (hidden, weight))  # the incoming gradient is honoured
    assert loss.item() == pytest.approx(expected.item(), abs=1e-5)
    for a, b in zip(grads, fused_grads):
        torch.testing.assert_close(b, 3 * a, atol=1e-6, rtol=1e-5)
    with torch.no_grad():  # evaluation: the loss alone
        assert fused_loss.linear_cross_entropy(hidden, weight, targets).item() == pytest.approx(expected.item(), abs=1e-5)
    if cpu_has_bf16():  # under bf16 autocast: close to the fp32 loss, gradients to bf16 precision
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = fused_loss.linear_cross_entropy(hidden, weight, targets)
        low_grads = torch.autograd.grad(low, (hidden, weight))
        assert low.dtype == torch.float32 and low.item() == pytest.approx(expected.item(), rel=2e-2)
        for a, b in zip(grads, low_grads):
            torch.testing.assert_close(b, a, atol=2e-3, rtol=5e-2)


def test_causal_lm_loss_equals_the_models_own_loss():
    from london_llm.training.fused_loss import CausalLMLoss

    model = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0, seed=1)
    ids = torch.randint(0, 100, (2, 8))
    x, y = ids[:, :-1], ids[:, 1:]
    hf = model(input_ids=ids, labels=ids).loss  # transformers shifts the labels itself
    assert CausalLMLoss(model)(x, y).item() == pytest.approx(hf.item(), abs=1e-5)


def test_prune_keeps_the_checkpoint_just_written_and_the_one_resumed_from(tmp_path):
    # resuming checkpoint-10 while a newer checkpoint-30 exists, then saving checkpoint-15 with limit 1:
    # pruning by step alone would delete both the new checkpoint and the one resumed from
    model = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0)
    for step in (10, 20, 30):
        _save(tmp_path, step, model)
    opt = make_optimizer(model, SMALL, torch.device("cpu"))
    ckpt.save_checkpoint(tmp_path, 15, model=model, optimizer_state={"optimizer": opt.state_dict()},
                         rng_states=[rng.capture()], trainer_state={"config": {}}, tokenizer_dir=None,
                         save_total_limit=1, log=lambda m: None, protect=[tmp_path / "checkpoint-10"])
    steps = [i.step for i in ckpt.list_checkpoints(tmp_path)]
    assert 15 in steps and 10 in steps and 20 not in steps
    assert ckpt.verify(tmp_path / "checkpoint-15") is None


def test_a_malformed_manifest_is_reported_not_raised(tmp_path):
    model = build_model(SMALL, vocab_size=100, bos_id=0, eos_id=0)
    _save(tmp_path, 10, model)
    _save(tmp_path, 20, model)
    manifest = tmp_path / "checkpoint-20" / "manifest.json"
    for bad in ("[]", '{"format_version": 1, "files": ["model.safetensors"]}',
                '{"format_version": 1, "files": {"model.safetensors": {"bytes": "12"}}}'):
        manifest.write_text(bad, encoding="utf-8")
        assert "unreadable manifest.json" in ckpt.verify(tmp_path / "checkpoint-20")
        assert ckpt.newest_good(tmp_path, log=lambda m: None) == tmp_path / "checkpoint-10"


def test_lock_taken_on_a_file_unlinked_meanwhile_is_retaken_on_the_live_path(tmp_path, monkeypatch):
    """A releasing holder unlinks the file; a flock won on that orphan must not count as the lock."""
    import london_llm.training.runlock as runlock
    lock = RunLock(tmp_path, log=lambda _m: None)
    real_flock = runlock.fcntl.flock
    orphaned = []

    def flock_after_unlink(fd, op):
        if not orphaned:  # first attempt: the previous holder unlinks the file before our flock lands
            orphaned.append(fd)
            lock.path.unlink()
        return real_flock(fd, op)

    monkeypatch.setattr(runlock.fcntl, "flock", flock_after_unlink)
    lock.acquire()
    assert lock.path.exists() and os.path.samestat(os.fstat(lock._fh.fileno()), os.stat(lock.path))
    with pytest.raises(RunLocked):  # and it really excludes a second run
        RunLock(tmp_path).acquire()
    lock.release()


def test_lock_with_foreign_json_is_reported_not_raised(tmp_path):
    (tmp_path / "training.lock").write_text("[1, 2, 3]")
    messages = []
    with RunLock(tmp_path, log=messages.append):
        pass
    assert messages and "unreadable lock contents" in messages[0]
