"""Typed training settings and the one mechanism that lays command-line flags over a preset.

The package never reads config.py: scripts pass a preset (a `TrainConfig`) in, and
`build_parser` / `resolve` turn it into flags and back.  Every field is a flag spelled as
the field (`--batch_size`, the guide's spelling) with a dashed alias (`--batch-size`).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable, Optional


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs besides paths. Values documented in README."""

    # --- model shape (GPT-2) ---
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    max_length: int = 512  # context length == n_positions
    vocab_size: int = 30_000  # tokenizer vocabulary the preset is sized for
    pad_vocab_to_multiple: int = 64  # embedding padded for faster matmuls
    dropout: float = 0.0  # pretraining on a large corpus: no dropout (nanoGPT)

    # --- batch and length of training ---
    batch_size: int = 18  # sequences per device per micro-step
    gradient_accumulation_steps: int = 1
    max_steps: Optional[int] = 60_000  # None: as many as num_epochs take
    num_epochs: float = 3.0  # stop at whichever of max_steps / num_epochs comes first

    # --- optimiser and schedule (nanoGPT's choices for GPT-2) ---
    learning_rate: float = 3e-4
    min_lr_ratio: float = 0.1  # cosine decays to learning_rate * min_lr_ratio
    warmup_steps: int = 2_000
    weight_decay: float = 0.1  # weight matrices and embeddings only; never biases or norms
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0  # 0 disables clipping

    # --- evaluation, logging, checkpoints ---
    eval_steps: int = 500
    eval_iters: int = 50  # validation batches per evaluation
    logging_steps: int = 10
    save_steps: int = 500
    save_total_limit: int = 5

    # --- data ---
    val_fraction: float = 0.01  # share of documents held out, per source kind
    seed: int = 1337

    # --- numerics and speed ---
    dtype: str = "auto"  # auto | bf16 | fp16 | fp32
    compile: str = "auto"  # auto (on for CUDA) | on | off

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown configuration keys: {', '.join(unknown)}")
        return cls(**values)

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def validate(self) -> "TrainConfig":
        problems = []
        if self.n_embd % self.n_head:
            problems.append(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        for name in ("n_layer", "n_head", "n_embd", "max_length", "batch_size",
                     "gradient_accumulation_steps", "eval_steps", "logging_steps", "save_steps"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be positive")
        if self.eval_iters <= 0:
            problems.append("eval_iters must be positive")
        if self.max_steps is not None and self.max_steps <= 0:
            problems.append("max_steps must be positive (or none)")
        if not self.learning_rate > 0:
            problems.append("learning_rate must be positive")
        if not 0 <= self.min_lr_ratio <= 1:  # a negative floor would end the schedule at a negative rate
            problems.append("min_lr_ratio must be between 0 and 1")
        for name in ("warmup_steps", "weight_decay", "grad_clip"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must not be negative")
        for name in ("dropout", "beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                problems.append(f"{name} must be at least 0 and below 1")
        if self.max_steps is None and self.num_epochs <= 0:
            problems.append("set max_steps or a positive num_epochs")
        if self.dtype not in ("auto", "bf16", "fp16", "fp32"):
            problems.append(f"dtype must be auto, bf16, fp16 or fp32, not {self.dtype!r}")
        if self.compile not in ("auto", "on", "off"):
            problems.append(f"compile must be auto, on or off, not {self.compile!r}")
        if not 0 < self.val_fraction < 1:
            problems.append("val_fraction must be between 0 and 1")
        if problems:
            raise ValueError("invalid configuration: " + "; ".join(problems))
        return self


_HELP = {
    "n_layer": "transformer blocks",
    "n_head": "attention heads per block",
    "n_embd": "hidden width",
    "max_length": "context length in tokens (the model's n_positions)",
    "vocab_size": "vocabulary size the tokenizer is trained to",
    "pad_vocab_to_multiple": "pad the embedding matrix to a multiple of this (1 = no padding)",
    "dropout": "dropout probability",
    "batch_size": "sequences per device per micro-step",
    "gradient_accumulation_steps": "micro-steps per optimizer step",
    "max_steps": "optimizer steps to train ('none': as many as --num_epochs take)",
    "num_epochs": "passes over the training data (training stops at max_steps or here)",
    "learning_rate": "peak learning rate after warm-up",
    "min_lr_ratio": "final learning rate as a fraction of the peak (cosine decay)",
    "warmup_steps": "linear warm-up steps",
    "weight_decay": "AdamW weight decay for weight matrices (never biases or norms)",
    "beta1": "AdamW beta1",
    "beta2": "AdamW beta2",
    "grad_clip": "clip the gradient norm to this (0 disables)",
    "eval_steps": "evaluate every N steps",
    "eval_iters": "validation batches per evaluation",
    "logging_steps": "log metrics every N steps",
    "save_steps": "write a checkpoint every N steps",
    "save_total_limit": "keep the newest N checkpoints",
    "val_fraction": "share of documents held out for validation (per source kind)",
    "seed": "random seed (data order, initialisation)",
    "dtype": "auto | bf16 | fp16 | fp32: auto uses bf16 where the hardware has it",
    "compile": "auto | on | off: torch.compile the model (auto: on for CUDA)",
}


def _field_type(f: dataclasses.Field) -> type:
    hints = typing.get_type_hints(TrainConfig)
    hint = hints[f.name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


def _parse_optional_int(text: str) -> Optional[int]:
    return None if text.lower() in ("none", "null", "") else int(text)


def add_config_flags(parser: argparse.ArgumentParser, preset: TrainConfig) -> None:
    """Add one flag per TrainConfig field. Defaults are suppressed, so only given flags override."""
    group = parser.add_argument_group("hyperparameters (override the preset)")
    for f in fields(TrainConfig):
        kind = _field_type(f)
        default = getattr(preset, f.name)
        optional = f.name == "max_steps"
        names = [f"--{f.name}"]
        if "_" in f.name:
            names.append(f"--{f.name.replace('_', '-')}")
        group.add_argument(
            *names,
            dest=f"cfg_{f.name}",
            type=_parse_optional_int if optional else kind,
            default=argparse.SUPPRESS,
            metavar=kind.__name__.upper(),
            help=f"{_HELP.get(f.name, f.name)} (preset: {default})",
        )
    parser.add_argument("--print_config", "--print-config", action="store_true",
                        help="print the resolved configuration as JSON and exit")


def resolve(preset: TrainConfig, args: argparse.Namespace) -> TrainConfig:
    """The preset with every flag that was given laid over it, validated."""
    changes = {}
    for f in fields(TrainConfig):
        key = f"cfg_{f.name}"
        if hasattr(args, key):  # given on the command line (defaults are suppressed)
            changes[f.name] = getattr(args, key)
    return preset.replace(**changes).validate()


def describe(config: TrainConfig, **extra: Any) -> str:
    """The resolved configuration as pretty JSON (with any extra, e.g. paths)."""
    payload = {"config": config.to_dict()}
    payload.update({k: (str(v) if not isinstance(v, (int, float, str, bool, type(None), dict, list)) else v)
                    for k, v in extra.items()})
    return json.dumps(payload, indent=2, sort_keys=False)


# --- where a model's tokenizer lives (training's command line and the pipeline agree on it) ------

def model_tokenizer_dir(base: Path, model: str) -> Path:
    """Where a model's own tokenizer goes: stage 03's folder, except `tiny`, whose small vocabulary gets
    `<base>_tiny` (trained by ./run.sh --model tiny) so it never replaces the real tokenizer."""
    base = Path(base)
    return base.with_name(base.name + "_tiny") if model == "tiny" else base


def default_tokenizer_dir(base: Path, model: str) -> Path:
    """The model's own tokenizer folder when it exists, else stage 03's."""
    own = model_tokenizer_dir(base, model)
    return own if own.is_dir() else Path(base)


HOME_HELP = "artifact root (default: $LONDON_LLM_HOME or the repository)"


def parse_under_home(build: Callable[[Optional[str]], argparse.ArgumentParser],
                     argv: Optional[list[str]]) -> argparse.Namespace:
    """Parse `argv` with `build(home)`, a parser whose path defaults (and --help) lie under that
    --home (the door's config.paths(home): flag, else $LONDON_LLM_HOME, else the repository); the
    parser must have --home. Explicit path flags still win, being parsed over those defaults."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False, exit_on_error=False)
    pre.add_argument("--home", help="artifact root (this pre-parser's; the full parser's --help says it all)")
    try:
        home = pre.parse_known_args(argv)[0].home
    except argparse.ArgumentError:  # `--home` without a value: the full parser says so, in its own words
        home = None
    args = build(home).parse_args(argv)
    if args.home is not None and str(args.home) != home:  # given abbreviated (--hom): build again under it
        args = build(str(args.home)).parse_args(argv)
    return args
