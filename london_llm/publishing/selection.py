"""Which checkpoint to publish: the one named, or the run's best finished one (lowest validation loss)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Optional

from london_llm.training import checkpoint as ckpt

from .errors import PublishError


def choose_checkpoint(root: Path, name: Optional[str], log: Callable[[str], None] = print) -> Path:
    """`name` (checkpoint-N, checkpoint-N.pt or a path) resolved in `root`; without a name, the
    complete checkpoint of `root` with the lowest validation loss measured at its own step (the newest on
    a tie, or the newest when none was evaluated). A checkpoint saved between evaluations only carries
    an earlier step's loss (checkpoint.measured_val): that loss is the earlier checkpoint's, so it never
    scores the later one. Corrupt or half-written checkpoints are never chosen."""
    if name:
        try:
            path = ckpt.resolve(root, name, flag="--checkpoint", otherwise="or leave --checkpoint out to "
                                "publish the best one")
        except ckpt.CheckpointNotFound as exc:
            raise PublishError(str(exc)) from None
        problem = ckpt.verify(path, deep=True)
        if problem:
            raise PublishError(f"checkpoint {path} is unusable: {problem}. Publish another one (--checkpoint).")
        log(f"Publishing {path.name} (as asked) from {path.parent}")
        return path
    infos = ckpt.list_checkpoints(root)
    good = [i for i in infos if ckpt.verify(i.path, deep=True) is None]
    if not good:
        raise PublishError(f"No complete checkpoint to publish: {ckpt.describe_available(root)}. Train first "
                           "(04_training/train_model_slm.py), or pass --checkpoint / --model for another run.")
    scored = [i for i in good if isinstance(i.val_loss, (int, float)) and math.isfinite(i.val_loss)]
    if scored:
        best = min(scored, key=lambda i: (i.val_loss, -i.step))
        log(f"Publishing {best.name}: the lowest validation loss ({best.val_loss:.4f}, measured at its step) of "
            f"{len(good)} complete checkpoint(s) in {root} (pass --checkpoint to choose another)")
        return best.path
    best = good[-1]
    log(f"Publishing {best.name}: the newest of {len(good)} complete checkpoint(s) in {root}; none records a "
        "validation loss measured at its own step (pass --checkpoint to choose another)")
    return best.path
