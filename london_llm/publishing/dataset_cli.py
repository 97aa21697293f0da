"""`10_scripts/publish_dataset.py`: the corpus as a Hugging Face dataset (Parquet + card), uploaded or dry-run."""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from london_llm.settings import HOME_HELP, parse_under_home

from .errors import PublishError
from .tee import run_logged

DEFAULT_REPO = "london-historical-corpus"


@dataclass
class DatasetDefaults:
    documents_file: Path
    pretokenized_dirs: dict[str, Path]        # model -> its pretokenized folder (the split training used)
    split_settings: dict[str, tuple[float, int]]  # model -> (val_fraction, seed) of its preset
    export_root: Path
    log_file: Optional[Path] = None


def build_parser(d: DatasetDefaults) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="publish_dataset.py",
        description="Export the cleaned corpus (documents.jsonl) as a Hugging Face dataset: Parquet shards with "
                    "the train/validation split training used and a dataset card (fields, statistics per source and "
                    "period, licences and citations), then upload it. Sources whose licence forbids "
                    "redistribution are left out.")
    p.add_argument("--home", type=Path, help=HOME_HELP)
    p.add_argument("--documents_file", type=Path, default=d.documents_file,
                   help=f"the cleaned documents (default: {d.documents_file})")
    p.add_argument("--model", choices=sorted(d.pretokenized_dirs), default="slm",
                   help="whose training split to publish (its pretokenized data; default: slm)")
    p.add_argument("--data_dir", type=Path, help="the pretokenized folder whose metadata.json gives the split "
                                                 "(default: the model's)")
    p.add_argument("--repo_id", default=DEFAULT_REPO, help=f"Hub dataset repository (default: {DEFAULT_REPO} in "
                                                           "your namespace)")
    p.add_argument("--private", action="store_true", help="create the repository as private")
    p.add_argument("--dry_run", action="store_true", help="export, then list every file that would be uploaded "
                                                          "(size, sha256); no upload")
    p.add_argument("--output_dir", type=Path, help=f"where the dataset folder is written (default: "
                                                   f"{d.export_root})")
    p.add_argument("--commit_message", help="the Hub commit message")
    p.add_argument("--log_file", type=Path, default=d.log_file,
                   help=f"append the log here as well as to the terminal (default: {d.log_file})")
    p.add_argument("--shard_mb", type=int, default=200, help="text per Parquet shard, in MB (default: 200)")
    return p


def run(args: argparse.Namespace, d: DatasetDefaults, log=print) -> int:
    from .corpus import corpus_stats
    from .dataset import MARKER, export_dataset
    from .hub import publish_folder
    from .listing import upload_listing

    repo_id = args.repo_id
    api = None
    if not args.dry_run:
        from huggingface_hub import HfApi, constants
        from .hub import hub_token, resolve_repo_id
        if constants.is_offline_mode():
            raise PublishError("cannot upload: HF_HUB_OFFLINE is set; unset it to upload (or use --dry_run)")
        api = HfApi(token=hub_token())
        repo_id = resolve_repo_id(api, repo_id)
    if args.shard_mb < 1:
        raise PublishError("--shard_mb must be at least 1")
    stats = corpus_stats(args.documents_file)
    out_dir = args.output_dir or d.export_root
    log(f"Exporting {stats.documents:,} documents of {args.documents_file} to {out_dir}")
    export = export_dataset(args.documents_file, out_dir, stats=stats,
                            data_dir=args.data_dir or d.pretokenized_dirs[args.model],
                            fallback_split=d.split_settings[args.model], repo_id=repo_id, log=log,
                            shard_chars=args.shard_mb * 1_000_000)
    log(f"Rows: {export.rows.get('train', 0):,} train, {export.rows.get('validation', 0):,} validation; "
        f"licence {export.front_matter['license']}")
    if export.left_out:
        log(f"Left out (licence forbids redistribution): {', '.join(sorted(export.left_out))}")
    if args.dry_run:
        log(upload_listing(repo_id, export.folder, export.files))
        log(f"Exported folder: {export.folder}")
        return 0
    publish_folder(export.folder, repo_id, repo_type="dataset", private=args.private,
                   commit_message=args.commit_message or f"Upload the corpus ({sum(export.rows.values()):,} documents)",
                   ignore=(MARKER,), log=log, api=api)
    log(f"Exported folder: {export.folder}")
    return 0


def main(argv: Optional[list[str]] = None, *, defaults: Callable[[Optional[str]], DatasetDefaults]) -> int:
    """`defaults(home)`: the door's paths under that --home (config.paths: flag, else $LONDON_LLM_HOME)."""
    args = parse_under_home(lambda home: build_parser(defaults(home)), argv)
    d = defaults(args.home)
    return run_logged(run, args, d)
