#!/usr/bin/env python3
"""Publish the cleaned corpus to the Hugging Face Hub as a dataset (Parquet shards + dataset card).

    python 10_scripts/publish_dataset.py --dry_run          # export and list the files
    python 10_scripts/publish_dataset.py --repo_id me/london-historical-corpus

The logic lives in london_llm/publishing/dataset_cli.py; this door hands it config.py's paths.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the one bootstrap line: works from a clean clone
import config  # noqa: E402
from london_llm.errors import run_command  # noqa: E402
from london_llm.publishing.dataset_cli import DatasetDefaults, main  # noqa: E402


def defaults(home=None) -> DatasetDefaults:
    paths = config.paths(home)  # --home, else $LONDON_LLM_HOME, else the repository
    return DatasetDefaults(documents_file=paths.documents_file,
                           pretokenized_dirs={m: paths.pretokenized_dir(m) for m in config.PRESETS},
                           split_settings={m: (p.val_fraction, p.seed) for m, p in config.PRESETS.items()},
                           export_root=paths.models_dir / "hf_export" / "dataset",
                           log_file=paths.logs_dir / "publish_dataset.log")


if __name__ == "__main__":
    raise SystemExit(run_command(main, None, defaults=defaults))
