"""Small statistics every metric needs: mean with standard error, ratio estimates, rate intervals."""
from __future__ import annotations

import math
from typing import Sequence

Z95 = 1.959963984540054


def mean_stderr(values: Sequence[float]) -> tuple[float, float]:
    """Mean and its standard error (sample standard deviation / sqrt(n)); (nan, nan) for no values."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    mean = sum(values) / n
    if n == 1:
        return mean, math.nan
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def ratio_stderr(numerators: Sequence[float], denominators: Sequence[float]) -> tuple[float, float]:
    """sum(num) / sum(den) and its standard error by the delta method over items (documents).

    The right error for a pooled rate such as bits per byte or anachronisms per word, where each
    item contributes its own numerator and size."""
    n = len(numerators)
    total_num, total_den = float(sum(numerators)), float(sum(denominators))
    if n == 0 or total_den == 0:
        return math.nan, math.nan
    ratio = total_num / total_den
    if n == 1:
        return ratio, math.nan
    mean_den = total_den / n
    resid = [(a - ratio * b) for a, b in zip(numerators, denominators)]
    var = sum(r * r for r in resid) / (n - 1)
    return ratio, math.sqrt(var / n) / mean_den


def poisson_interval(count: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval for a Poisson count; (0, 3.689) for a count of 0 at 95%."""
    from scipy.stats import chi2

    alpha = 1 - confidence
    low = 0.0 if count == 0 else chi2.ppf(alpha / 2, 2 * count) / 2
    high = chi2.ppf(1 - alpha / 2, 2 * (count + 1)) / 2
    return float(low), float(high)


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Student-t interval for a mean; (nan, nan) below two values."""
    from scipy.stats import t

    mean, se = mean_stderr(values)
    if len(values) < 2 or math.isnan(se):
        return math.nan, math.nan
    half = float(t.ppf(0.5 + confidence / 2, len(values) - 1)) * se
    return mean - half, mean + half
