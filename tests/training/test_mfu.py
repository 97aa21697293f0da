"""london_llm.training.mfu: model FLOPs utilisation against the device's peak."""
from __future__ import annotations

import pytest

from london_llm.training.mfu import Peak, cpu_peak_estimate, gpu_peak, mfu


def test_mfu_is_measured_against_the_detected_card_or_not_at_all():
    assert gpu_peak("NVIDIA H100 80GB HBM3").label == "H100 SXM bf16"
    assert gpu_peak("NVIDIA H100 PCIe").flops == 756e12
    assert gpu_peak("NVIDIA H200").label == "H200 SXM bf16"
    assert gpu_peak("NVIDIA A100-SXM4-80GB").flops == 312e12
    assert gpu_peak("NVIDIA L4").label == "L4 bf16" and gpu_peak("NVIDIA L40S").label == "L40S bf16"
    assert gpu_peak("Tesla V100-SXM2-16GB").label == "V100 SXM2 fp16"
    assert gpu_peak("NVIDIA GeForce RTX 4090").flops == 165.2e12
    unknown = gpu_peak("Mystery Accelerator 9000")
    assert unknown.flops is None and mfu(1e9, 1e3, unknown) is None
    assert "estimate" in cpu_peak_estimate(cores=2).label
    assert mfu(6e6, 1000, Peak(12e9, "x")) == pytest.approx(0.5)
    assert mfu(6e6, 1000, Peak(12e9, "x"), world_size=2) == pytest.approx(0.25)
