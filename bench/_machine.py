"""What every benchmark prints about the machine it ran on: CPU model and flags, cores, load; and
the one way a benchmark measures itself again under another malloc setting (a child process).

One helper for all bench/ scripts, so their figures name the machine the same way.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

# The instruction-set extensions that move these benchmarks' numbers (SIMD widths, FMA, SHA).
FLAGS_OF_NOTE = ("avx512f", "avx512bw", "avx2", "avx", "fma", "sse4_2", "bmi2", "sha_ni", "asimd", "sve")
# those that pick torch's matmul and attention kernels (the model benchmarks: inference, evaluation)
MODEL_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16", "neon")


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


def cpu_line() -> str:
    """One line: model, logical cores and the flags of note."""
    shown = [f for f in FLAGS_OF_NOTE if f in cpu_flags()]
    return f"CPU: {cpu_model()}; {os.cpu_count()} logical cores; flags of note: {' '.join(shown) or 'none'}"


def cpu_description() -> str:
    """Two lines: cpu_line(), then every flag."""
    return f"{cpu_line()}\nCPU flags (all): {' '.join(cpu_flags()) or 'unavailable'}"


def cpu_summary(extra: str = "") -> str:
    """One line: "CPU <model> (<n> cores; flags <the model benchmarks' flags it has>[; extra])"."""
    flags = cpu_flags()
    shown = " ".join(f for f in MODEL_FLAGS if f in flags) or "none of " + "/".join(MODEL_FLAGS)
    return f"CPU {cpu_model()} ({os.cpu_count()} cores; flags {shown}{'; ' + extra if extra else ''})"


def load() -> str:
    """The 1, 5 and 15 minute load averages (on a shared machine wall times move with them)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def default_corpus_dir(root: Path) -> Path:
    """$LONDON_LLM_SHARED_CORPUS (as the tests use), else ../shared/corpus beside the repository."""
    return Path(os.environ.get("LONDON_LLM_SHARED_CORPUS") or root.parent / "shared" / "corpus")


def set_allocator(choice: str) -> str:
    """Before any model is loaded: glibc's malloc as a benchmark's --allocator says; returns what is in force."""
    from london_llm.allocator import keep_tensor_memory_warm

    if choice == "default":
        os.environ["LONDON_LLM_MALLOC"] = "default"  # so the code measured, if it tunes malloc itself, does not
        return "glibc malloc defaults"
    return keep_tensor_memory_warm() if choice == "tuned" else "as the inference core leaves it"


class ChildFailed(RuntimeError):
    """rerun_with_allocator's child exited non-zero, or its last stdout line was no JSON object."""


def rerun_with_allocator(script, allocator: str, args: list[str]) -> tuple[dict, list[str]]:
    """`script` again in a child process, with `args` and `--allocator ALLOCATOR` (malloc's settings
    are process-wide): the JSON object it printed last, and its stdout lines before that. "default"
    sets LONDON_LLM_MALLOC=default (london_llm/allocator.py then keeps glibc's); others unset it.
    The child applies its --allocator with set_allocator."""
    env = {k: v for k, v in os.environ.items() if k != "LONDON_LLM_MALLOC"}
    if allocator == "default":
        env["LONDON_LLM_MALLOC"] = "default"
    done = subprocess.run([sys.executable, str(script), *args, "--allocator", allocator], env=env,
                          capture_output=True, text=True)
    lines = done.stdout.rstrip().splitlines()
    try:
        result = json.loads(lines[-1]) if done.returncode == 0 else None
    except (ValueError, IndexError):
        result = None
    if not isinstance(result, dict):
        tail = " | ".join(done.stderr.strip().splitlines()[-3:]) or f"nothing on stderr, stdout ending {lines[-1:]}"
        raise ChildFailed(f"the child {Path(script).name} --allocator {allocator} failed "
                          f"(exit {done.returncode}): {tail}")
    return result, lines[:-1]
