"""The command line of 04_training/test_checkpoint.py and test_checkpoint_slm.py."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Optional

from london_llm.errors import EXIT_USAGE


def build_parser(prog: str, description: str, default_model: str, presets) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", choices=sorted(presets), default=default_model, help="whose checkpoints to check")
    p.add_argument("--home", help="artifact root (default: $LONDON_LLM_HOME or the repository)")
    p.add_argument("--checkpoints_dir", "--checkpoints-dir", "--output_dir",
                   help="folder holding checkpoint-N/ (default: the model's checkpoint folder)")
    p.add_argument("--checkpoint_path", "--checkpoint-path",
                   help="checkpoint-N, checkpoint-N.pt or a folder path (default: the newest complete one)")
    p.add_argument("--list-checkpoints", "--list_checkpoints", dest="list_checkpoints", action="store_true",
                   help="list the checkpoints (step, validation loss, date, size) and exit")
    p.add_argument("--prompt", action="append",
                   help="prompt to continue (repeatable; default: the guide's sample prompts)")
    p.add_argument("--interactive", action="store_true", help="type prompts; an empty line or Ctrl-D ends")
    p.add_argument("--max_new_tokens", "--max-new-tokens", type=int, default=60,
                   help="tokens to generate (at most the context length minus one; more is refused)")
    p.add_argument("--kind", help="conditioning tag the prompt starts with, as training documents do "
                                  "(default: book when the model knows it; 'none' for no tag)")
    p.add_argument("--period", help="period tag after the kind, e.g. 1750-1774 or a year inside one (default: none)")
    p.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (0: greedy)")
    p.add_argument("--top_k", "--top-k", type=int, default=50, help="sample from the k most likely tokens")
    p.add_argument("--seed", type=int, default=1234, help="sampling seed")
    p.add_argument("--data_dir", "--data-dir",
                   help="pretokenized data for the validation loss (default: the one the checkpoint trained on)")
    p.add_argument("--eval_batches", "--eval-batches", type=int, default=20,
                   help="validation batches to average (0 skips the validation loss)")
    p.add_argument("--batch_size", "--batch-size", type=int, default=4, help="sequences per validation batch")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    return p


def main(argv: Optional[list[str]], *, prog: str, description: str, default_model: str, presets,
         paths_fn: Callable) -> int:
    args = build_parser(prog, description, default_model, presets).parse_args(argv)
    from london_llm.training import checkpoint as ckpt
    from london_llm.inference import check
    from london_llm.training.precision import PrecisionError, choose_device

    paths = paths_fn(args.home)
    root = Path(args.checkpoints_dir or paths.checkpoint_dir(args.model))
    if args.list_checkpoints:
        print(check.checkpoint_table(root))
        return 0
    try:
        device = choose_device(args.device)
        path = check.pick_checkpoint(root, args.checkpoint_path)
        print(check.describe_state(path))
        model, tokenizer = check.load(path, device)
        if args.eval_batches > 0:
            data_dir = Path(args.data_dir) if args.data_dir else check.data_dir_of(path)
            loss = check.validation_loss(model, data_dir, model.config.n_positions, args.batch_size,
                                         args.eval_batches, device) if data_dir else None
            if loss is None:
                print(f"validation loss: no held-out data at {data_dir} (pass --data_dir, or train once to build it)")
            else:
                import math
                print(f"validation loss: {loss:.4f} (perplexity {math.exp(min(loss, 50)):.1f}) "
                      f"on {args.eval_batches} batches of held-out text from {data_dir}")
        prompts = args.prompt or ([] if args.interactive else list(check.SAMPLE_PROMPTS))
        for prompt in prompts:
            _show(check, model, tokenizer, prompt, args)
        if args.interactive:
            print("Type a prompt (empty line or Ctrl-D to quit).")
            while True:
                try:
                    prompt = input("> ").strip()
                except EOFError:
                    break
                if not prompt:
                    break
                _show(check, model, tokenizer, prompt, args)
        return 0
    except (ckpt.CheckpointError, PrecisionError) as exc:
        print(f"ERROR: {exc}")
        return EXIT_USAGE


MAX_PROMPT_CHARS = 4000  # more is cut to its context window anyway; bounds the tokenizing too


def _show(check, model, tokenizer, prompt: str, args) -> None:
    prompt = prompt[:MAX_PROMPT_CHARS]  # --prompt and typed prompts alike
    text = check.generate(model, tokenizer, prompt, args.max_new_tokens, args.temperature, args.top_k, args.seed,
                          kind=getattr(args, "kind", None), period=getattr(args, "period", None))
    print(f"\nPrompt: {prompt}\nModel:  {prompt}{text}")
