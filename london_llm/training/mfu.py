"""Model FLOPs utilisation: achieved FLOPs against the detected accelerator's dense bf16 peak.

Peak figures are the vendors' dense (no sparsity) tensor-core numbers. Unknown GPUs and CPUs
report MFU as unknown (None) unless a peak is given, so nothing is ever measured against the
wrong card.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Optional

import torch

# (pattern matched against torch.cuda.get_device_name, peak dense FLOP/s, label). First match wins,
# so the more specific names come first.
GPU_PEAKS: list[tuple[str, float, str]] = [
    (r"H200", 989e12, "H200 bf16"),
    (r"GH200", 989e12, "GH200 bf16"),
    (r"H100.*(PCIe|PCIE)", 756e12, "H100 PCIe bf16"),
    (r"H100.*NVL", 835e12, "H100 NVL bf16"),
    (r"H100", 989e12, "H100 SXM bf16"),
    (r"H800", 989e12, "H800 bf16"),
    (r"B200", 2250e12, "B200 bf16"),
    (r"A100", 312e12, "A100 bf16"),
    (r"A800", 312e12, "A800 bf16"),
    (r"L40S", 362e12, "L40S bf16"),
    (r"L40", 181e12, "L40 bf16"),
    (r"L4\b", 121e12, "L4 bf16"),
    (r"A10G", 70e12, "A10G bf16"),
    (r"A10\b", 125e12, "A10 bf16"),
    (r"A6000", 155e12, "RTX A6000 bf16"),
    (r"4090", 165e12, "RTX 4090 bf16"),
    (r"3090", 71e12, "RTX 3090 bf16"),
    (r"V100", 125e12, "V100 fp16"),
    (r"T4\b", 65e12, "T4 fp16"),
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


def cpu_peak_estimate(cores: Optional[int] = None, ghz: float = 2.0, bf16: bool = False) -> Peak:
    """Rough CPU peak: cores x GHz x FLOPs/cycle (AVX-512 FMA: 2 units x 16 fp32 x 2 = 64; bf16 dot
    products double it). An estimate, labelled so; clock speed is assumed, not measured."""
    if not cores:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    per_cycle = 128 if bf16 else 64
    return Peak(cores * ghz * 1e9 * per_cycle,
                f"CPU estimate: {cores} cores x {ghz} GHz x {per_cycle} FLOP/cycle ({'bf16' if bf16 else 'fp32'})")


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
