#!/usr/bin/env python3
"""Train the regular model (preset `regular`; --model picks another) on one device or under torchrun.

    python 04_training/train_model.py                          # resume the newest checkpoint, or start
    torchrun --nproc_per_node=2 04_training/train_model.py     # one process per GPU (gloo on CPU)
    python 04_training/train_model.py --resume_from_checkpoint checkpoint-3000
    python 04_training/train_model.py --fresh --no_wandb --model tiny --max_steps 50
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import config  # noqa: E402
from london_llm.training.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(None, prog="train_model.py", default_model="regular", presets=config.PRESETS,
                  paths_fn=config.paths, description=__doc__.splitlines()[0]))
