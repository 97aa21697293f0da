"""Checkpoint folders (README "Checkpoint folder (format 1)"): write, verify, list, find, prune.

The one owner of the checkpoint format. torch and safetensors are imported only where tensors
are written or read, so listing and naming checkpoints (the status script) needs neither.

A checkpoint is written into a temporary folder and renamed into place; its manifest.json
(file sizes and sha256 sums) is written last, so a folder without a matching manifest is
incomplete or corrupt and is passed over for the previous good one.
"""
from __future__ import annotations

import json
import math
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

from london_llm import atomic
from london_llm.errors import LondonLLMError
from london_llm.hashing import sha256_file  # noqa: F401 - also part of this module's API
from london_llm.jsonl import strict_dumps
from london_llm.tokenization.format import FOLDER_FILES

if TYPE_CHECKING:
    import torch

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TRAINER_STATE = "trainer_state.json"
OPTIMIZER = "optimizer.pt"
RNG_STATE = "rng_state.pt"
WEIGHTS = "model.safetensors"
_NAME = re.compile(r"^checkpoint-(\d+)(?:\.pt)?$")
TOKENIZER_FILES = FOLDER_FILES  # a checkpoint carries its tokenizer's whole folder


class CheckpointError(LondonLLMError, RuntimeError):
    """A checkpoint is missing, incomplete or corrupt; the message says which and what to do."""


class CheckpointNotFound(CheckpointError):
    pass


@dataclass
class CheckpointInfo:
    path: Path
    step: int
    problem: Optional[str] = None  # None when the manifest checks out (checked lazily)
    val_loss: Optional[float] = None  # measured at this checkpoint's own step (measured_val), else None
    carried_val: Optional[float] = None  # a loss measured earlier that this checkpoint only carries
    carried_from: Optional[int] = None  # the step that carried loss was measured at; None when unknown
    created: Optional[float] = None
    size_bytes: int = 0

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def saved(self) -> str:
        """When it was written, as the tables show it (local time), or "?"."""
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.created)) if self.created else "?"


def checkpoint_name(text: str) -> Optional[str]:
    """`checkpoint-500` or the guide's `checkpoint-500.pt` -> `checkpoint-500`; anything else None."""
    m = _NAME.match(text)
    return f"checkpoint-{m.group(1)}" if m else None


def step_of(path: Path) -> Optional[int]:
    m = _NAME.match(Path(path).name)
    return int(m.group(1)) if m else None


# --- writing ---------------------------------------------------------------------------------

def save_checkpoint(root: Path, step: int, *, model, optimizer_state: dict, rng_states: list[dict],
                    trainer_state: dict, tokenizer_dir: Optional[Path], generation_config=None,
                    save_total_limit: int = 0, log: Callable[[str], None] = print,
                    protect: Iterable[Path] = ()) -> Path:
    """Write `root/checkpoint-<step>/` atomically (manifest last), then keep the newest `save_total_limit`
    (never pruning the one just written, nor those in `protect`, e.g. the checkpoint resumed from)."""
    import torch

    root = Path(root)
    final = root / f"checkpoint-{step}"
    with atomic.atomic_dir(final) as tmp:
        tmp.chmod(0o755)  # mkdtemp makes it private; a checkpoint is an ordinary folder
        _save_model_quietly(model, tmp)
        if generation_config is not None:
            generation_config.save_pretrained(tmp)
        if tokenizer_dir is not None:  # the folder must load with AutoTokenizer on its own
            for name in TOKENIZER_FILES:
                src = Path(tokenizer_dir) / name
                if src.is_file():
                    shutil.copy2(src, tmp / name)
        torch.save(optimizer_state, tmp / OPTIMIZER)
        torch.save({"format_version": FORMAT_VERSION, "ranks": rng_states}, tmp / RNG_STATE)
        state = dict(trainer_state, format_version=FORMAT_VERSION, step=step, saved=time.time())
        (tmp / TRAINER_STATE).write_text(strict_dumps(state, indent=2) + "\n", encoding="utf-8")
        _write_manifest(tmp, step)
    if save_total_limit and save_total_limit > 0:
        prune(root, save_total_limit, log=log, protect=[final, *protect])
    return final


