"""Which checkpoint is published: the one named, or the best complete one."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from london_llm.publishing.errors import PublishError


# --- on a real checkpoint ------------------------------------------------------------------------

from inference_fixtures import tiny_checkpoint  # noqa: E402,F401  (the session's trained tiny model)


def _copy_checkpoint(src: Path, dst: Path, step: int, val_loss: float) -> Path:
    from london_llm.training import checkpoint as ckpt

    folder = dst / f"checkpoint-{step}"
    shutil.copytree(src, folder)
    state = json.loads((folder / "trainer_state.json").read_text())
    state.update(step=step, last_val_loss=val_loss, last_val_step=step)
    (folder / "trainer_state.json").write_text(json.dumps(state))
    ckpt._write_manifest(folder, step)  # a complete checkpoint, as the trainer writes it
    return folder


def test_the_best_complete_checkpoint_is_chosen_and_named(tiny_checkpoint, tmp_path):  # noqa: F811
    from london_llm.publishing.selection import choose_checkpoint

    root = tmp_path / "run"
    root.mkdir()
    _copy_checkpoint(tiny_checkpoint, root, 10, 5.0)
    best = _copy_checkpoint(tiny_checkpoint, root, 20, 4.0)
    _copy_checkpoint(tiny_checkpoint, root, 30, 4.5)
    corrupt = _copy_checkpoint(tiny_checkpoint, root, 40, 1.0)
    (corrupt / "model.safetensors").write_bytes(b"\0" * (corrupt / "model.safetensors").stat().st_size)
    said = []
    assert choose_checkpoint(root, None, log=said.append) == best
    assert "checkpoint-20" in said[0] and "4.0000" in said[0]
    assert choose_checkpoint(root, "checkpoint-30.pt", log=said.append) == root / "checkpoint-30"
    with pytest.raises(PublishError, match="checkpoint-999.*checkpoint-10"):
        choose_checkpoint(root, "checkpoint-999")
    with pytest.raises(PublishError, match="sha256"):
        choose_checkpoint(root, "checkpoint-40")
    with pytest.raises(PublishError, match="No complete checkpoint"):
        choose_checkpoint(tmp_path / "empty", None)


def test_the_card_says_where_a_carried_validation_loss_was_measured(tmp_path):
    import json as _json

    from london_llm.publishing.card import _this_val
    from london_llm.publishing.facts import training_facts

    folder = tmp_path / "checkpoint-47"
    folder.mkdir()
    state = {"step": 47, "last_val_loss": 7.2517, "last_val_step": 40, "best_val_loss": 7.2517,
             "best_val_step": 40, "config": {"eval_steps": 10}}
    (folder / "trainer_state.json").write_text(_json.dumps(state))
    facts = training_facts(folder)
    assert (facts.last_val_step, facts.best_val_step) == (40, 40)
    assert _this_val(facts).startswith("not measured at this step; the last measured, at step 40: 7.2517")
    (folder / "trainer_state.json").write_text(_json.dumps(dict(state, step=40)))
    assert _this_val(training_facts(folder)).startswith("7.2517 (perplexity")
