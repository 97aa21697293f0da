"""The flags of the model commands (inference_unified.py, serve.py, run_evaluation.py) and their one
start-up: which model, on which device, sampled how."""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Sequence

if TYPE_CHECKING:
    import torch

# how inference_unified.py and run_evaluation.py apply --threads when it is not given (loading.set_threads)
THREADS_DEFAULT = "1 for models under 50M parameters, which run fastest so, else torch's default"


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """--help of the model commands: the description and epilog as written (their examples keep their
    lines), and "(default: X)" after a flag's help only where the help does not already say its
    default and there is one worth printing (not None, False or an empty list)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, [], argparse.SUPPRESS) or not action.option_strings:
            return text
        return text + " (default: %(default)s)"


def add_model_flags(p: argparse.ArgumentParser, default_model: str, presets, *, several: bool = False,
                    dtype: bool = True, threads_default: str = THREADS_DEFAULT) -> None:
    """The model flags of inference_unified.py, serve.py and run_evaluation.py, which `startup` reads:
    --checkpoint, --model, --checkpoints_dir, --home, --device, --dtype, --threads.

    several: --checkpoint may be repeated or a comma list (alias --checkpoints): evaluation compares them.
    dtype: offer --dtype; without it `args.dtype` is "auto" (evaluation scores every model in the
    precision the device gives it, so its runs on one machine compare like for like).
    threads_default: what --threads defaults to, as this command applies it."""
    spec = ("checkpoint-N (in the model's checkpoint folder), a checkpoint or model folder, or a Hub id "
            "already in the local Hugging Face cache")
    if several:
        p.add_argument("--checkpoint", "--checkpoints", "--checkpoint_path", "--model_path", dest="checkpoint",
                       action="append", default=[],
                       help=f"{spec}; repeat it or give a comma list (default: the newest complete checkpoint)")
    else:
        p.add_argument("--checkpoint", "--checkpoint_path", "--model_path", dest="checkpoint",
                       help=f"{spec} (default: the newest complete checkpoint)")
    add_model_flag(p, default_model, presets)
    add_checkpoints_dir_flag(p)
    add_home_flag(p)
    add_device_flag(p)
    if dtype:
        p.add_argument("--dtype", default="auto", help="auto (bf16/fp16 on GPU, fp32 on CPU) | fp32 | bf16 | fp16")
    else:
        p.set_defaults(dtype="auto")
    p.add_argument("--threads", type=int, default=None, help=f"CPU threads for torch (default: {threads_default})")


def add_sampling_flags(p: argparse.ArgumentParser) -> None:
    """The sampling flags of inference_unified.py."""
    p.add_argument("--max_length", "--max_new_tokens", "--max-new-tokens", dest="max_new_tokens", type=int,
                   default=100, help="tokens to generate (prompt + these must fit the model's context)")
    add_sampler_flags(p)
    p.add_argument("--min_p", type=float, default=None, help="drop tokens below min_p x the top token's probability")
    p.add_argument("--repetition_penalty", type=float, default=1.0, help="above 1 discourages repeats (1: off)")
    p.add_argument("--greedy", action="store_true", help="always the most likely token (no sampling)")
    p.add_argument("--seed", type=int, default=None,
                   help="sampling seed: sample j uses seed+j, so a run is reproducible (default: a fresh one, printed)")
    p.add_argument("--stop", action="append", default=[],
                   help="stop when this text appears; it is not included (repeatable)")
    add_tag_flags(p, list_tags=True)


# --- one flag (or a few that go together) each: the model commands above and the checkpoint check
# (check_cli) share these, so a flag that means the same thing is written once ----------------------

def add_model_flag(p: argparse.ArgumentParser, default_model: str, presets) -> None:
    p.add_argument("--model", choices=list(presets), default=default_model,
                   help="whose checkpoint folder checkpoint-N names are looked up in (config.py's paths)")
    p.set_defaults(model_choices=tuple(presets))  # where to look when --model's folder holds none


def other_models_hint(args, paths_fn: Callable) -> str:
    """For a command that found no checkpoint in its --model's folder (not a --checkpoints_dir it was
    given): which other models have some, and the --model that picks them (training.checkpoint)."""
    from london_llm.training.checkpoint import other_models_hint as hint

    if getattr(args, "checkpoints_dir", None):
        return ""
    paths = paths_fn(args.home)
    return hint({m: Path(paths.checkpoint_dir(m)) for m in getattr(args, "model_choices", ()) if m != args.model})


def add_checkpoints_dir_flag(p: argparse.ArgumentParser, *aliases: str) -> None:
    """aliases: further names a command has always accepted (the checkpoint check's --output_dir)."""
    p.add_argument("--checkpoints_dir", "--checkpoints-dir", *aliases,
                   help="folder holding checkpoint-N/ (default: the --model's checkpoint folder)")


def add_home_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", help="artifact root (default: $LONDON_LLM_HOME or the repository)")


def add_device_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU) | cpu | cuda | cuda:N | mps")


