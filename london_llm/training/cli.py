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

from london_llm.errors import EXIT_USAGE, LondonLLMError
from london_llm.settings import TrainConfig, add_config_flags, default_tokenizer_dir, describe, resolve
from london_llm.training.errors import TrainingError


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds "(default: X)" only where the help does not already say what the default is, and never
    "(default: None)": a flag whose default is computed says so in its own words."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


def build_parser(prog: str, description: str, default_model: str, presets: dict[str, TrainConfig]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description, formatter_class=_HelpFormatter)
    p.add_argument("--model", choices=sorted(presets), default=default_model,
                   help="preset (and checkpoint folder) to train; tiny is a few-minute CPU model for checks")
    p.add_argument("--home", help="artifact root (default: $LONDON_LLM_HOME or the repository)")
    p.add_argument("--output_dir", "--output-dir", help="checkpoint folder (default: the model's, see README)")
    p.add_argument("--tokenizer_dir", "--tokenizer-dir", help="tokenizer folder (default: stage 03's)")
    p.add_argument("--documents_file", "--documents-file", help="cleaned documents.jsonl (default: stage 02's)")
    p.add_argument("--data_dir", "--data-dir", help="pretokenized data folder (default: <checkpoints>/pretokenized_data)")
    p.add_argument("--log_file", "--log-file", help="training log, appended to, each line tagged with its run "
                   "(default: 04_training/model_training.log)")
    resume = p.add_mutually_exclusive_group()
    resume.add_argument("--resume_from_checkpoint", "--resume-from-checkpoint", metavar="NAME_OR_PATH",
                        help="resume from checkpoint-N or checkpoint-N.pt (in the output folder), or a folder "
                             "path (absolute, else from the current folder, else from the artifact root) "
                             "(default: the newest complete checkpoint in the output folder)")
    resume.add_argument("--fresh", action="store_true",
                        help="start from scratch even if checkpoints exist (old ones are moved to previous_runs/)")
    p.add_argument("--branch", action="store_true",
                   help="continue a checkpoint of another model or folder here, as a new branch of this run "
                        "(recorded in its checkpoints; metrics of every branch are kept). Without it such a "
                        "resume is refused, naming the script or --output_dir that resumes it")
    pretok = p.add_mutually_exclusive_group()
    pretok.add_argument("--use_pretokenized", "--use-pretokenized", action="store_true",
                        help="only use existing compatible pretokenized data; fail naming the reason otherwise")
    pretok.add_argument("--no_pretokenized", "--no-pretokenized", action="store_true",
                        help="always re-tokenize the documents (the data are rebuilt by themselves when the "
                             "tokenizer, the documents or the split change; never for max_length)")
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
    from london_llm.training.checkpoint import SET_ASIDE

    dest = output_dir / SET_ASIDE / f"{time.strftime('%Y%m%d-%H%M%S')}{label}"
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
    newest = max(olds, key=ckpt.step_of, default=None)
    undo = (f" (started by mistake? stop this run and resume the old one there: ./resume_training.sh "
            f"{dest / newest.name})" if newest is not None else "")
    log(f"--fresh: moved {len(olds)} earlier checkpoint(s) and the metrics log to {dest}{undo}")
    return dest


def archive_later(output_dir: Path, step: int, log: Callable[[str], None]) -> Optional[Path]:
    """A branch starts at `step`: the folder's checkpoints past it belong to the abandoned branch, so
    move them aside (nothing is deleted) lest a later auto-resume pick them or a new one overwrite them."""
    from london_llm.training import checkpoint as ckpt

    later = later_checkpoints(output_dir, step)
    if not later:
        return None
    dest = _move_aside(output_dir, later, f"-after-step-{step}")
    log(f"Resuming from step {step}: moved the {len(later)} later checkpoint(s) of the abandoned branch "
        f"({', '.join(p.name for p in later)}) to {dest}")
    return dest


def later_checkpoints(output_dir: Path, step: int) -> list[Path]:
    from london_llm.training import checkpoint as ckpt

    return sorted((p for p in Path(output_dir).glob("checkpoint-*") if (ckpt.step_of(p) or -1) > step),
                  key=ckpt.step_of)


