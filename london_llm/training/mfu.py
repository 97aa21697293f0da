"""Model FLOPs utilisation: achieved FLOPs against the detected accelerator's dense bf16 peak.

Peak figures are the vendors' dense (no sparsity) tensor-core numbers. Unknown GPUs and CPUs
report MFU as unknown (None) unless a peak is given, so nothing is ever measured against the
wrong card.
"""
from __future__ import annotations

import math
import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch

from london_llm.training.precision import cpu_flags

# (pattern matched against torch.cuda.get_device_name, dense FLOP/s, label). First match wins, so
# the more specific names come first. Each figure is the vendor's dense (no sparsity) bf16 tensor
# figure (fp16 for cards without bf16), i.e. half the "with sparsity" number the datasheets headline:
#   NVIDIA H100 Tensor Core GPU architecture whitepaper: SXM5 989.4, PCIe 756 dense bf16 (1,978.9 / 1,513
#   with sparsity); H100 datasheet: NVL 1,671 TFLOPS bf16 with sparsity
#   NVIDIA H200 Tensor Core GPU datasheet: SXM 1,979 / NVL 1,671 with sparsity
#   NVIDIA GH200 Grace Hopper Superchip datasheet: 1,979 with sparsity (the H100/H200 SXM-class GPU)
#   NVIDIA H800 (the H100 for China, same tensor rates): SXM 989.4 / PCIe 756; H20: 148 dense
#   NVIDIA A100 datasheet: 312 (624 sparse), A800 the same; A30 datasheet: 165 (330); A40: 149.7 (299.4)
#   A10 datasheet: 125 (250); L40S datasheet: 362.05 (733); L40: 181.05 (362.1); L4: 121 (242)
#   NVIDIA Ada GPU architecture whitepaper (bf16 with fp32 accumulate): RTX 6000 Ada 364.2, RTX 4090 165.2
#   NVIDIA Ampere GA102 whitepaper: RTX A6000 154.8, RTX 3090 71 (fp32 accumulate)
#   NVIDIA HGX B200 datasheet: 4.5 PFLOPS fp16/bf16 with sparsity per GPU -> 2.25 dense
#   NVIDIA V100 datasheet (fp16 tensor): SXM2 125, PCIe 112, V100S 130; T4 datasheet: 65 fp16
#   AMD Instinct MI300X datasheet: 1,307.4 fp16/bf16 dense; MI250X: 383
GPU_PEAKS: list[tuple[str, float, str]] = [
    (r"GH200", 989.5e12, "GH200 bf16"),
    (r"H200.*NVL", 835.5e12, "H200 NVL bf16"),
    (r"H200", 989.5e12, "H200 SXM bf16"),
    (r"H100.*(PCIe|PCIE)", 756e12, "H100 PCIe bf16"),
    (r"H100.*NVL", 835.5e12, "H100 NVL bf16"),
    (r"H100", 989.4e12, "H100 SXM bf16"),
    (r"H800.*(PCIe|PCIE)", 756e12, "H800 PCIe bf16"),
    (r"H800", 989.4e12, "H800 SXM bf16"),
    (r"H20\b", 148e12, "H20 bf16"),
    (r"B200", 2250e12, "B200 bf16"),
    (r"A100", 312e12, "A100 bf16"),
    (r"A800", 312e12, "A800 bf16"),
    (r"A30\b", 165e12, "A30 bf16"),
    (r"A40\b", 149.7e12, "A40 bf16"),
    (r"L40S", 362.05e12, "L40S bf16"),
    (r"L40\b", 181.05e12, "L40 bf16"),
    (r"L4\b", 121e12, "L4 bf16"),
    (r"A10\b", 125e12, "A10 bf16"),
    (r"RTX 6000 Ada", 364.2e12, "RTX 6000 Ada bf16"),
    (r"RTX A6000", 154.8e12, "RTX A6000 bf16"),
    (r"4090", 165.2e12, "RTX 4090 bf16"),
    (r"3090", 71e12, "RTX 3090 bf16"),
    (r"V100S", 130e12, "V100S fp16"),
    (r"V100.*(PCIe|PCIE)", 112e12, "V100 PCIe fp16"),
    (r"V100", 125e12, "V100 SXM2 fp16"),
    (r"T4\b", 65e12, "T4 fp16"),
    (r"MI300X", 1307.4e12, "MI300X bf16"),
    (r"MI250X", 383e12, "MI250X bf16"),
]


@dataclass(frozen=True)
class Peak:
    flops: Optional[float]  # FLOP/s per device, None when unknown
    label: str  # what the figure is, e.g. "H100 SXM bf16", or why it is unknown


def gpu_peak(name: str) -> Peak:
    for pattern, flops, label in GPU_PEAKS:
        if re.search(pattern, name, re.I):
            return Peak(flops, label)
    return Peak(None, f"unknown GPU {name!r}: MFU not reported (give --peak_flops)")


