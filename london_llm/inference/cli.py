"""The command line of 06_inference/inference_unified.py: generate from a trained model.

    python 06_inference/inference_unified.py --interactive
    python 06_inference/inference_unified.py --prompt "In the year 1834, I walked through the streets of London"
    python 06_inference/inference_unified.py --num_samples 5 --max_length 100
    python 06_inference/inference_unified.py --checkpoint checkpoint-3000 --kind trial --year 1780 --json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Optional

from london_llm.inference.flags import HelpFormatter, add_model_flags, add_sampling_flags, startup

DEFAULT_HISTORY = Path("~/.london_llm_history")


def build_parser(prog: str, description: str, default_model: str, presets) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description,
                                formatter_class=HelpFormatter)
    add_model_flags(p, default_model, presets)
    p.add_argument("--prompt", action="append",
                   help="text to continue (repeatable; default: samples from the tags alone)")
    p.add_argument("--interactive", action="store_true", help="type prompts and /commands (/help lists them)")
    p.add_argument("--num_samples", "--num-samples", type=int, default=1, help="samples per prompt")
    add_sampling_flags(p)
    p.add_argument("--list_tags", "--list-tags", action="store_true", help="list the valid --kind/--period values")
    p.add_argument("--json", action="store_true",
                   help="one JSON line per sample: text, token ids, timings, seed, checkpoint, step, sha256")
    p.add_argument("--no_stream", action="store_true", help="print each sample when done instead of as it is made")
    p.add_argument("--history_file", default=str(DEFAULT_HISTORY), help="interactive line history ('' for none)")
    return p


def settings_from(args, known_tags):
    from london_llm.inference.interactive import Settings
    from london_llm.inference.sampling import SamplingParams

    params = SamplingParams(max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                            top_k=args.top_k or None, top_p=args.top_p, min_p=args.min_p,
                            repetition_penalty=args.repetition_penalty, greedy=args.greedy, seed=args.seed,
                            stop=tuple(args.stop)).validated()
    settings = Settings(params=params, num_samples=args.num_samples, kind=args.kind, period=args.period,
                        year=args.year, stream=not args.no_stream)
    settings.prompt("", known_tags)  # a wrong tag value fails now, listing the valid ones
    if not 1 <= args.num_samples <= 16:
        from london_llm.inference.errors import InferenceError
        raise InferenceError(f"--num_samples {args.num_samples}: from 1 to 16")
    return settings


def main(argv: Optional[list[str]], *, prog: str = "inference_unified.py", description: str = __doc__.splitlines()[0],
         default_model: str = "slm", presets=("slm", "regular", "tiny"), paths_fn: Callable) -> int:
    args = build_parser(prog, description, default_model, presets).parse_args(argv)
    from london_llm.inference.errors import InferenceError

    try:
        start = startup(args, paths_fn)
        if args.list_tags:
            return _list_tags(start.path)
        from london_llm.inference.engine import Engine
        from london_llm.inference.interactive import InteractiveSession, generate_and_print, model_banner
        from london_llm.inference.loading import load_model, set_threads

        loaded = load_model(start.path, checkpoints_dir=start.checkpoints_dir, device=args.device, dtype=args.dtype)
        set_threads(loaded.model, start.threads, loaded.device)
        engine = Engine(loaded)
        settings = settings_from(args, loaded.conditioning_tags)
        if not args.json and not args.interactive:
            print(model_banner(engine), file=sys.stderr)
        prompts = args.prompt or ([] if args.interactive else [""])
        for text in prompts:
            if len(text) > 4000 and not args.json:
                print(f"(prompt of {len(text):,} characters)", file=sys.stderr)
            generate_and_print(engine, text, settings, sys.stdout, as_json=args.json, stats=sys.stderr)
        if args.interactive:
            history = Path(args.history_file).expanduser() if args.history_file else None
            return InteractiveSession(engine, settings, history_file=history).run()
        return 0
    except InferenceError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\n[stopped]", file=sys.stderr)
        return 130


def _list_tags(path: Path) -> int:
    from london_llm.inference.prompts import describe_tags

    try:
        tags = json.loads((path / "london_tokenizer.json").read_text(encoding="utf-8")).get("conditioning_tags", [])
    except (OSError, ValueError, AttributeError):
        tags = []
    print(f"Conditioning tags of {path}:\n{describe_tags(tags)}")
    return 0
