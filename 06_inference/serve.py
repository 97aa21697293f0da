#!/usr/bin/env python3
"""Serve a trained model as an OpenAI-compatible completions API (POST /v1/completions).

    python 06_inference/serve.py                          # newest slm checkpoint on http://127.0.0.1:8000
    python 06_inference/serve.py --model tiny --port 8080
    python 06_inference/serve.py --checkpoint checkpoint-3000 --api_key "$KEY"
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the one bootstrap line: works from a clean clone
import config  # noqa: E402
from london_llm.errors import run_command  # noqa: E402
from london_llm.inference.serve_cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_command(main, None, prog="serve.py", default_model="slm", presets=config.PRESETS,
                         paths_fn=config.paths, description=__doc__.splitlines()[0]))
