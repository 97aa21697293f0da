"""Flags shared by inference_unified.py and serve.py: which model, on which device, sampled how."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable


def add_model_flags(p: argparse.ArgumentParser, default_model: str, presets) -> None:
    """--checkpoint, --model, --checkpoints_dir, --home, --device, --dtype: shared with serve.py."""
    p.add_argument("--checkpoint", "--checkpoint_path", "--model_path", dest="checkpoint",
                   help="checkpoint-N (in the model's checkpoint folder), a checkpoint or model folder, or a Hub id "
                        "already in the local Hugging Face cache (default: the newest complete checkpoint)")
    p.add_argument("--model", choices=sorted(presets), default=default_model,
                   help="whose checkpoint folder to look in (config.py's paths)")
    p.add_argument("--checkpoints_dir", "--checkpoints-dir",
                   help="folder holding checkpoint-N/ (default: the --model's checkpoint folder)")
    p.add_argument("--home", help="artifact root (default: $LONDON_LLM_HOME or the repository)")
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU) | cpu | cuda | cuda:N | mps")
    p.add_argument("--dtype", default="auto", help="auto (bf16/fp16 on GPU, fp32 on CPU) | fp32 | bf16 | fp16")


def add_sampling_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max_length", "--max_new_tokens", "--max-new-tokens", dest="max_new_tokens", type=int,
                   default=100, help="tokens to generate (prompt + these must fit the model's context)")
    p.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (0: greedy)")
    p.add_argument("--top_k", "--top-k", type=int, default=50, help="sample from the k most likely tokens (0: off)")
    p.add_argument("--top_p", "--top-p", type=float, default=None, help="nucleus sampling: smallest set with this mass")
    p.add_argument("--min_p", type=float, default=None, help="drop tokens below min_p x the top token's probability")
    p.add_argument("--repetition_penalty", type=float, default=1.0, help="above 1 discourages repeats (1: off)")
    p.add_argument("--greedy", action="store_true", help="always the most likely token (no sampling)")
    p.add_argument("--seed", type=int, default=None,
                   help="sampling seed: sample j uses seed+j, so a run is reproducible (default: a fresh one, printed)")
    p.add_argument("--stop", action="append", default=[],
                   help="stop when this text appears; it is not included (repeatable)")
    p.add_argument("--kind", default=None,
                   help="document kind tag, e.g. book, trial, ordinary (default: book when the model knows it; "
                        "'none' for no tag); --list_tags shows this model's values")
    p.add_argument("--period", default=None, help="period tag, e.g. 1750-1774 (default: none)")
    p.add_argument("--year", type=int, default=None, help="choose the period holding this year")


def model_spec(args, paths_fn: Callable) -> tuple[str | Path, Path]:
    """(what to load, the checkpoints folder names are looked up in)."""
    from london_llm.inference.loading import newest_checkpoint

    root = Path(args.checkpoints_dir) if args.checkpoints_dir else Path(paths_fn(args.home).checkpoint_dir(args.model))
    if args.checkpoint:
        return args.checkpoint, root
    return newest_checkpoint(root, log=lambda m: print(f"WARNING: {m}", file=sys.stderr)), root