def cpu_flops_per_cycle(flags: frozenset[str], bf16: bool = False, vendor: str = "") -> tuple[int, str]:
    """Peak FLOP per cycle per core for the instruction set in `flags` -> (FLOP, what it assumes).

    One FMA is two FLOP; a core has two FMA pipes on every x86 design this counts (Intel since
    Haswell, AMD since Zen 2). fp32 lanes per pipe: 16 for AVX-512 (Zen 4 splits 512-bit work over
    its 256-bit pipes, so 8 there), 8 for AVX2. bf16: AVX-512 BF16's dot product does two products
    per fp32 lane (twice the fp32 rate); AMX's tile unit does 1,024 bf16 FLOP per cycle per core
    (Intel's figure for Sapphire Rapids). Lower-end parts with one AVX-512 pipe reach half of this.
    """
    amd = vendor == "AuthenticAMD"
    if "avx512f" in flags:
        lanes = 8 if amd and "avx512_vp2intersect" not in flags else 16  # Zen 4: 256-bit pipes; Zen 5: full
        fp32 = 2 * lanes * 2
        what = f"AVX-512 FMA, 2 pipes x {lanes} fp32 lanes x 2"
    elif "avx2" in flags and "fma" in flags:
        fp32, what = 2 * 8 * 2, "AVX2 FMA, 2 pipes x 8 fp32 lanes x 2"
    elif "avx" in flags:
        fp32, what = 8 + 8, "AVX without FMA: 8 adds + 8 multiplies"
    elif "asimd" in flags or platform.machine().lower() in ("aarch64", "arm64"):
        fp32, what = 2 * 4 * 2, "Arm NEON, 2 pipes x 4 fp32 lanes x 2"
    else:
        fp32, what = 4 + 4, "SSE: 4 adds + 4 multiplies"
    if not bf16:
        return fp32, what + " (fp32)"
    if "amx_bf16" in flags:
        return 1024, "AMX bf16 tiles, 1024 per core"
    if "avx512_bf16" in flags:
        return 2 * fp32, what + " x 2 (AVX-512 BF16 dot products)"
    return fp32, what + " (bf16 emulated: no faster than fp32)"


def cpu_clock_ghz() -> tuple[float, str]:
    """The nominal clock: the base frequency Linux reports, else /proc/cpuinfo's MHz, else 2.0 assumed."""
    base = Path("/sys/devices/system/cpu/cpu0/cpufreq/base_frequency")
    try:
        return int(base.read_text().strip()) / 1e6, "base clock"
    except (OSError, ValueError):
        pass
    info = _cpuinfo_values()
    try:
        return float(info["cpu MHz"]) / 1000, "clock from /proc/cpuinfo"
    except (KeyError, ValueError):
        return 2.0, "clock assumed"


def _cpuinfo_values() -> dict[str, str]:
    """The first processor's 'key: value' lines of /proc/cpuinfo (empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        values.setdefault(key.strip(), value.strip())
    return values


def rank_cores() -> int:
    """Physical cores this process computes on: its torch threads, within its CPU affinity, with SMT
    siblings (two threads of one core share its FMA pipes) counted once."""
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = max(1, min(torch.get_num_threads(), allowed))
    info = _cpuinfo_values()
    try:
        smt = max(1, int(info["siblings"]) // int(info["cpu cores"]))
    except (KeyError, ValueError, ZeroDivisionError):
        smt = 1
    return max(1, math.ceil(threads / smt))


def cpu_peak_estimate(cores: Optional[int] = None, ghz: Optional[float] = None, bf16: bool = False,
                      flags: Optional[frozenset[str]] = None) -> Peak:
    """CPU peak of one process: cores x GHz x FLOP/cycle for the detected instruction set. An
    estimate, labelled so: sustained vector clocks are often below the nominal one."""
    cores = cores or rank_cores()
    clock_note = "clock given"
    if ghz is None:
        ghz, clock_note = cpu_clock_ghz()
    flags = cpu_flags() if flags is None else flags
    per_cycle, what = cpu_flops_per_cycle(flags, bf16, _cpuinfo_values().get("vendor_id", ""))
    return Peak(cores * ghz * 1e9 * per_cycle,
                f"CPU estimate: {cores} core(s) x {ghz:.2f} GHz ({clock_note}) x {per_cycle} FLOP/cycle ({what})")


def device_peak(device: torch.device, precision: str = "bf16", override: Optional[float] = None) -> Peak:
    """The peak to measure MFU against on `device`: an explicit override, the GPU table, or a CPU estimate."""
    if override:
        return Peak(float(override), "given peak")
    if device.type == "cuda":
        return gpu_peak(torch.cuda.get_device_name(device))
    if device.type == "cpu":
        return cpu_peak_estimate(bf16=precision == "bf16")
    return Peak(None, f"{device.type}: peak unknown, MFU not reported")


def mfu(flops_per_token: float, tokens_per_sec: float, peak: Peak, world_size: int = 1) -> Optional[float]:
    """Fraction of peak achieved (tokens_per_sec across all devices), or None when the peak is unknown."""
    if not peak.flops:
        return None
    return flops_per_token * tokens_per_sec / (peak.flops * world_size)