def choose_resume(args, output_dir: Path, log: Callable[[str], None], home: Optional[Path] = None) -> Optional[Path]:
    from london_llm.training import checkpoint as ckpt

    if args.fresh:
        return None
    if args.resume_from_checkpoint:
        path = ckpt.resolve(output_dir, args.resume_from_checkpoint, home=home)
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
    from london_llm.tokenization.format import tokenizer_fingerprint
    from london_llm.training import checkpoint as ckpt

    saved_sha = ckpt.read_trainer_state(resume).get("tokenizer_sha256")
    if not saved_sha or tokenizer_fingerprint(tokenizer_dir) == saved_sha:
        return tokenizer_dir
    if tokenizer_fingerprint(resume) == saved_sha:
        why = (f"{tokenizer_dir} now holds another tokenizer, whose ids this model was not trained on; to "
               "train with that one, start over with --fresh" if (Path(tokenizer_dir) / "tokenizer.json").is_file()
               else f"{tokenizer_dir} does not exist")
        log(f"Using the tokenizer saved in {resume} ({why})")
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


def resume_advice(args, argv: Optional[list[str]], prog: str, output_dir: Path, checkpoint: Optional[Path],
                  default_output: Path) -> str:
    """The command that really resumes a stopped run: the launcher's resume script when a launcher ran
    this, else this command without --fresh (which would start over again)."""
    import os
    import shlex

    if os.environ.get("LONDON_LLM_LAUNCHER") and checkpoint is not None:
        return f"./resume_training.sh {checkpoint}"
    words = list(sys.argv[1:] if argv is None else argv)
    if not args.fresh and not args.resume_from_checkpoint:
        return "rerun the same command (it resumes the newest checkpoint)"
    kept, skip = [], False
    for word in words:
        if skip:
            skip = False
            continue
        if word == "--fresh":
            continue
        if word in ("--resume_from_checkpoint", "--resume-from-checkpoint"):
            skip = True
            continue
        if word.startswith(("--resume_from_checkpoint=", "--resume-from-checkpoint=")):
            continue
        kept.append(word)
    launcher = (f"torchrun --nproc_per_node={os.environ.get('LOCAL_WORLD_SIZE', '?')} "
                if os.environ.get("TORCHELASTIC_RUN_ID") else "python ")
    script = f"{launcher}{sys.argv[0] if argv is None else prog}"
    target = [] if checkpoint is None else ["--resume_from_checkpoint", str(checkpoint)]
    return " ".join([script, *map(shlex.quote, kept), *target])


def default_data_dir(output_dir: Path, output_given: bool, preset_data_dir: Path) -> Path:
    """The token files a run uses without --data_dir: its output folder's; the preset's for the preset's
    folder. A folder a fresh start set aside (<folder>/previous_runs/<time>/, resumed as
    ./resume_training.sh says) holds no token files of its own: it uses its folder's, not a rebuild."""
    from london_llm.training.checkpoint import SET_ASIDE

    if not output_given:
        return preset_data_dir
    if output_dir.parent.name == SET_ASIDE and (output_dir.parent.parent / "pretokenized_data").is_dir():
        return output_dir.parent.parent / "pretokenized_data"
    return output_dir / "pretokenized_data"


def missing_tokenizer(tokenizer_dir: Path, model_name: str) -> Optional[str]:
    """The one line for a tokenizer that was never trained (./run.sh trains only the tiny model's)."""
    if (Path(tokenizer_dir) / "tokenizer.json").is_file():
        return None
    tiny = "" if model_name == "tiny" else ", or train the few-minute CPU model with --model tiny"
    return (f"no tokenizer at {tokenizer_dir}: train it first with python 03_tokenizer/train_historical_tokenizer.py "
            f"(./run.sh trains only the tiny model's){tiny}, or pass --tokenizer_dir")