def add_sampler_flags(p: argparse.ArgumentParser) -> None:
    """--temperature, --top_k, --top_p (SamplingParams' own fields, the same defaults everywhere)."""
    p.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (0: greedy)")
    p.add_argument("--top_k", "--top-k", type=int, default=50, help="sample from the k most likely tokens (0: off)")
    p.add_argument("--top_p", "--top-p", type=float, default=None,
                   help="nucleus sampling: the smallest set of tokens with this much probability (default: off)")


def add_tag_flags(p: argparse.ArgumentParser, *, list_tags: bool) -> None:
    """--kind, --period, --year: the conditioning tags a prompt starts with, as training documents do.
    list_tags: the command has --list_tags, which the help of --kind points to."""
    p.add_argument("--kind", default=None,
                   help="document kind tag prompts start with, as training documents do, e.g. book, trial, ordinary "
                        "(default: book when the model knows it; 'none' for no tag)"
                        + ("; --list_tags shows this model's values" if list_tags else ""))
    p.add_argument("--period", default=None, help="period tag, e.g. 1750-1774 (default: none)")
    p.add_argument("--year", type=int, default=None, help="the period tag holding this year")


@dataclass(frozen=True)
class Startup:
    """What a command line asked for, checked before anything is loaded: a wrong checkpoint name,
    device or dtype is one clear error at start, not after minutes of work (or a server's 503)."""
    specs: tuple  # what to load, in order (names, folders or Hub ids as given; the newest if none)
    paths: tuple  # the folders they resolve to
    checkpoints_dir: Path  # where checkpoint-N names are looked up
    device: "torch.device"
    dtype: "torch.dtype"
    threads: Optional[int]  # --threads as given (None: see loading.set_threads)

    @property
    def spec(self):
        return self.specs[0]

    @property
    def path(self) -> Path:
        return self.paths[0]


def startup(args, paths_fn: Callable, specs: Sequence = ()) -> Startup:
    """The start-up of inference_unified.py, serve.py and run_evaluation.py: the checkpoints folder
    (--checkpoints_dir, else the --model's under --home), what to load (`specs`, else --checkpoint,
    else the newest complete checkpoint there), each resolved to its folder, the device and dtype.
    Raises InferenceError."""
    from london_llm.inference.loading import choose_device, choose_dtype, newest_checkpoint, resolve_model_path

    root = Path(args.checkpoints_dir).expanduser() if args.checkpoints_dir else \
        Path(paths_fn(args.home).checkpoint_dir(args.model))
    given = tuple(specs) or checkpoint_specs(getattr(args, "checkpoint", None))
    if not given:
        from london_llm.inference.errors import InferenceError

        try:
            given = (newest_checkpoint(root, log=lambda m: print(f"WARNING: {m}", file=sys.stderr)),)
        except InferenceError as exc:
            hint = other_models_hint(args, paths_fn)
            if not hint:
                raise
            raise InferenceError(f"{str(exc).rstrip('.')}.{hint}") from None
    paths = tuple(resolve_model_path(spec, root) for spec in given)
    device = choose_device(getattr(args, "device", "auto"))
    dtype = choose_dtype(device, getattr(args, "dtype", "auto"))
    threads = getattr(args, "threads", None)
    if threads is not None and threads < 1:
        from london_llm.inference.errors import InferenceError

        raise InferenceError(f"--threads {threads}: at least 1")
    return Startup(given, paths, root, device, dtype, threads)


def checkpoint_specs(value) -> tuple:
    """--checkpoint as parsed: one name (or None), or with several=True every repeat, comma lists split."""
    if value is None or isinstance(value, str):
        return () if value is None else (value,)
    return tuple(part.strip() for arg in value for part in arg.split(",") if part.strip())
