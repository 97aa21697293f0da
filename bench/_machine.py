"""What every benchmark prints about the machine it ran on: CPU model and flags, cores, load.

One helper for all bench/ scripts, so their figures name the machine the same way.
"""
from __future__ import annotations

import os
import platform
from pathlib import Path

# The instruction-set extensions that move these benchmarks' numbers (SIMD widths, FMA, SHA).
FLAGS_OF_NOTE = ("avx512f", "avx512bw", "avx2", "avx", "fma", "sse4_2", "bmi2", "sha_ni", "asimd", "sve")


def _cpuinfo() -> tuple[str, str]:
    model, flags = "", ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
            elif line.startswith(("flags", "Features")) and not flags:
                flags = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return model, flags


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), else what the platform module knows."""
    return _cpuinfo()[0] or platform.processor() or platform.machine() or "unknown"


def cpu_flags() -> list[str]:
    return _cpuinfo()[1].split()


def cpu_description() -> str:
    """Two lines: model, logical cores and the flags of note; then every flag."""
    flags = cpu_flags()
    shown = [f for f in FLAGS_OF_NOTE if f in flags]
    return (f"CPU: {cpu_model()}; {os.cpu_count()} logical cores; flags of note: {' '.join(shown) or 'none'}\n"
            f"CPU flags (all): {' '.join(flags) or 'unavailable'}")


def load() -> str:
    """The 1, 5 and 15 minute load averages (on a shared machine wall times move with them)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def default_corpus_dir(root: Path) -> Path:
    """$LONDON_LLM_SHARED_CORPUS (as the tests use), else ../shared/corpus beside the repository."""
    return Path(os.environ.get("LONDON_LLM_SHARED_CORPUS") or root.parent / "shared" / "corpus")
