"""The checkpoint check's one-line summary of a checkpoint's state."""
from __future__ import annotations


def test_the_checkpoint_check_never_calls_a_carried_loss_this_checkpoints(tmp_path):
    import json as _json

    from london_llm.inference.check import describe_state

    folder = tmp_path / "checkpoint-47"
    folder.mkdir()
    state = {"step": 47, "epoch": 0.5, "last_val_loss": 7.2517, "last_val_step": 40, "config": {}}
    (folder / "trainer_state.json").write_text(_json.dumps(state))
    assert "not evaluated at this step (last val loss 7.2517, measured at step 40)" in describe_state(folder)
    (folder / "trainer_state.json").write_text(_json.dumps(dict(state, last_val_step=47)))
    assert "val loss 7.2517 (ppl" in describe_state(folder)
