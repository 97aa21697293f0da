"""What the publishing scripts' tests share: the environments a user would have (offline for a dry run;
online against the loopback Hub stub, Xet off) and running a script as a user runs it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PUBLISH = REPO / "10_scripts" / "publish_to_huggingface.py"
DATASET = REPO / "10_scripts" / "publish_dataset.py"
INFER = REPO / "06_inference" / "inference_unified.py"
TOKEN = "hf_test_secret_token_123"


def offline_env(tmp: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HF_ENDPOINT")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HOME=str(tmp / "hf_home"),
               PYTHONPATH=str(REPO), TOKENIZERS_PARALLELISM="false")
    env.update(extra)
    return env


def online_env(tmp: Path, hub_url: str, token: str | None = TOKEN, **extra) -> dict:
    env = offline_env(tmp, **{"HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0", "HF_ENDPOINT": hub_url,
                              "HF_HUB_DISABLE_XET": "1", **extra})
    if token:
        env["HF_TOKEN"] = token
    return env


def run(script: Path, *args, env: dict, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(script), *map(str, args)], env=env, cwd=cwd or REPO, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
