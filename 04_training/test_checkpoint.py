#!/usr/bin/env python3
"""Check a training checkpoint: validation loss on held-out text and generations from prompts.

    python 04_training/test_checkpoint.py                       # newest checkpoint of the regular model
    python 04_training/test_checkpoint.py --list-checkpoints
    python 04_training/test_checkpoint.py --checkpoint_path checkpoint-1500.pt --prompt "Parliament sat"
    python 04_training/test_checkpoint.py --interactive
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import config  # noqa: E402
from london_llm.inference.check_cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(None, prog=Path(__file__).name, default_model="regular", presets=config.PRESETS,
                  paths_fn=config.paths, description=__doc__.splitlines()[0]))
