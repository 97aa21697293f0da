"""The command line shared by 04_training/train_model_slm.py and train_model.py.

The scripts pass in the presets and a paths function (from config.py); this module turns flags
into a TrainJob, decides where to resume from, takes the run lock, prepares pretokenized data
(rank 0; the others wait) and runs the loop. Known failures end with one clear message, exit 2.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Callable, Optional

from london_llm.errors import EXIT_USAGE
from london_llm.settings import TrainConfig, add_config_flags, default_tokenizer_dir, describe, resolve
from london_llm.training.errors import TrainingError


def build_parser(prog: str, description: str, default_model: str, presets: dict[str, TrainConfig]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", choices=sorted(presets), default=default_model,
                   help="preset (and checkpoint folder) to train; tiny is a few-minute CPU model for checks")
    p.add_argument("--home", help="artifact root (default: $LONDON_LLM_HOME or the repository)")
    p.add_argument("--output_dir", "--output-dir", help="checkpoint folder (default: the model's, see README)")
    p.add_argument("--tokenizer_dir", "--tokenizer-dir", help="tokenizer folder (default: stage 03's)")
    p.add_argument("--documents_file", "--documents-file", help="cleaned documents.jsonl (default: stage 02's)")
    p.add_argument("--data_dir", "--data-dir", help="pretokenized data folder (default: <checkpoints>/pretokenized_data)")
    p.add_argument("--log_file", "--log-file", help="training log (default: 04_training/model_training.log)")
    resume = p.add_mutually_exclusive_group()
    resume.add_argument("--resume_from_checkpoint", "--resume-from-checkpoint", metavar="NAME_OR_PATH",
                        help="resume from checkpoint-N, checkpoint-N.pt or a folder path "
                             "(default: the newest complete checkpoint in the output folder)")
    resume.add_argument("--fresh", action="store_true",
                        help="start from scratch even if checkpoints exist (old ones are moved to previous_runs/)")
    pretok = p.add_mutually_exclusive_group()
    pretok.add_argument("--use_pretokenized", "--use-pretokenized", action="store_true",
                        help="only use existing compatible pretokenized data; fail naming the reason otherwise")
    pretok.add_argument("--no_pretokenized", "--no-pretokenized", action="store_true",
                        help="always re-tokenize the documents (after changing max_length or the tokenizer)")
    p.add_argument("--workers", type=int, help="processes for pretokenization (default: all cores)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (under torchrun: one GPU per process)")
    p.add_argument("--no_wandb", "--no-wandb", action="store_true", help="do not log to Weights & Biases")
    p.add_argument("--wandb_project", "--wandb-project", default="helloLondon", help="W&B project")
    p.add_argument("--run_name", "--run-name", help="W&B run name (default: london-<model>-<time>)")
    p.add_argument("--peak_flops", "--peak-flops", type=float,
                   help="peak FLOP/s per device for MFU (default: detected GPU's bf16 peak; CPU estimated)")
    add_config_flags(p, presets[default_model])
    return p


def _move_aside(output_dir: Path, items: list[Path], label: str) -> Path:
    dest = output_dir / "previous_runs" / f"{time.strftime('%Y%m%d-%H%M%S')}{label}"
    dest.mkdir(parents=True, exist_ok=True)
    for p in items:
        shutil.move(str(p), dest / p.name)
    return dest


def archive_previous(output_dir: Path, log: Callable[[str], None]) -> Optional[Path]:
    """Move existing checkpoints and metrics aside (nothing is deleted) before a fresh start."""
    from london_llm.training import checkpoint as ckpt

    olds = [p for p in output_dir.glob("checkpoint-*") if ckpt.step_of(p) is not None]
    metrics = output_dir / "metrics.jsonl"
    if not olds and not metrics.exists():
        return None
    dest = _move_aside(output_dir, olds + ([metrics] if metrics.exists() else []), "")
    log(f"--fresh: moved {len(olds)} earlier checkpoint(s) and the metrics log to {dest}")
    return dest


def archive_later(output_dir: Path, resume: Path, log: Callable[[str], None]) -> Optional[Path]:
    """Resuming from an older checkpoint branches the run: the checkpoints past it belong to the
    abandoned branch, so move them aside (nothing is deleted) lest a later auto-resume pick them."""
    from london_llm.training import checkpoint as ckpt

    step = ckpt.step_of(resume)
    if step is None or Path(resume).resolve().parent != Path(output_dir).resolve():
        return None
    later = sorted((p for p in output_dir.glob("checkpoint-*") if (ckpt.step_of(p) or -1) > step),
                   key=ckpt.step_of)
    if not later:
        return None
    dest = _move_aside(output_dir, later, f"-after-step-{step}")
    log(f"Resuming from step {step}: moved the {len(later)} later checkpoint(s) of the abandoned branch "
        f"({', '.join(p.name for p in later)}) to {dest}")
    return dest


def choose_resume(args, output_dir: Path, log: Callable[[str], None]) -> Optional[Path]:
    from london_llm.training import checkpoint as ckpt

    if args.fresh:
        return None
    if args.resume_from_checkpoint:
        path = ckpt.resolve(output_dir, args.resume_from_checkpoint)
        ckpt.require_good(path)
        log(f"Resuming from {path} (--resume_from_checkpoint)")
        return path
    path = ckpt.newest_good(output_dir, log=log)
    if path is not None:
        log(f"Resuming from the newest complete checkpoint {path} (pass --fresh to start over)")
    return path


def tokenizer_for_resume(tokenizer_dir: Path, resume: Path, log: Callable[[str], None]) -> Path:
    """With no --tokenizer_dir, resume with the default folder if it is the checkpoint's tokenizer,
    else with the copy the checkpoint folder holds (it is never pruned while resumed from)."""
    from london_llm.tokenization.loading import tokenizer_fingerprint
    from london_llm.training import checkpoint as ckpt

    saved_sha = ckpt.read_trainer_state(resume).get("tokenizer_sha256")
    if not saved_sha or tokenizer_fingerprint(tokenizer_dir) == saved_sha:
        return tokenizer_dir
    if tokenizer_fingerprint(resume) == saved_sha:
        log(f"Using the tokenizer saved in {resume} ({tokenizer_dir} is missing or another tokenizer)")
        return Path(resume)
    return tokenizer_dir


def resolve_config(preset: TrainConfig, args, resume: Optional[Path]) -> TrainConfig:
    """The preset with flags over it; when resuming, the checkpoint's configuration with flags over it."""
    if resume is None:
        return resolve(preset, args)
    from london_llm.training import checkpoint as ckpt

    saved = TrainConfig.from_dict(ckpt.read_trainer_state(resume)["config"])
    config = resolve(saved, args)
    changed = [f"{k} {getattr(saved, k)} -> {getattr(config, k)}" for k in SHAPE_FIELDS
               if getattr(saved, k) != getattr(config, k)]
    if changed:
        raise TrainingError(f"{resume} holds a model of another shape ({', '.join(changed)}); resume without "
                            "those flags, or start a new model with --fresh (or another --output_dir)")
    return config


