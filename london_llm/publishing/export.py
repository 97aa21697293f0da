"""Export a checkpoint as a Hub-ready folder, exactly as trained, and check it before anyone uploads it.

The folder holds config.json, model.safetensors (the checkpoint's own file: tied weights once),
generation_config.json, the tokenizer files and the model card. It is written beside its final
place and renamed there only after the round-trip gate passed, so a bad export never replaces a
good one. Nothing of the training state (optimizer, RNG, manifest) goes in.
"""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple, Optional

from london_llm import atomic
from london_llm.training import checkpoint as ckpt
from london_llm.hashing import sha256_file
from london_llm.tags import END_OF_TEXT, PAD
from london_llm.tokenization.errors import TokenizerError
from london_llm.tokenization.loading import load_backend_tokenizer, tokenizer_info

from . import card as card_mod
from .card_schema import check_front_matter
from .errors import PublishError

MARKER = ".london_llm_export.json"  # says "this folder is an export" (never uploaded)
TOKENIZER_FILES = ckpt.TOKENIZER_FILES
EXPORT_FILES = ("config.json", "generation_config.json", ckpt.WEIGHTS, *TOKENIZER_FILES, "README.md")


class ExportedFile(NamedTuple):  # a (path, bytes, sha256) triple, as listing.upload_listing takes
    name: str
    bytes: int
    sha256: str


@dataclass
class Export:
    folder: Path
    checkpoint: Path
    step: int
    files: list[ExportedFile]
    front_matter: dict[str, Any]
    max_abs_logit_diff: float


def special_ids(folder: Path) -> dict[str, int]:
    """eos (also bos) and pad ids as the tokenizer folder records them; TokenizerError if unusable."""
    info = tokenizer_info(folder)
    ids = info["special_token_ids"]
    if END_OF_TEXT not in ids or PAD not in ids:
        raise PublishError(f"{folder}: the tokenizer lacks {END_OF_TEXT} or {PAD}; retrain it "
                           "(python 03_tokenizer/train_historical_tokenizer.py)")
    return {"eos": ids[END_OF_TEXT], "pad": ids[PAD], "vocab_size": info["vocab_size"]}


def _check_output_dir(out_dir: Path) -> None:
    """Never replace a folder this stage did not write (a user's --output_dir typo could be $HOME)."""
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / MARKER).is_file())):
        raise PublishError(f"--output_dir {out_dir} exists and is not an export folder written by this script; "
                           "choose a new or empty folder")


