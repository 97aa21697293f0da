"""MFU peaks: the vendors' dense figures for the names torch reports, and the CPU peak from the
instruction set and the cores one process really uses."""
from __future__ import annotations

import pytest
import torch

from london_llm.training import mfu as mfu_mod
from london_llm.training.mfu import cpu_flops_per_cycle, cpu_peak_estimate, gpu_peak

T = 1e12
# name as torch.cuda.get_device_name reports it -> dense TFLOP/s as the vendor states it
# (bf16 tensor, no sparsity; fp16 tensor for cards without bf16). Sources: NVIDIA H100 whitepaper
# (SXM5 989.4, PCIe 756), H100 datasheet (NVL 1,671 sparse), H200 datasheet (SXM 1,979 and NVL 1,671
# sparse), A100 / A30 / A40 / L40S / L4 / A10 / V100 / T4 datasheets, Ada whitepaper (RTX 6000 Ada
# 364.2), H20 and H800 product briefs.
VENDOR_DENSE = [
    ("NVIDIA H100 80GB HBM3", 989.4),
    ("NVIDIA H100 PCIe", 756),
    ("NVIDIA H100 NVL", 1671 / 2),
    ("NVIDIA H200", 1979 / 2),
    ("NVIDIA H200 NVL", 1671 / 2),
    ("NVIDIA GH200 480GB", 1979 / 2),
    ("NVIDIA H800", 989),
    ("NVIDIA H800 PCIe", 756),
    ("NVIDIA H20", 148),
    ("NVIDIA A100-SXM4-80GB", 312),
    ("NVIDIA A100 80GB PCIe", 312),
    ("NVIDIA A30", 165),
    ("NVIDIA A40", 149.7),
    ("NVIDIA A10", 125),
    ("NVIDIA L40S", 362),
    ("NVIDIA L40", 181),
    ("NVIDIA L4", 121),
    ("NVIDIA RTX 6000 Ada Generation", 364.2),
    ("NVIDIA RTX A6000", 154.8),
    ("Tesla V100-SXM2-32GB", 125),
    ("Tesla V100-PCIE-16GB", 112),
    ("Tesla T4", 65),
]


@pytest.mark.parametrize("name, tflops", VENDOR_DENSE)
def test_gpu_peak_is_the_vendors_dense_figure(name, tflops):
    peak = gpu_peak(name)
    assert peak.flops == pytest.approx(tflops * T, rel=2e-3), peak.label


def test_an_unknown_card_has_no_peak_rather_than_a_wrong_one():
    assert gpu_peak("NVIDIA A2").flops is None  # not in the table: not matched by A100/A10/A30 rows
    assert gpu_peak("Mystery Accelerator 9000").flops is None


@pytest.mark.parametrize("flags, bf16, per_cycle", [
    ({"sse", "sse2", "avx", "avx2", "fma"}, False, 32),  # 2 FMA pipes x 8 fp32 lanes x 2 FLOP
    ({"avx2", "fma"}, True, 32),  # no native bf16: emulated, no faster
    ({"avx2", "fma", "avx512f", "avx512bw"}, False, 64),  # 2 x 16 x 2
    ({"avx2", "fma", "avx512f", "avx512_bf16"}, True, 128),  # bf16 pairs per fp32 lane
    ({"avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16"}, True, 1024),
    ({"sse", "sse2", "avx"}, False, 16),
])
def test_cpu_flops_per_cycle_follow_the_instruction_set(flags, bf16, per_cycle):
    assert cpu_flops_per_cycle(frozenset(flags), bf16, vendor="GenuineIntel")[0] == per_cycle


def test_zen4_avx512_runs_on_256_bit_pipes():
    assert cpu_flops_per_cycle(frozenset({"avx2", "fma", "avx512f"}), vendor="AuthenticAMD")[0] == 32


def test_cpu_peak_counts_the_cores_this_process_uses(monkeypatch):
    monkeypatch.setattr(mfu_mod, "_cpuinfo_values", lambda: {"siblings": "8", "cpu cores": "8"})
    monkeypatch.setattr(mfu_mod.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    flags = frozenset({"avx2", "fma"})
    monkeypatch.setattr(torch, "get_num_threads", lambda: 4)  # e.g. one of two CPU DDP ranks
    four = cpu_peak_estimate(ghz=2.0, flags=flags)
    assert four.flops == 4 * 2.0e9 * 32 and "4 core(s)" in four.label
    monkeypatch.setattr(torch, "get_num_threads", lambda: 16)  # more threads than allowed cores
    assert cpu_peak_estimate(ghz=2.0, flags=flags).flops == 8 * 2.0e9 * 32
    # two SMT threads of one core share its FMA pipes
    monkeypatch.setattr(mfu_mod, "_cpuinfo_values", lambda: {"siblings": "16", "cpu cores": "8"})
    assert cpu_peak_estimate(ghz=2.0, flags=flags).flops == 4 * 2.0e9 * 32