SHAPE_FIELDS = ("n_layer", "n_head", "n_embd", "max_length", "pad_vocab_to_multiple")


def main(argv: Optional[list[str]], *, prog: str, description: str, default_model: str,
         presets: dict[str, TrainConfig], paths_fn: Callable) -> int:
    args = build_parser(prog, description, default_model, presets).parse_args(argv)
    # imports after --help is answered; transformers only once the run is known to go ahead
    from london_llm.training import checkpoint as ckpt
    from london_llm.training import distributed as dist_utils
    from london_llm.training.precision import PrecisionError
    from london_llm.pretokenize.format import UINT16_VOCAB_LIMIT, PretokenizedIncompatible
    from london_llm.training.runlock import RunLock, RunLocked
    from london_llm.tokenization.errors import TokenizerError
    from london_llm.training.reporting import setup_logging, wandb_mode

    paths = paths_fn(args.home)
    model_name = args.model
    preset = presets[model_name]
    output_dir = Path(args.output_dir or paths.checkpoint_dir(model_name)).resolve()
    tokenizer_dir = Path(args.tokenizer_dir or default_tokenizer_dir(paths.tokenizer_dir, model_name)).resolve()
    documents_file = Path(args.documents_file or paths.documents_file).resolve()
    data_dir = Path(args.data_dir or (output_dir / "pretokenized_data" if args.output_dir
                                      else paths.pretokenized_dir(model_name))).resolve()
    log_file = Path(args.log_file or paths.training_log)

    if args.print_config:
        try:
            resume = None if args.fresh else choose_resume(args, output_dir, log=lambda m: None)
            config = resolve_config(preset, args, resume)
        except (ckpt.CheckpointError, TrainingError, ValueError) as exc:
            print(f"ERROR: {exc}", file=sys.stderr)
            return EXIT_USAGE
        print(describe(config, model=model_name, output_dir=output_dir, tokenizer_dir=tokenizer_dir,
                       documents_file=documents_file, data_dir=data_dir, resume_from=resume))
        return 0

    try:
        ctx = dist_utils.setup(args.device)
    except PrecisionError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logger = setup_logging(log_file, ctx.is_main)
    lock = RunLock(output_dir, log=logger.warning)
    try:
        if ctx.is_main:
            lock.acquire()
            if output_dir.is_dir():
                ckpt.clean_temporary(output_dir)
            if args.fresh:
                archive_previous(output_dir, logger.info)
            resume = choose_resume(args, output_dir, logger.info)
            if resume is not None and args.resume_from_checkpoint:
                archive_later(output_dir, resume, logger.info)
        else:
            resume = None
        resume = dist_utils.broadcast_object(ctx, str(resume) if resume else None)
        resume = Path(resume) if resume else None
        config = resolve_config(preset, args, resume)
        from london_llm.training.precision import choose_precision
        from london_llm.pretokenize.build import prepare_pretokenized
        from london_llm.tokenization.loading import load_tokenizer
        from london_llm.training.loop import TrainJob, train
        from london_llm.tokenization.loading import tokenizer_fingerprint

        precision = choose_precision(ctx.device, config.dtype)

        if resume is not None and not args.tokenizer_dir:
            tokenizer_dir = tokenizer_for_resume(tokenizer_dir, resume, logger.info)
        tokenizer = load_tokenizer(tokenizer_dir)
        vocab_size = len(tokenizer)
        if vocab_size > UINT16_VOCAB_LIMIT:
            raise TrainingError(f"tokenizer {tokenizer_dir} has {vocab_size} tokens; pretokenized data stores "
                                f"uint16 ids (at most {UINT16_VOCAB_LIMIT:,} tokens): retrain the tokenizer "
                                "with a smaller --vocab_size")
        if resume is not None:
            saved_sha = ckpt.read_trainer_state(resume).get("tokenizer_sha256")
            if saved_sha and saved_sha != tokenizer_fingerprint(tokenizer_dir):
                raise TrainingError(f"the tokenizer in {tokenizer_dir} is not the one {resume} was trained with; "
                                    "pass that checkpoint's folder as --tokenizer_dir, or start over with --fresh")

        mode = "require" if args.use_pretokenized else "rebuild" if args.no_pretokenized else "auto"
        if ctx.is_main:
            if not documents_file.is_file() and not args.use_pretokenized and (args.no_pretokenized or not data_dir.is_dir()):
                raise TrainingError(f"documents file {documents_file} not found: run stage 02 "
                                    "(02_data_collection/historical_data_collector.py) or pass --documents_file")
            prepare_pretokenized(documents_file, tokenizer_dir, data_dir, max_length=config.max_length,
                                 val_fraction=config.val_fraction, seed=config.seed, mode=mode,
                                 workers=args.workers, log=logger.info)
        dist_utils.barrier(ctx)  # the other ranks wait for rank 0's pretokenized data
        if ctx.enabled and ctx.local_rank == 0 and not ctx.is_main:
            # another node: a no-op check on a shared filesystem, a build on a node-local disk
            prepare_pretokenized(documents_file, tokenizer_dir, data_dir, max_length=config.max_length,
                                 val_fraction=config.val_fraction, seed=config.seed,
                                 mode="require" if mode == "require" else "auto", workers=args.workers,
                                 log=logger.info)
        dist_utils.barrier(ctx)

        job = TrainJob(config=config, output_dir=output_dir, data_dir=data_dir, tokenizer_dir=tokenizer_dir,
                       vocab_size=vocab_size, bos_id=tokenizer.bos_token_id, eos_id=tokenizer.eos_token_id,
                       pad_id=tokenizer.pad_token_id,
                       precision=precision, ctx=ctx, logger=logger, resume_from=resume,
                       wandb_mode=wandb_mode(args.no_wandb), wandb_project=args.wandb_project,
                       run_name=args.run_name or f"london-{model_name}-{time.strftime('%Y%m%d-%H%M%S')}",
                       wandb_dir=paths.logs_dir, peak_flops=args.peak_flops, model_name=model_name,
                       extra_state={"data_dir": str(data_dir), "documents_file": str(documents_file)})
        result = train(job)
        if result.stopped_by_signal and ctx.is_main:
            logger.info(f"Stopped cleanly by {result.stopped_by_signal} at step {result.step}.")
        # Every rank leaves its last collective before any tears the group down: a rank that
        # destroyed gloo while its peer was still talking to it aborted the peer at exit.
        dist_utils.barrier(ctx)
        return 0
    except (RunLocked, ckpt.CheckpointError, PretokenizedIncompatible, TokenizerError, TrainingError,
            PrecisionError, ValueError) as exc:
        logger.error(str(exc))
        return EXIT_USAGE
    finally:
        lock.release()
        dist_utils.shutdown(ctx)
