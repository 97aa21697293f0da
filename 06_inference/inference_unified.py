#!/usr/bin/env python3
"""Generate text from a trained model: one prompt, several samples, or an interactive session.

    python 06_inference/inference_unified.py --interactive
    python 06_inference/inference_unified.py --prompt "In the year 1834, I walked through the streets of London"
    python 06_inference/inference_unified.py --num_samples 5 --max_length 100
    python 06_inference/inference_unified.py --model tiny --checkpoint checkpoint-200 --kind trial --year 1780 --json
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the one bootstrap line: works from a clean clone
import config  # noqa: E402
from london_llm.errors import run_command  # noqa: E402
from london_llm.inference.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_command(main, None, prog="inference_unified.py", default_model="slm", presets=config.PRESETS,
                         paths_fn=config.paths, description=__doc__.splitlines()[0]))
