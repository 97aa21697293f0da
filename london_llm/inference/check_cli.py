"""The command line of 04_training/test_checkpoint.py and test_checkpoint_slm.py."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Optional

from london_llm.inference.flags import (HelpFormatter, add_checkpoints_dir_flag, add_device_flag, add_home_flag,
                                        add_model_flag, add_sampler_flags, add_tag_flags, other_models_hint)


def build_parser(prog: str, description: str, default_model: str, presets) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description,
                                formatter_class=HelpFormatter)
    # the flags that mean here what they mean for inference_unified.py are shared (flags.py); --seed
    # and --max_new_tokens are this command's own: a fixed seed (the same samples each check) and 60 tokens
    add_model_flag(p, default_model, presets)
    add_home_flag(p)
    add_checkpoints_dir_flag(p, "--output_dir")  # --output_dir: the training scripts' name for the folder
    p.add_argument("--checkpoint_path", "--checkpoint-path",
                   help="checkpoint-N, checkpoint-N.pt or a folder path (default: the newest complete one)")
    p.add_argument("--list-checkpoints", "--list_checkpoints", dest="list_checkpoints", action="store_true",
                   help="list the checkpoints (step, validation loss, date, size) and exit")
    p.add_argument("--prompt", action="append",
                   help="prompt to continue (repeatable; default: the guide's sample prompts)")
    p.add_argument("--interactive", action="store_true",
                   help="type prompts and /commands (/help lists them); Ctrl-D, /exit or Ctrl-C twice ends")
    p.add_argument("--max_new_tokens", "--max-new-tokens", type=int, default=60,
                   help="tokens to generate (prompt + these must fit the context, else an error says what fits)")
    add_sampler_flags(p)
    p.add_argument("--seed", type=int, default=1234, help="sampling seed")
    add_tag_flags(p, list_tags=False)
    p.add_argument("--data_dir", "--data-dir",
                   help="pretokenized data for the validation loss (default: the one the checkpoint trained on)")
    p.add_argument("--eval_batches", "--eval-batches", type=int, default=20,
                   help="validation batches to average (0 skips the validation loss)")
    p.add_argument("--batch_size", "--batch-size", type=int, default=4, help="sequences per validation batch")
    add_device_flag(p)
    return p


def main(argv: Optional[list[str]], *, prog: str, description: str, default_model: str, presets,
         paths_fn: Callable) -> int:
    args = build_parser(prog, description, default_model, presets).parse_args(argv)
    from london_llm.errors import LondonLLMError
    from london_llm.inference import check
    from london_llm.inference.engine import Engine
    from london_llm.inference.interactive import InteractiveSession, Settings
    from london_llm.inference.loading import load_model
    from london_llm.inference.sampling import SamplingParams
    from london_llm.training import checkpoint as ckpt

    paths = paths_fn(args.home)
    root = Path(args.checkpoints_dir or paths.checkpoint_dir(args.model))
    # the other models' folders, named when this one has nothing (not when --checkpoints_dir chose it)
    roots = {} if args.checkpoints_dir else {m: paths.checkpoint_dir(m) for m in presets}
    if args.list_checkpoints:
        print(check.checkpoint_table(root, args.model))
        elsewhere = "" if ckpt.list_checkpoints(root, deep=False) else other_models_hint(args, paths_fn)
        if elsewhere:  # the guide's "check available checkpoints" after ./run.sh trained tiny
            print(elsewhere.strip())
        return 0
    try:
        path = check.pick_checkpoint(root, args.checkpoint_path, home=paths.home,
                                     model="" if args.checkpoints_dir else args.model, roots=roots)
        print(check.describe_state(path))
        loaded = load_model(path, device=args.device)
        engine = Engine(loaded)
        params = SamplingParams(max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                                top_k=args.top_k or None, top_p=args.top_p, seed=args.seed).validated()
        settings = Settings(params=params, kind=args.kind, period=args.period, year=args.year)
        # wrong tags and a max_new_tokens past the context fail now, before the validation loss runs
        engine.check_fits(len(engine.encode(settings.prompt("", loaded.conditioning_tags))), params.max_new_tokens)
        if args.eval_batches > 0:
            data_dir = Path(args.data_dir) if args.data_dir else check.data_dir_of(path)
            loss = check.validation_loss(loaded.model, data_dir, loaded.context_length, args.batch_size,
                                         args.eval_batches, loaded.device) if data_dir else None
            if loss is None:
                print(f"validation loss: no held-out data at {data_dir} (pass --data_dir, or train once to build it)")
            else:
                import math
                print(f"validation loss: {loss:.4f} (perplexity {math.exp(min(loss, 50)):.1f}) "
                      f"on {args.eval_batches} batches of held-out text from {data_dir}")
        prompts = args.prompt or ([] if args.interactive else list(check.SAMPLE_PROMPTS))
        for prompt in prompts:
            _show(check, engine, settings, prompt)
        if args.interactive:
            return InteractiveSession(engine, settings, history_file=None).run()
        return 0
    except LondonLLMError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)  # stderr: a redirected report must not swallow it
        return exc.exit_code


MAX_PROMPT_CHARS = 4000  # bounds the tokenizing; a prompt past the context is refused, not cut


def _show(check, engine, settings, prompt: str) -> None:
    prompt = prompt[:MAX_PROMPT_CHARS]  # --prompt and typed prompts alike
    text = check.sample(engine, prompt, settings)
    print(f"\nPrompt: {prompt}\nModel:  {prompt}{text}")