def _save_model_quietly(model, folder: Path) -> None:
    """save_pretrained without its one-shard progress bar cutting through the training bar."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model.save_pretrained(folder, safe_serialization=True)
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _write_manifest(folder: Path, step: int) -> None:
    files = {}
    for f in sorted(folder.iterdir()):
        if f.is_file() and f.name != MANIFEST:
            files[f.name] = {"bytes": f.stat().st_size, "sha256": sha256_file(f)}
    manifest = {"format_version": FORMAT_VERSION, "step": step, "created": time.time(), "files": files}
    (folder / MANIFEST).write_text(strict_dumps(manifest, indent=2) + "\n", encoding="utf-8")


def measured_val(state: dict, step: int) -> tuple[Optional[float], Optional[int]]:
    """(the validation loss a trainer_state records, the step it was measured at or None when unknown).

    A save on a stop or at a save step between evaluations carries the last measured loss, with
    `last_val_step` saying where it came from. An older state without that field counts as measured
    at its own step only when that step is a multiple of its saved config's eval_steps or it is the
    run's final checkpoint (the only steps the trainer evaluated at); otherwise the step is unknown."""
    val = state.get("last_val_loss")
    if not isinstance(val, (int, float)) or isinstance(val, bool) or not math.isfinite(val):
        return None, None
    if "last_val_step" in state:
        at = state["last_val_step"]
        return float(val), at if isinstance(at, int) and not isinstance(at, bool) else None
    eval_steps = (state.get("config") or {}).get("eval_steps")
    if state.get("final") is True or (isinstance(eval_steps, int) and eval_steps > 0 and step % eval_steps == 0):
        return float(val), step
    return float(val), None


def best_val_step(state: dict) -> Optional[int]:
    """The step a trainer_state's best_val_loss was measured at, or None (not recorded, or not a step)."""
    at = state.get("best_val_step")
    return at if isinstance(at, int) and not isinstance(at, bool) else None


def own_val_loss(state: dict, step: int) -> Optional[float]:
    """The validation loss of checkpoint `step` itself: only one measured at that step, else None."""
    val, at = measured_val(state, step)
    return val if at == step else None


def state_is_finite(state: Any) -> bool:
    """False when a trainer_state (or any part of it) holds a NaN or infinite number: a diverged save
    (runs before the non-finite guard wrote those, as bare NaN)."""
    if isinstance(state, float):
        return math.isfinite(state)
    if isinstance(state, dict):
        return all(state_is_finite(v) for v in state.values())
    if isinstance(state, (list, tuple)):
        return all(state_is_finite(v) for v in state)
    return True