def missing_environment(exc: ModuleNotFoundError) -> str:
    """One line for a python without the project's packages (the environment is not activated)."""
    import os

    venv = os.environ.get("LONDON_LLM_VENV") or "helloLondon"
    return (f"{exc.name or exc} is not installed for {sys.executable}: this is not the project's environment. "
            f"Activate it (source {venv}/bin/activate; ./run.sh creates it) and run again, or use "
            "./launch_training.sh / ./resume_training.sh, which find it themselves")


def preflight(args, model_name: str, tokenizer_dir: Path, documents_file: Path, data_dir: Path,
              output_dir: Path) -> Optional[str]:
    """The one-line refusal the run would reach after seconds of imports and set-up, found with a few
    file checks (same messages, same order): --use_pretokenized without the data, no tokenizer, an
    incomplete one, no documents to build the data from. A tokenizer it cannot judge yet (a resume
    without --tokenizer_dir may use the checkpoint's copy) is left to the full check."""
    from london_llm.pretokenize.format import PretokenizedIncompatible, read_metadata
    from london_llm.tokenization.errors import TokenizerError
    from london_llm.tokenization.loading import check_tokenizer_folder

    if args.use_pretokenized and not data_dir.is_dir():  # the guide's rm -rf, then --use_pretokenized:
        try:                                                # no tokenizer or resume makes that usable
            read_metadata(data_dir)  # raises what --use_pretokenized says of a missing folder
        except PretokenizedIncompatible as exc:
            return str(exc)
    may_resume = not args.fresh and (bool(args.resume_from_checkpoint) or any(output_dir.glob("checkpoint-*")))
    if may_resume and not args.tokenizer_dir:
        return None  # the tokenizer is judged first, and only once the resume is known
    problem = missing_tokenizer(tokenizer_dir, model_name)
    if problem:
        return problem
    try:
        check_tokenizer_folder(tokenizer_dir)
    except TokenizerError as exc:
        return str(exc)
    if documents_missing(args, documents_file, data_dir):
        return missing_documents(documents_file)
    return None


def documents_missing(args, documents_file: Path, data_dir: Path) -> bool:
    """The run must build its token files (no --use_pretokenized, and --no_pretokenized or none there
    yet) but has no documents file to build them from."""
    return not documents_file.is_file() and not args.use_pretokenized and (args.no_pretokenized or not data_dir.is_dir())


def missing_documents(documents_file: Path) -> str:
    return (f"documents file {documents_file} not found: run stage 02 "
            "(02_data_collection/historical_data_collector.py) or pass --documents_file")


def _refuse(problem: str, log_file: Path, model_name: str) -> int:
    """A preflight refusal, reported as the run reports its known failures: one ERROR line (rank 0,
    also in the training log), the message for torchrun's report, exit 2."""
    import os

    from london_llm.training.reporting import setup_logging

    rank0 = os.environ.get("RANK", "0") == "0"
    # every rank of a node meets the same problem, so one per node says so: rank 0, and on the other
    # nodes of a multi-node run their local rank 0 (the problem may be that node's alone)
    speaks = rank0 or os.environ.get("LOCAL_RANK") == "0"
    logger = setup_logging(log_file, rank0, tag=f"{model_name} pid {os.getpid()}")
    if speaks:
        logger.error(problem)
        if os.environ.get("TORCHELASTIC_ERROR_FILE"):  # under torchrun only: that module loads torch
            from london_llm.training.distributed import record_error_for_torchrun
            record_error_for_torchrun(problem)
    else:
        # torchrun ends every worker as soon as one fails: a rank that got here before its node's
        # speaker (which may start a little later) would have it killed before it said why. So wait;
        # the speaker's exit ends this wait (torchrun's SIGTERM), and its message is the root cause.
        import time

        time.sleep(OTHER_RANKS_WAIT_S)
    return EXIT_USAGE


OTHER_RANKS_WAIT_S = 20.0  # ample for the speaker's start-up and preflight on a loaded machine


class _OtherRankFailed(Exception):
    """Rank 0 failed with a known error and said why; this rank leaves quietly with the same status."""


