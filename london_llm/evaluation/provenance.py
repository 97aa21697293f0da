"""What ran an evaluation, recorded in its results: library versions, the code's git commit, the machine."""
from __future__ import annotations

import platform
from pathlib import Path
from typing import Any, Optional


def libraries() -> dict[str, Optional[str]]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, Optional[str]] = {"python": platform.python_version()}
    for name in ("torch", "transformers", "lm_eval", "rouge_score", "tokenizers", "datasets", "krippendorff"):
        try:
            out[name] = version(name.replace("_", "-") if name == "rouge_score" else name)
        except PackageNotFoundError:
            out[name] = None
    out["london_llm"] = _git_commit()
    return out


def _git_commit() -> Optional[str]:
    import subprocess

    try:
        root = Path(__file__).resolve().parents[2]
        return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine() -> dict[str, Any]:
    import os

    cpu = platform.processor() or ""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform()}
