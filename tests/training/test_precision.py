"""london_llm.training.precision: device and dtype choices."""
from __future__ import annotations

import pytest
import torch

from london_llm.training.precision import PrecisionError, choose_device, choose_precision, cpu_has_bf16


def test_precision_choice_honours_the_hardware():
    cpu = torch.device("cpu")
    assert choose_precision(cpu, "fp32").name == "fp32"
    auto = choose_precision(cpu, "auto")
    assert auto.name == ("bf16" if cpu_has_bf16() else "fp32")
    with pytest.raises(PrecisionError, match="fp16 needs a GPU"):
        choose_precision(cpu, "fp16")
    if not torch.cuda.is_available():
        with pytest.raises(PrecisionError, match="CUDA is not available"):
            choose_device("cuda")
    assert not auto.grad_scaler().is_enabled()
