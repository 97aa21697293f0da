"""Load any of our models the same way: a checkpoint name, a checkpoint or model folder, or a Hub id
already in the local Hugging Face cache; always offline, on the best device and dtype.

Every folder loads with plain `AutoModelForCausalLM` / `AutoTokenizer` (the architecture's promise);
what this adds is the lookup, the checks a person needs a clear message for (incomplete checkpoint,
a tokenizer that does not match the model), and the provenance a result should carry (step, sha256).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import torch

from london_llm.training import checkpoint as ckpt
from london_llm.hashing import sha256_file
from london_llm.inference.errors import InferenceError

if TYPE_CHECKING:
    from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast

_CHECKPOINT_NAME = re.compile(r"^checkpoint-\d+(?:\.pt)?$")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
WEIGHTS = "model.safetensors"
MANIFEST = "manifest.json"
TRAINER_STATE = "trainer_state.json"
TOKENIZER_INFO = "london_tokenizer.json"
DTYPES = {"fp32": torch.float32, "float32": torch.float32, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16,
          "fp16": torch.float16, "float16": torch.float16}


@dataclass
class LoadedModel:
    model: "GPT2LMHeadModel"  # eval mode, on device
    tokenizer: "PreTrainedTokenizerFast"
    device: torch.device
    dtype: torch.dtype
    path: Path  # the folder loaded
    step: Optional[int]  # from trainer_state.json, None for a plain HF folder
    sha256: Optional[str]  # of model.safetensors
    conditioning_tags: list[str] = field(default_factory=list)  # tags the tokenizer knows, [] if none

    @property
    def context_length(self) -> int:
        return int(self.model.config.n_positions)

    @property
    def name(self) -> str:
        return self.path.name

    def provenance(self) -> dict:
        """What a result should say about the model that made it."""
        return {"checkpoint": str(self.path), "step": self.step, "sha256": self.sha256}


def choose_device(requested: str = "auto") -> torch.device:
    """`cpu`, `cuda`, `cuda:N`, `mps`, or the best available (CUDA, then MPS, then CPU)."""
    if requested and requested != "auto":
        try:
            device = torch.device(requested)
        except RuntimeError:
            raise InferenceError(f"--device {requested!r} is not a device; use auto, cpu, cuda, cuda:N or mps") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise InferenceError(f"--device {requested}: CUDA is not available on this machine; use --device cpu")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise InferenceError(f"--device {requested}: MPS is not available on this machine; use --device cpu")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda", 0)
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def choose_dtype(device: torch.device, requested: str = "auto") -> torch.dtype:
    """bf16 on GPUs that have it (else fp16), fp32 on CPU and MPS (exact, and as fast for a small model)."""
    if requested == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if requested not in DTYPES:
        raise InferenceError(f"--dtype must be auto, fp32, bf16 or fp16, not {requested!r}")
    dtype = DTYPES[requested]
    if dtype == torch.float16 and device.type == "cpu":
        raise InferenceError("--dtype fp16 needs a GPU; on a CPU use fp32 (or bf16)")
    return dtype


def resolve_model_path(spec: str | Path, checkpoints_dir: Optional[Path] = None) -> Path:
    """The folder `spec` names: checkpoint-N in `checkpoints_dir`, a folder path, or a cached Hub id."""
    text = str(spec).strip()
    if not text:
        raise InferenceError("no model given: pass --checkpoint checkpoint-N, a model folder or a Hub id")
    given = Path(text).expanduser()
    if given.is_dir():
        return given.resolve()
    if _CHECKPOINT_NAME.match(given.name):
        if checkpoints_dir is None:
            raise InferenceError(f"checkpoint {text!r} not found. {_available(None)}")
        try:  # the checkpoint module owns how a name (or the guide's .pt path) finds its folder
            return ckpt.resolve(Path(checkpoints_dir), text, flag="--checkpoint",
                                otherwise="or a model folder path")
        except ckpt.CheckpointError as exc:
            raise InferenceError(str(exc)) from None
    if _HUB_ID.match(text) and not given.exists():
        return _from_hub_cache(text)
    raise InferenceError(f"no model folder at {given} (nor a checkpoint name or a Hub id). "
                         f"{_available(checkpoints_dir)}")


def _available(checkpoints_dir: Optional[Path]) -> str:
    if checkpoints_dir is None:
        return "Pass a checkpoint folder path, or --model / --checkpoints_dir to look names up."
    root = Path(checkpoints_dir)
    names = sorted((p.name for p in root.glob("checkpoint-*") if p.is_dir() and _CHECKPOINT_NAME.match(p.name)),
                   key=lambda n: int(n.split("-")[1]))
    if not names:
        return f"There are no checkpoints in {root}: train first, or check --model (each model has its own folder)."
    return f"Checkpoints in {root}: {', '.join(names)}."


def _from_hub_cache(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception as exc:  # noqa: BLE001 - every failure here means "not in the local cache"
        raise InferenceError(f"{repo_id!r} is not in the local Hugging Face cache ({type(exc).__name__}); "
                             "download it first with `huggingface-cli download "
                             f"{repo_id}` on a machine online, or pass a model folder") from None


def newest_checkpoint(checkpoints_dir: Path, log=lambda message: None) -> Path:
    """The newest complete checkpoint-N in `checkpoints_dir` (incomplete ones are passed over)."""
    root = Path(checkpoints_dir)
    path = ckpt.newest_good(root, log=log)
    if path is not None:
        return Path(path).resolve()
    raise InferenceError(f"no complete checkpoint in {root}: train first (04_training/train_model_slm.py), "
                         "pass --model for the preset you trained (./run.sh trains tiny on a CPU), "
                         "or pass --checkpoint with a folder")


def _verify_checkpoint(path: Path) -> Optional[str]:
    """sha256 of the weights; a checkpoint folder (with manifest.json) must match its manifest."""
    weights = path / WEIGHTS
    if not weights.is_file():
        return None
    manifest_file = path / MANIFEST
    if manifest_file.is_file():
        problem = ckpt.verify(path, deep=False)  # sizes and listing; the weights' hash is checked below
        if problem:
            raise InferenceError(f"checkpoint {path} is unusable: {problem}. Pick an earlier one "
                                 "(--list-checkpoints) or delete it")
    digest = sha256_file(weights)
    if manifest_file.is_file():
        try:
            listed = json.loads(manifest_file.read_text(encoding="utf-8"))["files"][WEIGHTS]
        except (ValueError, KeyError, TypeError) as exc:
            raise InferenceError(f"{manifest_file} is unreadable ({exc}); pick another checkpoint") from None
        if listed.get("sha256") != digest:
            raise InferenceError(f"{weights} does not match its sha256 in {manifest_file} (corrupt or "
                                 "half-written); pick an earlier checkpoint")
    return digest


def _read_step(path: Path) -> Optional[int]:
    try:
        step = json.loads((path / TRAINER_STATE).read_text(encoding="utf-8")).get("step")
        return int(step) if step is not None else None
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def _read_tags(path: Path, tokenizer) -> list[str]:
    try:
        info = json.loads((path / TOKENIZER_INFO).read_text(encoding="utf-8"))
        tags = list(info.get("conditioning_tags") or [])
    except (OSError, ValueError, AttributeError):
        return []
    vocab = tokenizer.get_vocab()
    return [t for t in tags if t in vocab]


def load_model(spec: str | Path, *, checkpoints_dir: Optional[Path] = None, device: str = "auto",
               dtype: str = "auto") -> LoadedModel:
    """Load `spec` (see resolve_model_path) in eval mode on `device` with `dtype`, offline."""
    path = resolve_model_path(spec, checkpoints_dir)
    if not (path / "config.json").is_file():
        raise InferenceError(f"{path} holds no config.json: not a model folder (a checkpoint-N folder or a "
                             "folder written by save_pretrained)")
    torch_device = choose_device(device)
    torch_dtype = choose_dtype(torch_device, dtype)
    sha = _verify_checkpoint(path)
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a one-shard "Loading weights" bar is noise on every start
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True, dtype=torch_dtype,
                                                     attn_implementation="sdpa")
    except Exception as exc:  # transformers raises many kinds for a bad folder; all mean the same here
        raise InferenceError(f"{path} does not load with AutoModelForCausalLM/AutoTokenizer "
                             f"({type(exc).__name__}: {exc}); pick another checkpoint or model folder") from None
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
    embeddings = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > embeddings:
        raise InferenceError(f"{path}: the tokenizer has {len(tokenizer)} tokens but the model's embedding only "
                             f"{embeddings}; the folder mixes files of two runs")
    if getattr(model.config, "n_positions", None) is None:
        raise InferenceError(f"{path}: config.json has no n_positions (not a GPT-2-style model)")
    model.to(torch_device).eval()
    return LoadedModel(model=model, tokenizer=tokenizer, device=torch_device, dtype=torch_dtype, path=path,
                       step=_read_step(path), sha256=sha, conditioning_tags=_read_tags(path, tokenizer))


SMALL_MODEL_PARAMS = 50_000_000


def set_threads(model, threads: Optional[int], device) -> None:
    """A small model on a CPU runs fastest on one thread: its matrices are too small for intra-op
    parallelism to pay for the threads' synchronisation (on a busy 2-core machine a 2-layer model's
    forward pass took 0.5 s on two threads and 3 ms on one)."""
    import torch

    if threads is not None:
        torch.set_num_threads(max(1, threads))
    elif getattr(device, "type", str(device)) == "cpu" and sum(p.numel() for p in model.parameters()) < SMALL_MODEL_PARAMS:
        torch.set_num_threads(1)