def _finite_state(path: Path) -> Optional[dict]:
    """The folder's trainer_state when it is readable and finite, else None."""
    try:
        state = json.loads((path / TRAINER_STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and state_is_finite(state) else None


def keepers(found: list[Path]) -> list[Path]:
    """The checkpoints pruning must never remove: the newest one with a finite state and the one
    with the best (lowest) validation loss measured at its own step (a carried loss never counts)."""
    keep = []
    states = {p: _finite_state(p) for p in found}
    finite = [p for p in found if states[p] is not None]
    if finite:
        keep.append(finite[-1])
    own = {p: own_val_loss(states[p], step_of(p)) for p in finite}
    scored = [(own[p], step_of(p), p) for p in finite if own[p] is not None]
    if scored:
        keep.append(min(scored, key=lambda t: (t[0], -t[1]))[2])  # the newest of equals
    return keep


def prune(root: Path, keep: int, log: Callable[[str], None] = print,
          protect: Iterable[Path] = ()) -> list[Path]:
    """Delete all but the newest `keep` checkpoints (by step), never one in `protect`, the newest
    finite one or the best one (keepers). Returns those really deleted; a failure is reported."""
    found = sorted((p for p in Path(root).glob("checkpoint-*") if p.is_dir() and step_of(p) is not None),
                   key=step_of)
    if keep <= 0 or len(found) <= keep:
        return []
    kept = {Path(p).resolve() for p in [*protect, *keepers(found)] if p is not None}
    removed = []
    for path in (p for p in found[:-keep] if p.resolve() not in kept):
        try:
            shutil.rmtree(path)
        except OSError as exc:
            log(f"WARNING: could not delete old checkpoint {path.name} ({exc}); it stays, delete it by hand")
            continue
        removed.append(path)
        log(f"Deleted old checkpoint {path.name} (keeping the newest {keep}, the newest finite and the best)")
    return removed


def clean_temporary(root: Path) -> None:
    """Remove half-written checkpoint folders left by a killed run (never visible as checkpoint-N)."""
    for tmp in Path(root).glob(".checkpoint-*"):
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)


# --- checking and finding ----------------------------------------------------------------------

def verify(path: Path, deep: bool = True) -> Optional[str]:
    """None when `path` is a complete checkpoint; otherwise what is wrong with it."""
    path = Path(path)
    manifest_file = path / MANIFEST
    if not manifest_file.is_file():
        if not_a_checkpoint(path):
            return "not a training checkpoint (no manifest.json or trainer_state.json in it)"
        return "no manifest.json (the save was interrupted)"
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        files = manifest["files"]
        if not isinstance(files, dict) or not all(isinstance(m, dict) and isinstance(m.get("bytes"), int)
                                                  and isinstance(m.get("sha256"), str) for m in files.values()):
            raise ValueError("its file list is malformed")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        return f"unreadable manifest.json ({exc})"
    if manifest.get("format_version") != FORMAT_VERSION:
        return f"format_version {manifest.get('format_version')!r}, expected {FORMAT_VERSION}"
    for name in (WEIGHTS, TRAINER_STATE, OPTIMIZER, RNG_STATE, "config.json"):
        if name not in files:
            return f"manifest lists no {name}"
    for name, meta in files.items():
        f = path / name
        if not f.is_file():
            return f"{name} is missing"
        if f.stat().st_size != meta["bytes"]:
            return f"{name} is {f.stat().st_size} bytes, manifest says {meta['bytes']} (truncated?)"
        if deep and sha256_file(f) != meta["sha256"]:
            return f"{name} does not match its sha256 in manifest.json (corrupt)"
    return None


def read_info(path: Path, deep: bool = False) -> CheckpointInfo:
    path = Path(path)
    info = CheckpointInfo(path=path, step=step_of(path) or -1)
    info.problem = verify(path, deep=deep)
    info.size_bytes = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    try:
        state = json.loads((path / TRAINER_STATE).read_text(encoding="utf-8"))
        val, at = measured_val(state, info.step) if isinstance(state, dict) else (None, None)
        if at == info.step:
            info.val_loss = val
        else:
            info.carried_val, info.carried_from = val, at
        info.created = state.get("saved")
    except (OSError, ValueError):
        info.created = path.stat().st_mtime
    return info


def list_checkpoints(root: Path, deep: bool = False) -> list[CheckpointInfo]:
    """Every checkpoint-N folder under `root`, oldest first, with whether it is complete."""
    root = Path(root)
    if not root.is_dir():
        return []
    dirs = [p for p in root.iterdir() if p.is_dir() and step_of(p) is not None]
    return [read_info(p, deep=deep) for p in sorted(dirs, key=step_of)]


def newest_good(root: Path, log: Callable[[str], None] = print) -> Optional[Path]:
    """The newest checkpoint whose files match its manifest; corrupt newer ones are reported and skipped."""
    for info in reversed(list_checkpoints(root)):
        problem = verify(info.path, deep=True)
        if problem is None:
            return info.path
        log(f"skipping {info.path}: {problem}; falling back to the previous checkpoint")
    return None


def describe_available(root: Path) -> str:
    infos = list_checkpoints(root)
    if not infos:
        return f"no checkpoints exist in {root}"
    return f"checkpoints in {root}: " + ", ".join(i.name + ("" if i.problem is None else " (incomplete)")
                                                for i in infos)


def other_models_hint(dirs: dict[str, Path]) -> str:
    """' The tiny model has checkpoints (newest: checkpoint-40): pass --model tiny.' for the models of
    `dirs` (model -> its checkpoint folder) that have a complete checkpoint, else ''. For a command that
    looked in its default model's folder and found none (./run.sh on a CPU trains tiny)."""
    # sizes and listing only (deep=False): hashing a 4 GB checkpoint for a hint would stall the error
    complete = {m: [i.path for i in list_checkpoints(d, deep=False) if i.problem is None]
                for m, d in dirs.items() if Path(d).is_dir()}
    found = {m: paths[-1] for m, paths in complete.items() if paths}
    if not found:
        return ""
    which = "; ".join(f"the {m} model has checkpoints (newest: {Path(p).name}): pass --model {m}"
                      for m, p in found.items())
    return f" {which[0].upper()}{which[1:]}."


SET_ASIDE = "previous_runs"  # where a fresh start or a resume from an earlier step moves a folder's checkpoints


def set_aside(root: Path, name: str) -> Optional[Path]:
    """The newest `root/previous_runs/<when>/<name>` folder: checkpoint `name` of `root` moved aside (not
    deleted) by a fresh start (./launch_training.sh, --fresh) or by a resume from an earlier step."""
    match = _NAME.match(Path(name).name)
    if not match:
        return None
    found = sorted((p for p in Path(root).glob(f"{SET_ASIDE}/*/checkpoint-{match.group(1)}") if p.is_dir()),
                   reverse=True)  # the folders are named by time: the newest first
    return found[0] if found else None


def set_aside_folders(root: Path) -> list[tuple[Path, list[str]]]:
    """(folder, its checkpoint names oldest first) for each `root/previous_runs/<when>/` holding any, newest first."""
    out = []
    for folder in sorted((p for p in Path(root).glob(f"{SET_ASIDE}/*") if p.is_dir()), reverse=True):
        names = sorted((p.name for p in folder.glob("checkpoint-*") if p.is_dir() and _NAME.match(p.name)),
                       key=lambda n: int(_NAME.match(n).group(1)))
        if names:
            out.append((folder, names))
    return out


def set_aside_hint(root: Path, name: str) -> str:
    """' <name> was set aside in ...: resume it with ...' for a name found only under previous_runs/, else ''.
    The guide's cure for an accidental fresh start (resume checkpoint-N by name) then says where it went."""
    found = set_aside(root, name)
    if found is None:
        return ""
    return (f" {found.name} is no longer in {root}: a fresh start (./launch_training.sh, --fresh) or a resume "
            f"from an earlier step set it aside, not deleted, in {found.parent}. Resume it with "
            f"./resume_training.sh {found} (it continues in that folder).")


def resolve(root: Path, name: str, flag: str = "--resume_from_checkpoint",
            otherwise: str = "or --fresh to start over", home: Optional[Path] = None) -> Path:
    """The checkpoint folder `name` means, by the one rule the scripts and launchers share (docs/training.md):
    a bare `checkpoint-N` (or the guide's `checkpoint-N.pt`) is looked up in `root`, the model's checkpoint
    folder; a path is taken as it is when absolute, else from the current folder and then from the
    artifact root `home`. A name that does not exist raises CheckpointNotFound listing those that do."""
    root = Path(root)
    given = Path(name).expanduser()
    if given.suffix == ".pt" and _NAME.match(given.name):
        given = given.with_name(given.stem)
    if given.is_absolute():
        candidates = [given]
    elif len(given.parts) == 1:
        candidates = [root / given] if _NAME.match(given.name) else [Path.cwd() / given]
    else:
        candidates = [Path.cwd() / given] + ([Path(home) / given] if home is not None else [])
        if _NAME.match(given.name) and root.parts[-len(given.parent.parts):] == given.parent.parts:
            # the guide's `09_models/checkpoints/slm/checkpoint-N.pt`, typed in 04_training/: the path
            # ends in `root` itself, so it names a checkpoint of this folder wherever it is run from
            candidates.append(root / given.name)
    candidates = list(dict.fromkeys(candidates))  # a path under home that is also root's: named once
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    files = [c for c in candidates if c.is_file()]
    if files:
        raise CheckpointNotFound(f"{files[0]} is a file, not a checkpoint folder: pass the checkpoint-N folder "
                                 f"itself (it holds {WEIGHTS} and {TRAINER_STATE}). {describe_available(root)}.")
    where = " or ".join(str(c) for c in candidates)
    what = (f"Pass one of these to {flag}, {otherwise}." if list_checkpoints(root) else
            f"Check the name and --model (each model has its own folder), {otherwise}.")
    aside = set_aside_hint(root, given.name) if len(given.parts) == 1 else ""
    placeholder = (" (the guide's XXXX stands for a step number)"
                   if re.search(r"checkpoint-X+", name, re.IGNORECASE) else "")
    raise CheckpointNotFound(f"Checkpoint not found: {name!r}{placeholder} (looked for {where}). "
                             f"{describe_available(root)}. {what}{aside}")


def not_a_checkpoint(path: Path) -> bool:
    """True for a folder the training never wrote as a checkpoint (some other folder given by mistake):
    it has neither the manifest nor the trainer state, so "the save was interrupted" would be wrong."""
    return not (Path(path) / MANIFEST).exists() and not (Path(path) / TRAINER_STATE).exists()


def require_good(path: Path) -> None:
    problem = verify(path, deep=True)
    if problem and not_a_checkpoint(path):  # a wrong folder: never advise deleting it
        raise CheckpointError(f"{path} is {problem}: pass a checkpoint-N folder the training wrote "
                              "(python 04_training/test_checkpoint.py --list-checkpoints lists them).")
    if problem:
        raise CheckpointError(f"checkpoint {path} is unusable: {problem}. Pick an earlier one "
                              "(python 04_training/test_checkpoint.py --list-checkpoints lists them) "
                              "or delete it to fall back automatically.")


# --- reading -----------------------------------------------------------------------------------

def read_trainer_state(path: Path) -> dict[str, Any]:
    try:
        return json.loads((Path(path) / TRAINER_STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {Path(path) / TRAINER_STATE}: {exc}") from exc


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(Path(path) / WEIGHTS))


def load_optimizer_state(path: Path) -> dict:
    import torch

    return torch.load(Path(path) / OPTIMIZER, map_location="cpu", weights_only=True)


def load_rng_states(path: Path) -> list[dict]:
    import torch

    return torch.load(Path(path) / RNG_STATE, map_location="cpu", weights_only=True)["ranks"]
