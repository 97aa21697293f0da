#!/usr/bin/env python3
"""Publish a trained model to the Hugging Face Hub (the guide's last step).

    huggingface-cli login                       # once
    cd 10_scripts && python publish_to_huggingface.py              # the slm run's best checkpoint
    python 10_scripts/publish_to_huggingface.py --model tiny --dry_run
    python 10_scripts/publish_to_huggingface.py --checkpoint checkpoint-60000 --repo_id me/london-slm

The logic lives in london_llm/publishing/cli.py; this door hands it config.py's paths.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the one bootstrap line: works from a clean clone
import config  # noqa: E402
from london_llm.errors import run_command  # noqa: E402
from london_llm.publishing.cli import Defaults, main  # noqa: E402


def defaults(home=None) -> Defaults:
    paths = config.paths(home)  # --home, else $LONDON_LLM_HOME, else the repository
    return Defaults(checkpoint_dirs={m: paths.checkpoint_dir(m) for m in config.PRESETS},
                    export_root=paths.models_dir / "hf_export", documents_file=paths.documents_file,
                    evaluation_dir=paths.evaluation_dir,
                    log_file=paths.logs_dir / "publish_to_huggingface.log")


if __name__ == "__main__":
    raise SystemExit(run_command(main, None, defaults=defaults))
