"""What every benchmark prints about the machine it ran on, and how it counts CPU time: one CPU line
(model, cores, the instruction sets of note, native bf16), `load before:` / `load after:` lines in
one format, one CPU-seconds clock; and the one way a benchmark measures itself again under another
malloc setting (a child process).

One helper for all bench/ scripts, so their figures name the machine the same way: no other bench
script reads /proc/cpuinfo or the load average itself (tests/scripts/test_bench_machine.py).
"""
from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

# The instruction sets that move this project's speed: SIMD width and FMA pick torch's matmul
# kernels; AVX-512 BF16, AMX and Arm's BF16 make bf16 autocast a speed-up (native bf16); SVE is
# Arm's wide SIMD; SHA-NI is what makes the collector's and the checkpoint manifest's sha256 fast
# (hashlib's OpenSSL uses it where the CPU has it); SSE4.2 and BMI2 mark the x86-64-v2 and -v3
# levels that builds of numpy and other native wheels select their kernels by. A CPU's line names
# those it has and those it lacks, so nothing is assumed.
X86_SETS = ("sse4_2", "bmi2", "sha_ni", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")
ARM_SETS = ("asimd", "sve", "sve2", "bf16")
# native bf16 as london_llm.training.precision.cpu_has_bf16 decides it (without importing torch here;
# tests/scripts/test_bench_machine.py checks the two agree)
X86_NATIVE_BF16 = ("avx512_bf16", "amx_bf16")
# aarch64's /proc/cpuinfo names no model, only implementer and part numbers (those lscpu knows)
ARM_PARTS = {("0x41", "0xd0b"): "Arm Cortex-A76", ("0x41", "0xd0c"): "Arm Neoverse-N1",
             ("0x41", "0xd40"): "Arm Neoverse-V1", ("0x41", "0xd49"): "Arm Neoverse-N2",
             ("0x41", "0xd4f"): "Arm Neoverse-V2", ("0x41", "0xd84"): "Arm Neoverse-V3"}


@dataclass(frozen=True)
class Cpu:
    model: str
    arch: str  # "x86", "arm", or "" where the flags are not known
    flags: frozenset

    @property
    def native_bf16(self) -> Optional[bool]:
        """None where the flags are unknown (no /proc/cpuinfo): not guessed."""
        if self.arch == "x86":
            return any(f in self.flags for f in X86_NATIVE_BF16)
        if self.arch == "arm":
            return "bf16" in self.flags
        return None


def read_cpu(text: Optional[str] = None) -> Cpu:
    """The first processor of /proc/cpuinfo (or of `text`): model, architecture, flags. The only
    place a benchmark reads /proc/cpuinfo."""
    if text is None:
        try:
            text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            if values:  # a blank line ends the first processor's block
                break
            continue
        values.setdefault(key.strip(), value.strip())
    if "flags" in values:
        arch, flags = "x86", values["flags"]
    elif "Features" in values:
        arch, flags = "arm", values["Features"]
    else:
        arch, flags = "", ""
    model = values.get("model name") or values.get("Hardware") or ""
    if not model and arch == "arm":
        part = (values.get("CPU implementer", "?"), values.get("CPU part", "?"))
        model = ARM_PARTS.get(part) or f"Arm CPU (implementer {part[0]}, part {part[1]})"
    if not model:
        model = f"{platform.processor() or platform.machine() or 'unknown CPU'} (no model name in /proc/cpuinfo)"
    return Cpu(model, arch, frozenset(flags.split()))


def cores() -> str:
    """Logical cores, and those this process may use where fewer (an affinity mask, a container)."""
    total = os.cpu_count() or 1
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else total
    return f"{total} cores" + (f" ({usable} usable here)" if usable < total else "")


def cpu_description(cpu: Optional[Cpu] = None, cores_text: Optional[str] = None) -> str:
    """The one CPU line every benchmark prints first:
    "CPU: <model>, <n> cores; instruction sets: <those of note it has> (lacks: <the others>); native bf16: yes|no"."""
    cpu = read_cpu() if cpu is None else cpu
    wanted = {"x86": X86_SETS, "arm": ARM_SETS}.get(cpu.arch)
    if wanted is None:
        sets = "unknown (no flags in /proc/cpuinfo)"
    else:
        have = [f for f in wanted if f in cpu.flags]
        lacks = [f for f in wanted if f not in cpu.flags]
        sets = (" ".join(have) or "none of note") + (f" (lacks: {' '.join(lacks)})" if lacks else "")
    bf16 = {True: "yes", False: "no", None: "unknown"}[cpu.native_bf16]
    return f"CPU: {cpu.model}, {cores_text or cores()}; instruction sets: {sets}; native bf16: {bf16}"


def load(averages: Optional[tuple[float, float, float]] = None) -> str:
    """The 1, 5 and 15 minute load averages on the machine's cores (on a shared machine wall times move
    with them): "0.52 0.61 0.70 (1/5/15 min) on 2 cores"."""
    if averages is None:
        try:
            averages = os.getloadavg()
        except (AttributeError, OSError):  # not on every platform
            return f"unavailable on {os.cpu_count() or 1} cores"
    one, five, fifteen = averages
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min) on {os.cpu_count() or 1} cores"


def load_line(when: str, averages: Optional[tuple[float, float, float]] = None) -> str:
    """"load before: ...", "load after: ...": the lines around every benchmark's figures."""
    return f"load {when}: {load(averages)}"


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (all its threads) and of its children waited for: the
    figure another job's load cannot inflate. Take differences; a child counts once it has been reaped."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


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
