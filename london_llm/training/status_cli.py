"""One-screen status of a training run, running or finished: step / total, ETA, last losses,
newest checkpoint, and whether it is alive (the run lock in its output folder).

    python 10_scripts/training_status.py                    # the slm run
    python 10_scripts/training_status.py --model regular --watch 60
    python 10_scripts/training_status.py --list_checkpoints # every model's checkpoints
    python 10_scripts/training_status.py --locate checkpoint-500   # prints MODEL<TAB>PATH
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable, Optional

from london_llm.settings import HOME_HELP
from london_llm.training import metrics, status


def parse_args(argv, presets: dict, prog: Optional[str] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(presets), default=None,
                   help="which run (default slm); with --locate, which model's folder to look in")
    p.add_argument("--home", default=None, help=HOME_HELP)
    p.add_argument("--output_dir", "--output-dir", "--checkpoint_dir", dest="output_dir", default=None,
                   help="the run's checkpoint folder (default: the model's, from config.py)")
    p.add_argument("--max_steps", "--max-steps", type=int, default=None,
                   help="total steps for progress and ETA (default: the run's recorded configuration)")
    p.add_argument("--watch", type=float, default=0, metavar="SECONDS",
                   help="redraw every SECONDS until interrupted (0: once)")
    p.add_argument("--list_checkpoints", "--list-checkpoints", action="store_true",
                   help="list the checkpoints of every model (step, validation loss, date) and exit")
    p.add_argument("--locate", metavar="CHECKPOINT",
                   help="print the model and folder of checkpoint-N or a checkpoint path (tab-separated)")
    return p.parse_args(argv)


def model_dirs(paths, only: str | None, presets: dict) -> dict[str, Path]:
    names = [only] if only else list(presets)
    return {name: paths.checkpoint_dir(name) for name in names}


def total_steps(checkpoints: list, flag: int | None, model: str, presets: dict) -> tuple[int | None, bool]:
    """(total, is_guess): --max_steps, else what the newest checkpoint recorded, else the preset's (a guess)."""
    from london_llm.training import checkpoint
    if flag is not None:
        return flag, False
    for info in reversed([c for c in checkpoints if c.problem is None]):
        try:
            state = checkpoint.read_trainer_state(info.path)
        except checkpoint.CheckpointError:
            continue
        for value in (state.get("max_steps"), state.get("total_steps"), (state.get("config") or {}).get("max_steps")):
            if isinstance(value, int):
                return value, False
    return presets[model].max_steps, True


def show_status(args: argparse.Namespace, paths, presets: dict) -> int:
    from london_llm.training import checkpoint  # imports torch: only where checkpoints are read
    model = args.model or "slm"
    out_dir = Path(args.output_dir).expanduser().resolve() if args.output_dir else paths.checkpoint_dir(model)
    try:
        log = metrics.read_metrics(out_dir)
    except metrics.MonitorError:
        log = None  # not started yet, or no log: the status still says what exists
    infos = checkpoint.list_checkpoints(out_dir)
    total, is_guess = total_steps(infos, args.max_steps, model, presets)
    run = status.run_status(log, infos, total, status.live_run_owner(out_dir), total_is_guess=is_guess)
    hint = (f"./resume_training.sh {run.newest_checkpoint.path}" if run.newest_checkpoint else None)
    print(status.format_status(run, f"{model} training ({out_dir})", resume_hint=hint), flush=True)
    if run.state == "not started":
        print(f"  nothing in {out_dir} yet: start with ./launch_training.sh --model {model}")
    return 0


def main(argv: Optional[list[str]], *, paths_fn: Callable, presets: dict, prog: Optional[str] = None) -> int:
    """10_scripts/training_status.py; `paths_fn(home)` and `presets` come from config.py."""
    args = parse_args(argv, presets, prog)
    paths = paths_fn(args.home)
    if args.locate:
        try:
            model, path = status.locate_checkpoint(args.locate, model_dirs(paths, None, presets), model=args.model,
                                                   home=paths.home)
        except metrics.MonitorError as exc:
            print(f"ERROR: {exc}", file=sys.stderr)
            return 2
        print(f"{model}\t{path}")
        return 0
    if args.list_checkpoints:
        from london_llm.training import checkpoint
        dirs = model_dirs(paths, args.model, presets)
        per_model = {m: checkpoint.list_checkpoints(d) for m, d in dirs.items()}
        # tiny is a test preset: list it only when it has checkpoints
        per_model = {m: c for m, c in per_model.items() if c or m != "tiny" or args.model == "tiny"}
        print(status.format_checkpoint_table(per_model, dirs))
        return 0
    if args.watch <= 0:
        return show_status(args, paths, presets)
    try:
        while True:
            print("\033[2J\033[H", end="")  # clear the screen: one screen, redrawn
            show_status(args, paths, presets)
            time.sleep(args.watch)
    except KeyboardInterrupt:
        return 0
