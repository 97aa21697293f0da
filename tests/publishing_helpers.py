"""What the publishing scripts' tests share: the environments a user would have (offline for a dry run;
online against the loopback Hub stub, Xet off), the stub itself as a fixture, a documents file with one
source's licence changed, and running a script as a user runs it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub_server import HubStub

REPO = Path(__file__).resolve().parents[1]
PUBLISH = REPO / "10_scripts" / "publish_to_huggingface.py"
DATASET = REPO / "10_scripts" / "publish_dataset.py"
INFER = REPO / "06_inference" / "inference_unified.py"
TOKEN = "hf_test_secret_token_123"
USER = "alice"  # whom the stub's one token belongs to


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


@pytest.fixture
def hub():
    """The loopback Hub stub, on for one test, knowing one user (USER, with TOKEN)."""
    with HubStub(tokens={TOKEN: USER}) as stub:
        yield stub


def relicensed(documents: Path, out: Path, source: str, licence: str) -> Path:
    """A copy of `documents` in which every record of `source` carries `licence` instead of its own."""
    with open(documents, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
        for line in src:
            record = json.loads(line)
            if record["source"] == source:
                record["licence"] = licence
            dst.write(json.dumps(record) + "\n")
    return out