def main(argv: Optional[list[str]], *, prog: str, description: str, default_model: str,
         presets: dict[str, TrainConfig], paths_fn: Callable) -> int:
    args = build_parser(prog, description, default_model, presets).parse_args(argv)
    paths = paths_fn(args.home)
    model_name = args.model
    preset = presets[model_name]
    default_output = Path(paths.checkpoint_dir(model_name)).resolve()
    output_dir = Path(args.output_dir or default_output).resolve()
    tokenizer_dir = Path(args.tokenizer_dir or default_tokenizer_dir(paths.tokenizer_dir, model_name)).resolve()
    documents_file = Path(args.documents_file or paths.documents_file).resolve()
    data_dir = Path(args.data_dir or default_data_dir(output_dir, args.output_dir is not None,
                                                      paths.pretokenized_dir(model_name))).resolve()
    log_file = Path(args.log_file or paths.training_log)
    home = Path(paths.home)
    # what a glance at the disk can refuse is refused before torch and transformers load (seconds)
    try:
        problem = None if args.print_config else preflight(args, model_name, tokenizer_dir, documents_file, data_dir,
                                                           output_dir)
    except ModuleNotFoundError as exc:
        print(f"ERROR: {missing_environment(exc)}", file=sys.stderr)
        return EXIT_USAGE
    if problem:
        return _refuse(problem, log_file, model_name)
    # imports after --help is answered; transformers only once the run is known to go ahead
    import os

    try:
        from london_llm.training import checkpoint as ckpt
        from london_llm.training import distributed as dist_utils
        from london_llm.training import identity
        from london_llm.training.precision import PrecisionError
        from london_llm.pretokenize.format import UINT16_VOCAB_LIMIT, PretokenizedIncompatible
        from london_llm.training.runlock import RunLock, RunLocked
        from london_llm.tokenization.errors import TokenizerError
        from london_llm.training.reporting import log_run_header, setup_logging, wandb_mode
        from london_llm.training.stopping import StopFlag, StopRequested, guard_console
    except ModuleNotFoundError as exc:
        print(f"ERROR: {missing_environment(exc)}", file=sys.stderr)
        return EXIT_USAGE

    # every stage's known failures (run lock, checkpoint, pretokenized data, tokenizer, precision,
    # training) derive from LondonLLMError; out-of-range values raise ValueError: one line, exit 2
    known = (LondonLLMError, ValueError)

    if args.print_config:
        try:
            resume = None if args.fresh else choose_resume(args, output_dir, log=lambda m: None, home=home)
            config = resolve_config(preset, args, resume)
        except (ckpt.CheckpointError, TrainingError, ValueError) as exc:
            print(f"ERROR: {exc}", file=sys.stderr)
            return EXIT_USAGE
        print(describe(config, model=model_name, output_dir=output_dir, tokenizer_dir=tokenizer_dir,
                       documents_file=documents_file, data_dir=data_dir, resume_from=resume))
        return 0

    # Every stop (SIGTERM, SIGINT, SIGHUP, a console that went away) is one request: saved and
    # logged by the loop; before the loop there is nothing to save and the run just ends.
    stop = StopFlag(abort_on_second_sigint=not dist_utils.launched_by_torchrun()).install()
    guard_console(stop.request)
    try:
        ctx = dist_utils.setup(args.device)
    except PrecisionError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        dist_utils.record_error_for_torchrun(str(exc))
        return EXIT_USAGE
    except StopRequested:
        return 0
    logger = setup_logging(log_file, ctx.is_main, tag=f"{model_name} pid {os.getpid()}")
    if ctx.is_main and not args.log_file:  # the guide's logs/ holds the training log too (a link to it)
        from london_llm.logs import link_into
        link_into(paths.logs_dir, log_file)
    if ctx.device.type == "cpu":  # page faults on every step's activations cost a sixth of a CPU step
        from london_llm.allocator import keep_tensor_memory_warm
        logger.info(f"CPU memory: {keep_tensor_memory_warm()}")
    lock = RunLock(output_dir, log=logger.warning)

    def on_rank0(work: Callable):
        """`work()` on rank 0, its result on every rank; a known failure there ends the others quietly."""
        result, error = None, None
        if ctx.is_main:
            try:
                result = work()
            except known as exc:
                error = exc
        shared = dist_utils.broadcast_object(ctx, ("failed", None) if error is not None else ("ok", result))
        if error is not None:
            raise error
        if shared[0] == "failed":
            raise _OtherRankFailed()
        return shared[1]

    job = None  # set once the run is resolved (what an out-of-memory failure reports)
    try:
        def prepare_run():
            log_run_header(logger, prog=prog, argv=sys.argv[1:] if argv is None else argv, model=model_name,
                           output_dir=output_dir, world_size=ctx.world_size)
            lock.acquire()
            if output_dir.is_dir():
                ckpt.clean_temporary(output_dir)
            if args.fresh:
                archive_previous(output_dir, logger.info)
            resume = choose_resume(args, output_dir, logger.info, home=home)
            return (str(resume) if resume else None), settle_identity(resume)

        def settle_identity(resume: Optional[Path]):
            """Whose run this is: refused for another model's or folder's checkpoint without --branch,
            before anything in either folder changes."""
            if resume is None:
                run_id = identity.fresh(model_name, output_dir, None)
            else:
                state = ckpt.read_trainer_state(resume)
                later = (resume.resolve().parent == output_dir and bool(args.resume_from_checkpoint)
                         and bool(later_checkpoints(output_dir, int(state["step"]))))
                run_id = identity.continue_from(state, resume, model=model_name, output_dir=output_dir,
                                                tokenizer_sha256=None, branch=args.branch, later_checkpoints=later)
                if run_id.new_branch:
                    archive_later(output_dir, int(state["step"]), logger.info)
                    fork = run_id.forked_from
                    logger.info(f"Continuing {resume} as a new branch {run_id.branch} of the run in {output_dir} "
                                f"(it forks branch {fork['branch']} of {fork['output_dir']} at step {fork['step']}; "
                                "the metrics of every branch are kept in metrics.jsonl)")
            logger.info(f"Run {run_id.id}, branch {run_id.branch}: model '{model_name}' in {output_dir}")
            return run_id

        resume, run_identity = on_rank0(prepare_run)
        resume = Path(resume) if resume else None
        config = resolve_config(preset, args, resume)
        from london_llm.training.precision import choose_precision
        from london_llm.pretokenize.build import prepare_pretokenized
        from london_llm.tokenization.loading import load_tokenizer
        from london_llm.training.loop import TrainJob, train
        from london_llm.tokenization.format import tokenizer_fingerprint

        precision = choose_precision(ctx.device, config.dtype)

        if resume is not None and not args.tokenizer_dir:
            tokenizer_dir = tokenizer_for_resume(tokenizer_dir, resume, logger.info if ctx.is_main else lambda m: None)
        problem = missing_tokenizer(tokenizer_dir, model_name)
        if problem:
            raise TrainingError(problem)
        tokenizer = load_tokenizer(tokenizer_dir)
        vocab_size = len(tokenizer)
        if vocab_size > UINT16_VOCAB_LIMIT:
            raise TrainingError(f"tokenizer {tokenizer_dir} has {vocab_size} tokens; pretokenized data stores "
                                f"uint16 ids (at most {UINT16_VOCAB_LIMIT:,} tokens): retrain the tokenizer "
                                "with a smaller --vocab_size")
        tokenizer_sha = tokenizer_fingerprint(tokenizer_dir)
        if resume is not None:
            saved_sha = ckpt.read_trainer_state(resume).get("tokenizer_sha256")
            if saved_sha and saved_sha != tokenizer_sha:
                raise TrainingError(f"the tokenizer in {tokenizer_dir} is not the one {resume} was trained with; "
                                    "pass that checkpoint's folder as --tokenizer_dir, or start over with --fresh")

        run_identity.tokenizer_sha256 = tokenizer_sha

        mode = "require" if args.use_pretokenized else "rebuild" if args.no_pretokenized else "auto"

        def pretokenize():
            if documents_missing(args, documents_file, data_dir):
                raise TrainingError(missing_documents(documents_file))
            prepare_pretokenized(documents_file, tokenizer_dir, data_dir, val_fraction=config.val_fraction,
                                 seed=config.seed, mode=mode, workers=args.workers, log=logger.info,
                                 warn=logger.warning)

        on_rank0(pretokenize)  # the other ranks wait for rank 0's pretokenized data
        if ctx.enabled and ctx.local_rank == 0 and not ctx.is_main:
            # another node: a no-op check on a shared filesystem, a build on a node-local disk
            prepare_pretokenized(documents_file, tokenizer_dir, data_dir, val_fraction=config.val_fraction,
                                 seed=config.seed, mode="require" if mode == "require" else "auto",
                                 workers=args.workers, log=logger.info, warn=logger.warning)
        dist_utils.barrier(ctx)

        job = TrainJob(config=config, output_dir=output_dir, data_dir=data_dir, tokenizer_dir=tokenizer_dir,
                       vocab_size=vocab_size, bos_id=tokenizer.bos_token_id, eos_id=tokenizer.eos_token_id,
                       pad_id=tokenizer.pad_token_id,
                       precision=precision, ctx=ctx, logger=logger, resume_from=resume,
                       wandb_mode=wandb_mode(args.no_wandb), wandb_project=args.wandb_project,
                       run_name=args.run_name or f"london-{model_name}-{time.strftime('%Y%m%d-%H%M%S')}",
                       wandb_dir=paths.logs_dir, peak_flops=args.peak_flops, model_name=model_name,
                       extra_state={"data_dir": str(data_dir), "documents_file": str(documents_file),
                                    identity.STATE_KEY: run_identity.to_state()},
                       identity=run_identity, stop=stop, lock=lock if ctx.is_main else None,
                       resume_advice=lambda checkpoint: resume_advice(args, argv, prog, output_dir, checkpoint,
                                                                      default_output))
        result = train(job)
        if result.stopped_by_signal and ctx.is_main:
            logger.info(f"Stopped cleanly ({result.stopped_by_signal}) at step {result.step}.")
        # Every rank leaves its last collective before any tears the group down: a rank that
        # destroyed gloo while its peer was still talking to it aborted the peer at exit.
        dist_utils.barrier(ctx)
        return 0
    except _OtherRankFailed:
        return EXIT_USAGE
    except KeyboardInterrupt:
        if ctx.is_main:
            logger.warning("Aborted by a second Ctrl-C: nothing saved since the last checkpoint")
        return 130
    except StopRequested as exc:
        if ctx.is_main:
            logger.warning(str(exc))
        return 0
    except known as exc:
        if ctx.is_main:  # every rank meets the same problem; one says so
            logger.error(str(exc))
            dist_utils.record_error_for_torchrun(str(exc))
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001
        from london_llm.training.memory import is_out_of_memory

        if job is not None and is_out_of_memory(exc):
            # any rank may be the one that ran out, so each that did says so (the guide: reduce the batch)
            message = _out_of_memory(job, args, argv, prog, output_dir, default_output)
            logger.error(message)
            dist_utils.record_error_for_torchrun(message)
            return EXIT_USAGE
        if not ctx.is_main and _peer_gone(exc):
            return EXIT_USAGE  # rank 0 ended (and said why); its process group went with it
        raise
    finally:
        lock.release()
        dist_utils.shutdown(ctx)
        stop.uninstall()


def _out_of_memory(job, args, argv, prog: str, output_dir: Path, default_output: Path) -> str:
    from london_llm.training import checkpoint as ckpt
    from london_llm.training.memory import out_of_memory_message

    cfg = job.config
    last = ckpt.newest_good(output_dir, log=lambda _m: None)
    go_on = resume_advice(args, argv, prog, output_dir, last, default_output) if last is not None else None
    return out_of_memory_message(str(job.ctx.device), cfg.batch_size, cfg.gradient_accumulation_steps,
                                 cfg.max_length, last, go_on)


def _peer_gone(exc: BaseException) -> bool:
    """Whether a collective failed because another rank's process ended (gloo/NCCL lost its peer)."""
    import torch.distributed as dist

    return isinstance(exc, getattr(dist, "DistError", ())) or (
        isinstance(exc, RuntimeError) and any(w in str(exc) for w in ("gloo", "Connection closed", "NCCL")))
