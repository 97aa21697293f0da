"""Check a checkpoint as a user would: list them, load one with plain transformers (the inference
core's loader), measure the validation loss on held-out text, and generate from prompts with the
inference core (tags, KV cache, context bound)."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F

from london_llm import tags
from london_llm.training import checkpoint as ckpt
from london_llm.training import status

# the guide's "Sample Test Prompts"
SAMPLE_PROMPTS = (
    "In the year 1834, I walked through the streets of London",
    "The gentleman from the country said, 'I have never seen such a sight",
    "Parliament sat in Westminster Hall",
    "The Great Fire of 1666 had destroyed",
)


def checkpoint_table(root: Path, model: str) -> str:
    """`model`'s checkpoints in `root`, in the one table training_status.py and resume_training.sh print."""
    return status.format_checkpoint_table({model: ckpt.list_checkpoints(root, deep=False)}, {model: root})


# the script that trains each preset's checkpoints (the guide's names)
TRAIN_SCRIPTS = {"regular": "04_training/train_model.py", "slm": "04_training/train_model_slm.py",
                 "tiny": "04_training/train_model_slm.py --model tiny"}


def no_checkpoint_yet(root: Path, model: str, roots: dict[str, Path]) -> str:
    """The one line for a model without a complete checkpoint: what trains it, and who has some."""
    if model not in TRAIN_SCRIPTS:  # a folder of one's own (--checkpoints_dir): no model to name
        return f"no complete checkpoint in {root}: train into it first, or pass --checkpoint_path"
    return (f"no complete checkpoint of the {model} model in {root}: train it first "
            f"(python {TRAIN_SCRIPTS[model]}), or pass --checkpoint_path."
            + ckpt.other_models_hint({m: r for m, r in roots.items() if m != model}))


def pick_checkpoint(root: Path, name: Optional[str], log=print, *, home: Optional[Path] = None,
                    model: str = "", roots: Optional[dict[str, Path]] = None) -> Path:
    """The named checkpoint (name, name.pt or a path: absolute, else from the current folder, else from
    the artifact root `home`, as training resolves it), or the newest complete one."""
    if name:
        path = ckpt.resolve(root, name, flag="--checkpoint_path",
                            otherwise="or list them with --list-checkpoints", home=home)
        ckpt.require_good(path)
        return path
    path = ckpt.newest_good(root, log=log)
    if path is None:
        raise ckpt.CheckpointNotFound(no_checkpoint_yet(root, model, roots or {}))
    return path


def _recorded_tokens(data_dir: Path, split: str) -> Optional[int]:
    """The token count metadata.json records for `split`, or None where there is no readable record."""
    try:
        meta = json.loads((data_dir / "metadata.json").read_text(encoding="utf-8"))
        return int(meta["splits"][split]["tokens"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@torch.no_grad()
def validation_loss(model, data_dir: Path, block_size: int, batch_size: int, max_batches: int,
                    device: torch.device) -> Optional[float]:
    """Mean next-token loss on the held-out split of the pretokenized data, or None if there is none."""
    from london_llm.pretokenize.format import open_tokens
    from london_llm.training.batches import validation_batches

    val = Path(data_dir) / "val.bin"
    if not val.is_file():
        return None  # no held-out data: reported as such, not an error
    try:
        tokens = open_tokens(data_dir, "val")
    except (OSError, ValueError) as exc:  # there, but empty, cut mid-token or unreadable
        raise ckpt.CheckpointError(f"{val} is unusable ({exc}); rebuild the pretokenized data (run training "
                                   "once), pass --data_dir with good data, or --eval_batches 0") from None
    expected = _recorded_tokens(Path(data_dir), "val")
    if expected is not None and expected != len(tokens):
        raise ckpt.CheckpointError(f"{val} holds {len(tokens):,} tokens, its metadata.json says {expected:,} "
                                   "(truncated or overwritten); rebuild the pretokenized data (run training once), "
                                   "pass --data_dir with good data, or --eval_batches 0")
    try:
        batches = validation_batches(tokens, block_size, batch_size, max_batches, 0, 1)
    except ValueError as exc:
        raise ckpt.CheckpointError(f"{Path(data_dir) / 'val.bin'}: {exc}; pass --data_dir with the data this "
                                   "checkpoint trained on, or --eval_batches 0") from None
    # the tokenizer's real size (the embedding is padded past it): a larger id is another tokenizer's
    vocab = getattr(model.config, "tokenizer_vocab_size", None) or model.get_input_embeddings().num_embeddings
    losses = []
    for x, y in batches:
        if int(x.max()) >= vocab or int(y.max()) >= vocab:
            raise ckpt.CheckpointError(
                f"{Path(data_dir) / 'val.bin'} holds token ids up to {max(int(x.max()), int(y.max()))}, beyond this "
                f"model's {vocab}-token vocabulary (built with another tokenizer); pass --data_dir with the data "
                "this checkpoint trained on, or --eval_batches 0")
        x = torch.as_tensor(x, dtype=torch.long, device=device)
        y = torch.as_tensor(y, dtype=torch.long, device=device)
        logits = model(input_ids=x, use_cache=False).logits
        losses.append(F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1)).item())
    return sum(losses) / len(losses) if losses else None


def sample(engine, prompt: str, settings) -> str:
    """The prompt's continuation from the inference core, with the conditioning tags training documents
    begin with (settings.kind/period/year; default kind book). A prompt plus max_new_tokens past the
    context raises ContextOverflowError saying how many tokens fit: nothing is cut silently."""
    full = settings.prompt(prompt, engine.loaded.conditioning_tags)
    return engine.generate(full, settings.params)[0].text


def describe_state(path: Path) -> str:
    state = ckpt.read_trainer_state(path)
    cfg = state.get("config", {})
    step = state.get("step") if isinstance(state.get("step"), int) else (ckpt.step_of(path) or 0)
    val, at = ckpt.measured_val(state, step)
    if val is None:
        loss = "no val loss yet"
    elif at == step:
        loss = f"val loss {val:.4f} (ppl {math.exp(min(val, 50)):.1f})"
    else:  # a save between evaluations carries the last measured loss: never shown as this checkpoint's
        loss = (f"not evaluated at this step (last val loss {val:.4f}, measured at "
                + (f"step {at})" if at is not None else "an earlier step)"))
    return (f"{path.name}: step {state.get('step')}, epoch {state.get('epoch', 0):.3f}, {loss}; "
            f"{cfg.get('n_layer')} layers x {cfg.get('n_embd')}, context {cfg.get('max_length')}")


def data_dir_of(path: Path) -> Optional[Path]:
    try:
        return Path(json.loads((path / ckpt.TRAINER_STATE).read_text())["data_dir"])
    except (OSError, ValueError, KeyError):
        return None
