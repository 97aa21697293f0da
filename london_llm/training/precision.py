"""Device and numeric precision: what the hardware offers, unless the user says otherwise.

bf16 autocast only where the hardware computes in bf16 natively: GPUs of compute capability 8.0 and
up (Ampere, Ada, Hopper, Blackwell; ROCm cards torch reports as native) and CPUs with AVX-512 BF16,
AMX or Arm's BF16 extension. Elsewhere torch and oneDNN emulate bf16, which is slower than what it
replaces, so `auto` picks fp16 with a GradScaler on older GPUs and fp32 on other CPUs, and an explicit
`--dtype bf16` there is refused with the reason. TF32 matmuls are always allowed on CUDA.
"""
from __future__ import annotations

import contextlib
import functools
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch

from london_llm.errors import LondonLLMError

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


class PrecisionError(LondonLLMError, ValueError):
    """The requested device or dtype is not available on this machine."""


@dataclass(frozen=True)
class Precision:
    device: torch.device
    name: str  # bf16 | fp16 | fp32

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES[self.name]

    @property
    def needs_grad_scaler(self) -> bool:
        return self.name == "fp16"

    def autocast(self):
        """The autocast context for forward passes (a no-op for fp32)."""
        if self.name == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def grad_scaler(self) -> "torch.amp.GradScaler":
        return torch.amp.GradScaler(self.device.type, enabled=self.needs_grad_scaler)


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's instruction-set flags as Linux lists them (x86 "flags", Arm "Features"); empty elsewhere."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


CPU_NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # x86; on Arm (aarch64) the flag is "bf16"


def cpu_has_bf16(flags: Optional[frozenset[str]] = None) -> bool:
    """True when this CPU computes bf16 natively (AVX-512 BF16, AMX, Arm BF16), so autocast is a speed-up.

    Not oneDNN's own "bf16 supported", which is also true on plain AVX-512 (AVX512BW/VL/DQ) where it
    emulates bf16 by conversion, at a loss against fp32."""
    flags = cpu_flags() if flags is None else flags
    if any(f in flags for f in CPU_NATIVE_BF16_FLAGS):
        return True
    return "bf16" in flags and platform.machine().lower() in ("aarch64", "arm64")


def cuda_bf16_problem(device: torch.device) -> Optional[str]:
    """None when the GPU has native bf16; otherwise why not (to be shown to the user)."""
    if getattr(torch.version, "hip", None):  # ROCm: torch knows which cards have it
        if torch.cuda.is_bf16_supported(including_emulation=False):
            return None
        return f"{torch.cuda.get_device_name(device)} has no native bf16"
    major, minor = torch.cuda.get_device_capability(device)
    if (major, minor) >= (8, 0):
        return None
    return (f"{torch.cuda.get_device_name(device)} (compute capability {major}.{minor}) has no native bf16: "
            "it needs 8.0 (Ampere) or newer, and torch would emulate it, slower than fp16")


def choose_device(requested: Optional[str] = None, local_rank: int = 0) -> torch.device:
    """`requested` (cpu, cuda, cuda:1, mps) or the best available; under torchrun, cuda:<local_rank>."""
    if requested and requested != "auto":
        device = torch.device(requested)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise PrecisionError(f"--device {requested}: CUDA is not available on this machine; use --device cpu")
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", local_rank)
        return device
    if torch.cuda.is_available():
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def choose_precision(device: torch.device, requested: str = "auto") -> Precision:
    """bf16 / fp16 / fp32 for `device`; `requested` other than auto is honoured or refused clearly."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        problem = cuda_bf16_problem(device)
        has_bf16 = problem is None
        auto = "bf16" if has_bf16 else "fp16"
    elif device.type == "cpu":
        has_bf16 = cpu_has_bf16()
        problem = None if has_bf16 else ("this CPU has neither AVX-512 BF16 nor AMX (nor Arm BF16), so bf16 "
                                         "would be emulated, slower than fp32")
        auto = "bf16" if has_bf16 else "fp32"
        if requested == "fp16":
            raise PrecisionError("--dtype fp16 needs a GPU; on a CPU use bf16 (if supported) or fp32")
    else:
        has_bf16 = False
        problem = f"bf16 is not supported on {device.type} by this project"
        auto = "fp32"
    if requested == "auto":
        return Precision(device, auto)
    if requested not in DTYPES:
        raise PrecisionError(f"--dtype must be auto, bf16, fp16 or fp32, not {requested!r}")
    if requested == "bf16" and not has_bf16:
        raise PrecisionError(f"--dtype bf16 refused: {problem}. Use --dtype auto"
                             + (" (fp16 with a GradScaler here) or fp16/fp32" if device.type == "cuda" else
                                " (fp32 here) or fp32"))
    return Precision(device, requested)
