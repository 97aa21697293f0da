"""`10_scripts/publish_to_huggingface.py`: export a checkpoint, check it, and upload it to the Hub.

The door passes the project's paths (config.py); this module takes them as arguments only.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from london_llm.settings import HOME_HELP, parse_under_home

from .errors import PublishError
from .tee import run_logged

MODELS = ("slm", "regular", "tiny")
DEFAULT_REPO = {"slm": "london-historical-slm", "regular": "london-historical-llm", "tiny": "london-historical-tiny"}


@dataclass
class Defaults:
    """What config.py says, handed in by the door (one field per path-like flag)."""

    checkpoint_dirs: dict[str, Path]     # model -> its checkpoints folder
    export_root: Path                    # <export_root>/<model> unless --output_dir
    documents_file: Path
    evaluation_dir: Path
    log_file: Optional[Path] = None      # appended to, as well as the terminal


def build_parser(defaults: Defaults) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="publish_to_huggingface.py",
        description="Export a trained checkpoint as a Hugging Face model folder (weights exactly as trained, "
                    "model card from the run, its data and its evaluation), check that it loads and gives the "
                    "checkpoint's logits, then upload it to the Hub. Log in first: huggingface-cli login.")
    p.add_argument("--home", type=Path, help=HOME_HELP)
    p.add_argument("--model", choices=MODELS, default="slm", help="which run to publish (default: slm)")
    p.add_argument("--checkpoint", help="checkpoint-N, checkpoint-N.pt or a path; default: the run's complete "
                                        "checkpoint with the lowest validation loss")
    p.add_argument("--repo_id", help="Hub repository, 'name' (your namespace) or 'namespace/name'; default "
                                     "london-historical-slm / -llm / -tiny by --model")
    p.add_argument("--private", action="store_true", help="create the repository as private")
    p.add_argument("--dry_run", action="store_true",
                   help="export and check, then list every file that would be uploaded (size, sha256); no upload")
    p.add_argument("--output_dir", type=Path, help=f"where the export folder is written (default: "
                                                   f"{defaults.export_root}/<model>)")
    p.add_argument("--commit_message", help="the Hub commit message (default: names the checkpoint and step)")
    p.add_argument("--require_eval", action="store_true",
                   help="refuse to publish a checkpoint that stage 05 has not evaluated (default: publish "
                        "without a model-index, with a warning)")
    p.add_argument("--eval_results", type=Path, default=defaults.evaluation_dir,
                   help=f"stage 05's results.json, or a folder searched for one (default: {defaults.evaluation_dir})")
    p.add_argument("--documents_file", type=Path,
                   help="the training documents (licences and statistics for the card); default: the one the "
                        f"run recorded, else {defaults.documents_file}")
    p.add_argument("--dataset_repo_id", help="the corpus's Hub dataset (publish_dataset.py), listed under "
                                             "'datasets' in the card")
    p.add_argument("--checkpoints_dir", type=Path, help="the run's checkpoints folder (default: by --model)")
    p.add_argument("--log_file", type=Path, default=defaults.log_file,
                   help=f"append the log here as well as to the terminal (default: {defaults.log_file})")
    return p


def run(args: argparse.Namespace, defaults: Defaults, log=print) -> int:
    repo_id = args.repo_id or DEFAULT_REPO[args.model]
    api = None
    if not args.dry_run:  # fail fast, before minutes of export; the card names the full repository id
        from huggingface_hub import HfApi, constants
        from .hub import hub_token, resolve_repo_id
        if constants.is_offline_mode():
            raise PublishError("cannot upload: HF_HUB_OFFLINE is set; unset it to upload (or use --dry_run)")
        api = HfApi(token=hub_token())
        repo_id = resolve_repo_id(api, repo_id)
    from . import facts  # torch and transformers come in here, after the quick checks
    from .eval_results import find_evaluation
    from .export import MARKER, export_checkpoint
    from .hub import publish_folder
    from .corpus import unlicensed_own_texts
    from .licences import combine
    from .listing import upload_listing
    from .roundtrip import check_roundtrip
    from .selection import choose_checkpoint

    root = args.checkpoints_dir or defaults.checkpoint_dirs[args.model]
    try:
        checkpoint = choose_checkpoint(root, args.checkpoint, log=log)
    except PublishError as exc:  # none in the --model's folder: say which model has some (./run.sh trains tiny)
        from london_llm.training.checkpoint import other_models_hint

        others = {m: d for m, d in defaults.checkpoint_dirs.items() if m != args.model}
        hint = "" if args.checkpoints_dir or args.checkpoint else other_models_hint(others)
        if not hint:
            raise
        raise PublishError(f"{str(exc).rstrip('.')}.{hint}") from None
    from london_llm.hashing import sha256_file
    from london_llm.training import checkpoint as ckpt

    evaluation = find_evaluation(args.eval_results, checkpoint, sha256_file(checkpoint / ckpt.WEIGHTS))
    if evaluation is None:
        if args.require_eval:
            raise PublishError(f"no evaluation results for {checkpoint.name} in {args.eval_results}; run "
                               f"05_evaluation/run_evaluation.py on it first (or drop --require_eval)")
        log(f"WARNING: no evaluation results for {checkpoint.name} in {args.eval_results}: the card has no "
            "model-index (run 05_evaluation/run_evaluation.py, or pass --eval_results)")
    else:
        log(f"Evaluation: {len(evaluation.rows)} metric(s) from {evaluation.path}")
    documents = facts.documents_file_for(checkpoint, args.documents_file, defaults.documents_file)
    out_dir = args.output_dir or defaults.export_root / args.model
    tags, why = [], ""

    def inputs(ck, config):
        nonlocal tags, why
        got = facts.card_inputs(ck, config, repo_id=repo_id, model_name=args.model, documents=documents,
                                evaluation=evaluation, dataset_repo_id=args.dataset_repo_id, log=log)
        tags = list(got.tokenizer.get("conditioning_tags") or [])
        why = combine(got.corpus.licences)[1]
        warning = unlicensed_own_texts(got.corpus)
        if warning:
            log(warning)
        return got

    def gate(ck, folder):
        return check_roundtrip(ck, folder, tags)

    log(f"Exporting {checkpoint} to {out_dir}")
    export = export_checkpoint(checkpoint, out_dir, card_inputs=inputs, log=log, gate=gate)
    log(f"Round trip: the export loads with AutoModelForCausalLM/AutoTokenizer and gives the checkpoint's logits "
        f"(largest difference {export.max_abs_logit_diff:.3g})")
    log(f"Card licence: {export.front_matter['license']}, because {why}")
    if args.dry_run:
        log(upload_listing(repo_id, export.folder, export.files))
        log(f"Exported folder: {export.folder}")
        return 0
    message = args.commit_message or f"Upload {args.model} {checkpoint.name} (step {export.step})"
    publish_folder(export.folder, repo_id, private=args.private, commit_message=message, ignore=(MARKER,),
                   log=log, api=api)
    log(f"Exported folder: {export.folder}")
    return 0


def main(argv: Optional[list[str]] = None, *, defaults: Callable[[Optional[str]], Defaults]) -> int:
    """`defaults(home)`: the door's paths under that --home (config.paths: flag, else $LONDON_LLM_HOME)."""
    args = parse_under_home(lambda home: build_parser(defaults(home)), argv)
    d = defaults(args.home)
    return run_logged(run, args, d)
