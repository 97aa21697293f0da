"""Rates and intervals by hand."""
from __future__ import annotations

import math

import pytest


def test_rate_interval_is_the_exact_poisson_one():
    from london_llm.evaluation.stats import poisson_interval, ratio_stderr

    low, high = poisson_interval(3)
    assert (low, high) == (pytest.approx(0.6187, abs=1e-4), pytest.approx(8.7673, abs=1e-4))
    assert poisson_interval(0)[1] == pytest.approx(3.6889, abs=1e-4)
    rate, se = ratio_stderr([1000, 2000, 0], [100, 100, 100])  # 3 hits in 300 words
    assert rate == pytest.approx(10.0)
    # residuals a - 10 b = 0, 1000, -1000: variance 1e6 (n-1 = 2), stderr sqrt(1e6 / 3) / mean words 100
    assert se == pytest.approx(math.sqrt(1e6 / 3) / 100, rel=1e-9)


@pytest.mark.parametrize("count", [0, 1, 2, 7, 50, 1000])
def test_poisson_interval_equals_the_chi_square_quantiles(count):
    from scipy.stats import chi2

    from london_llm.evaluation.stats import poisson_interval

    low, high = poisson_interval(count)
    assert low == pytest.approx(0.0 if count == 0 else chi2.ppf(0.025, 2 * count) / 2, rel=1e-9, abs=1e-12)
    assert high == pytest.approx(chi2.ppf(0.975, 2 * count + 2) / 2, rel=1e-9)
