"""Device and numeric precision: what the hardware offers, unless the user says otherwise.

bf16 autocast on GPUs that have it and on CPUs with AVX-512 BF16 / AMX (oneDNN reports it);
fp16 with a GradScaler on older GPUs; fp32 otherwise. TF32 matmuls are always allowed on CUDA.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
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


def cpu_has_bf16() -> bool:
    """True when oneDNN runs bf16 natively here (AVX-512 BF16 or AMX), so autocast is a speed-up."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


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
        has_bf16 = torch.cuda.is_bf16_supported()
        auto = "bf16" if has_bf16 else "fp16"
    elif device.type == "cpu":
        has_bf16 = cpu_has_bf16()
        auto = "bf16" if has_bf16 else "fp32"
        if requested == "fp16":
            raise PrecisionError("--dtype fp16 needs a GPU; on a CPU use bf16 (if supported) or fp32")
    else:
        has_bf16 = False
        auto = "fp32"
    if requested == "auto":
        return Precision(device, auto)
    if requested not in DTYPES:
        raise PrecisionError(f"--dtype must be auto, bf16, fp16 or fp32, not {requested!r}")
    if requested == "bf16" and not has_bf16:
        raise PrecisionError(f"--dtype bf16: this {device.type} has no native bf16; use --dtype fp32"
                             + (" or fp16" if device.type == "cuda" else ""))
    return Precision(device, requested)