def _write_config(src: Path, dst: Path, ids: dict[str, int], log) -> dict[str, Any]:
    config = json.loads((src / "config.json").read_text(encoding="utf-8"))
    wrong = {k: config.get(k) for k, want in (("bos_token_id", ids["eos"]), ("eos_token_id", ids["eos"]),
                                              ("pad_token_id", ids["pad"])) if config.get(k) != want}
    if wrong:
        log(f"WARNING: config.json had {wrong}; the export uses the tokenizer's ids (eos {ids['eos']}, "
            f"pad {ids['pad']})")
    config.update(bos_token_id=ids["eos"], eos_token_id=ids["eos"], pad_token_id=ids["pad"])
    if not config.get("tie_word_embeddings", True):
        raise PublishError(f"{src}/config.json does not tie the output layer to the embedding; this exporter "
                           "publishes the project's tied GPT-2 only")
    config.setdefault("tokenizer_vocab_size", ids["vocab_size"])
    (dst / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return config


def _write_generation_config(src: Path, dst: Path, config: dict[str, Any], ids: dict[str, int], log) -> None:
    """The checkpoint's sampling defaults, with the ids right and the padded embedding rows suppressed."""
    path = src / "generation_config.json"
    gen = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else \
        {"do_sample": True, "temperature": 0.8, "top_k": 50, "max_new_tokens": 100}
    padded = list(range(int(config.get("tokenizer_vocab_size", ids["vocab_size"])), int(config["vocab_size"])))
    before = dict(gen)
    gen.update(bos_token_id=ids["eos"], eos_token_id=ids["eos"], pad_token_id=ids["pad"])
    if padded:
        gen["suppress_tokens"] = sorted(set(gen.get("suppress_tokens") or []) | set(padded))
    if path.is_file() and gen != before:
        log("WARNING: generation_config.json corrected (special-token ids or suppressed padding rows)")
    (dst / "generation_config.json").write_text(json.dumps(gen, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _write_weights(src: Path, dst: Path) -> None:
    """The checkpoint's model.safetensors itself; a separately stored (tied) lm_head is dropped."""
    from safetensors import safe_open

    with safe_open(str(src / ckpt.WEIGHTS), "pt") as f:
        keys = set(f.keys())
    if "lm_head.weight" not in keys:
        shutil.copyfile(src / ckpt.WEIGHTS, dst / ckpt.WEIGHTS)
        return
    import torch
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(src / ckpt.WEIGHTS))
    if not torch.equal(tensors["lm_head.weight"], tensors["transformer.wte.weight"]):
        raise PublishError(f"{src}: lm_head.weight differs from the token embedding; the weights are not tied")
    del tensors["lm_head.weight"]
    save_file(tensors, str(dst / ckpt.WEIGHTS), metadata={"format": "pt"})


def parameter_count(weights: Path) -> tuple[int, dict[str, list[int]]]:
    from safetensors import safe_open

    shapes = {}
    with safe_open(str(weights), "pt") as f:
        for key in f.keys():
            shapes[key] = list(f.get_slice(key).get_shape())
    total = 0
    for shape in shapes.values():
        n = 1
        for d in shape:
            n *= d
        total += n
    return total, shapes


def export_checkpoint(checkpoint: Path, out_dir: Path, *, card_inputs: Callable[[Path, dict], "card_mod.CardInputs"],
                      log: Callable[[str], None] = print, gate=None) -> Export:
    """Write the export of `checkpoint` to `out_dir`. `card_inputs(checkpoint, config)` gathers what the
    card says; `gate(checkpoint, folder)` is the round-trip check (roundtrip.check_roundtrip)."""
    checkpoint, out_dir = Path(checkpoint), Path(out_dir)
    _check_output_dir(out_dir)
    try:
        load_backend_tokenizer(checkpoint)  # complete, and what london_tokenizer.json describes
        ids = special_ids(checkpoint)
    except TokenizerError as exc:
        raise PublishError(f"the checkpoint's tokenizer is unusable: {exc}") from None
    state = ckpt.read_trainer_state(checkpoint)
    with atomic.atomic_dir(out_dir) as tmp:
        config = _write_config(checkpoint, tmp, ids, log)
        _write_generation_config(checkpoint, tmp, config, ids, log)
        _write_weights(checkpoint, tmp)
        for name in TOKENIZER_FILES:
            shutil.copyfile(checkpoint / name, tmp / name)
        inputs = card_inputs(checkpoint, config)
        (tmp / "README.md").write_text(card_mod.render(inputs), encoding="utf-8")
        meta = card_mod.read_front_matter(tmp / "README.md")
        problems = check_front_matter(meta, "model")
        if problems:
            raise PublishError("the model card's front matter is invalid: " + "; ".join(problems))
        diff = gate(checkpoint, tmp) if gate is not None else float("nan")
        files = [ExportedFile(n, (tmp / n).stat().st_size, sha256_file(tmp / n)) for n in EXPORT_FILES]
        (tmp / MARKER).write_text(json.dumps({"checkpoint": str(checkpoint), "step": state.get("step"),
                                              "created": time.time(),
                                              "files": {f.name: f.sha256 for f in files}}, indent=2) + "\n")
    return Export(out_dir, checkpoint, int(state.get("step") or ckpt.step_of(checkpoint) or 0), files, meta, diff)

