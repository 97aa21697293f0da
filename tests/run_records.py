"""Made-up metrics logs and checkpoints of a training run, for the status, metrics and plot tests."""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from transformers import GPT2Config, GPT2LMHeadModel

from london_llm.training import checkpoint


T0 = 1_750_000_000.0


SEC_PER_STEP = 0.5


def _train(step: int, t: float) -> dict:
    loss = 3.0 + 5.0 * math.exp(-step / 60)
    return {"step": step, "time": t, "kind": "train", "train/loss": loss, "train/lr": 1e-3 * min(1, step / 20),
            "train/mfu": 0.015, "train/iter": step, "train/dt_ms": SEC_PER_STEP * 1000,
            "train/grad_norm": 0.9, "train/tokens_per_sec": 2048.0}


def _eval(step: int, t: float) -> dict:
    val = 3.2 + 5.0 * math.exp(-step / 60)
    return {"step": step, "time": t, "kind": "eval", "eval/val_loss": val, "eval/val_ppl": math.exp(val),
            "eval/train_loss": val - 0.1}


def records(first: int, last: int, t0: float = T0, log_every: int = 10, eval_every: int = 50) -> list[dict]:
    """What the trainer logs for steps first..last: train every log_every steps, eval every eval_every."""
    out = []
    for step in range(first, last + 1):
        t = t0 + (step - first + 1) * SEC_PER_STEP
        if step % log_every == 0:
            out.append(_train(step, t))
        if step % eval_every == 0:
            out.append(_eval(step, t))
    return out


def write_log(path: Path, recs: list[dict], tail: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in recs) + tail, encoding="utf-8")
    return path


def make_checkpoint(root: Path, step: int, val_loss: float, max_steps: int = 200) -> Path:
    """A real checkpoint folder (checkpoint.save_checkpoint) of a very small GPT-2."""
    model = GPT2LMHeadModel(GPT2Config(vocab_size=64, n_positions=16, n_embd=8, n_layer=1, n_head=2,
                                       bos_token_id=0, eos_token_id=0))
    return checkpoint.save_checkpoint(
        root, step, model=model, optimizer_state={"state": {}, "param_groups": []},
        rng_states=[{"torch": torch.get_rng_state()}], tokenizer_dir=None,
        trainer_state={"last_val_loss": val_loss, "last_val_step": step, "config": {"max_steps": max_steps}}, log=lambda _: None)
