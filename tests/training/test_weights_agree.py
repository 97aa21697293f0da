"""The end-of-run check that all ranks hold the same weights compares bits, not float sums."""
from __future__ import annotations

import torch

from london_llm.training.distributed import weights_digest


def pair():
    torch.manual_seed(0)
    a = torch.nn.Linear(4, 4)
    b = torch.nn.Linear(4, 4)
    b.load_state_dict(a.state_dict())
    return a, b


def test_identical_weights_have_one_digest():
    a, b = pair()
    assert weights_digest(a) == weights_digest(b)


def test_swapped_values_differ_though_their_sums_agree():
    a, b = pair()
    with torch.no_grad():
        w = b.weight.view(-1)
        w[0], w[1] = w[1].clone(), w[0].clone()
    assert b.weight.double().sum() == a.weight.double().sum()
    assert weights_digest(a) != weights_digest(b)


def test_one_bit_differs():
    a, b = pair()
    with torch.no_grad():
        b.bias[0] = torch.nextafter(b.bias[0], torch.tensor(1.0))
    assert weights_digest(a) != weights_digest(b)
    with torch.no_grad():
        a.bias[1], b.bias[1] = 0.0, -0.0  # equal as floats, not as bits
        b.bias[0] = a.bias[0]
    assert weights_digest(a) != weights_digest(b)
