"""Precision choice: bf16 only where the hardware has it natively, checked on simulated GPUs and CPUs."""
from __future__ import annotations

import pytest
import torch

from london_llm.training import precision as prec
from london_llm.training.precision import PrecisionError, choose_precision, cpu_has_bf16

CUDA0 = torch.device("cuda", 0)


def simulate_gpu(monkeypatch, name: str, capability: tuple[int, int]):
    monkeypatch.setattr(torch.version, "hip", None, raising=False)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
    # what torch itself answers by default on such a card: emulation counts as support
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)


def test_pre_ampere_gpu_gets_fp16_with_a_grad_scaler_and_bf16_is_refused(monkeypatch):
    simulate_gpu(monkeypatch, "Tesla V100-SXM2-32GB", (7, 0))
    auto = choose_precision(CUDA0, "auto")
    assert auto.name == "fp16" and auto.needs_grad_scaler
    with pytest.raises(PrecisionError, match=r"compute capability 7\.0.*no native bf16.*8\.0"):
        choose_precision(CUDA0, "bf16")
    assert choose_precision(CUDA0, "fp32").name == "fp32"
    assert choose_precision(CUDA0, "fp16").name == "fp16"


def test_turing_is_refused_too(monkeypatch):
    simulate_gpu(monkeypatch, "Tesla T4", (7, 5))
    assert choose_precision(CUDA0, "auto").name == "fp16"
    with pytest.raises(PrecisionError, match="Tesla T4"):
        choose_precision(CUDA0, "bf16")


@pytest.mark.parametrize("name, capability", [("NVIDIA A100-SXM4-80GB", (8, 0)), ("NVIDIA A10", (8, 6)),
                                              ("NVIDIA H100 80GB HBM3", (9, 0))])
def test_ampere_and_newer_get_bf16_without_a_scaler(monkeypatch, name, capability):
    simulate_gpu(monkeypatch, name, capability)
    auto = choose_precision(CUDA0, "auto")
    assert auto.name == "bf16" and not auto.needs_grad_scaler
    assert choose_precision(CUDA0, "bf16").name == "bf16"
    assert torch.backends.cuda.matmul.allow_tf32


def test_cpu_bf16_only_with_native_instructions():
    # plain AVX-512 (which oneDNN counts as bf16-capable, by emulation) is not native bf16
    assert not cpu_has_bf16(frozenset({"avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq"}))
    assert not cpu_has_bf16(frozenset({"avx2", "fma"}))
    assert cpu_has_bf16(frozenset({"avx512f", "avx512_bf16"}))
    assert cpu_has_bf16(frozenset({"avx512f", "amx_tile", "amx_bf16"}))


def test_cpu_without_native_bf16_defaults_to_fp32_and_refuses_bf16(monkeypatch):
    monkeypatch.setattr(prec, "cpu_flags", lambda: frozenset({"avx2", "fma", "avx512f", "avx512bw"}))
    cpu = torch.device("cpu")
    assert choose_precision(cpu, "auto").name == "fp32"
    with pytest.raises(PrecisionError, match="AVX-512 BF16 nor AMX"):
        choose_precision(cpu, "bf16")
    monkeypatch.setattr(prec, "cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    assert choose_precision(cpu, "auto").name == "bf16"
