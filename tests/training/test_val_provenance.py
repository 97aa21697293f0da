"""A checkpoint saved between evaluations (a stop, a save step) carries the last measured validation
loss: the table, the status, pruning and publishing must never take it for that checkpoint's own."""
from __future__ import annotations

from pathlib import Path

import torch
from transformers import GPT2Config, GPT2LMHeadModel

from london_llm.training import checkpoint as ckpt
from london_llm.training import status


def _save(root: Path, step: int, state: dict, limit: int = 0) -> Path:
    model = GPT2LMHeadModel(GPT2Config(vocab_size=64, n_positions=16, n_embd=8, n_layer=1, n_head=2,
                                       bos_token_id=0, eos_token_id=0))
    return ckpt.save_checkpoint(root, step, model=model, optimizer_state={"state": {}, "param_groups": []},
                                rng_states=[{"torch": torch.get_rng_state()}], tokenizer_dir=None,
                                trainer_state=dict(state, config={"eval_steps": 10}), save_total_limit=limit,
                                log=lambda _: None)


def _audited_run(root: Path) -> None:
    """The audit's case: 7.2517 measured at step 40, carried by checkpoint-47 (saved on a stop)."""
    _save(root, 30, {"last_val_loss": 7.4, "last_val_step": 30})
    _save(root, 40, {"last_val_loss": 7.2517, "last_val_step": 40})
    _save(root, 47, {"last_val_loss": 7.2517, "last_val_step": 40})


def test_measured_val_reads_the_step_and_falls_back_for_older_checkpoints():
    assert ckpt.measured_val({"last_val_loss": 7.25, "last_val_step": 40}, 47) == (7.25, 40)
    assert ckpt.own_val_loss({"last_val_loss": 7.25, "last_val_step": 40}, 47) is None
    assert ckpt.own_val_loss({"last_val_loss": 7.25, "last_val_step": 40}, 40) == 7.25
    assert ckpt.measured_val({"last_val_loss": None, "last_val_step": None}, 5) == (None, None)
    # older checkpoints (no last_val_step): their own only at a multiple of the saved eval_steps or the final one
    old = {"last_val_loss": 7.25, "config": {"eval_steps": 10}}
    assert ckpt.measured_val(old, 40) == (7.25, 40)
    assert ckpt.measured_val(old, 47) == (7.25, None)
    assert ckpt.measured_val(dict(old, final=True), 47) == (7.25, 47)
    assert ckpt.measured_val({"last_val_loss": 7.25, "config": {}}, 47) == (7.25, None)


def test_the_table_and_status_mark_a_carried_loss_with_where_it_was_measured(tmp_path):
    _audited_run(tmp_path)
    _save(tmp_path, 53, {"last_val_loss": 7.2517, "config": {"eval_steps": 10}})  # older format: step unknown
    infos = ckpt.list_checkpoints(tmp_path)
    by_step = {i.step: i for i in infos}
    assert by_step[40].val_loss == 7.2517 and by_step[47].val_loss is None
    assert (by_step[47].carried_val, by_step[47].carried_from) == (7.2517, 40)
    table = status.format_checkpoint_table({"slm": infos}, {"slm": tmp_path}).splitlines()
    rows = {line.split()[0]: line for line in table[2:]}
    assert rows["checkpoint-40"].split()[:3] == ["checkpoint-40", "40", "7.2517"] and "(step" not in rows["checkpoint-40"]
    assert "7.2517 (step 40)" in rows["checkpoint-47"] and "7.2517 (earlier)" in rows["checkpoint-53"]
    assert rows["checkpoint-40"].index("7.2517") == rows["checkpoint-47"].index("7.2517")  # one column
    st = status.run_status(None, infos, total_steps=100, running_owner=None)
    text = status.format_status(st, "slm")
    assert "checkpoint-53 (val loss 7.2517 (earlier)" in text and st.best_val_loss == 7.2517


def test_pruning_keeps_the_checkpoint_the_best_loss_was_measured_at(tmp_path):
    _audited_run(tmp_path)
    _save(tmp_path, 50, {"last_val_loss": 7.3, "last_val_step": 50}, limit=1)
    # checkpoint-47 only carries 7.2517: the best is checkpoint-40, and the newest is kept as always
    assert [i.step for i in ckpt.list_checkpoints(tmp_path)] == [40, 50]


def test_publishing_chooses_the_checkpoint_the_loss_was_measured_at(tmp_path):
    from london_llm.publishing.selection import choose_checkpoint

    _audited_run(tmp_path)
    said = []
    assert choose_checkpoint(tmp_path, None, log=said.append) == tmp_path / "checkpoint-40"
    assert "checkpoint-40" in said[0] and "7.2517" in said[0]
    # only carried losses (a run stopped before its first checkpoint was evaluated): the newest, said so
    only = tmp_path / "only"
    _save(only, 5, {"last_val_loss": 7.9, "last_val_step": 3})
    _save(only, 7, {"last_val_loss": 7.9, "last_val_step": 3})
    assert choose_checkpoint(only, None, log=said.append) == only / "checkpoint-7"
    assert "measured at its own step" in said[-1]
