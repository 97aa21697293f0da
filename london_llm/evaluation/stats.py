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
    """Exact (Garwood) interval for a Poisson count; (0, 3.689) for a count of 0 at 95%.

    The bounds solve P(X >= count | low) = alpha/2 and P(X <= count | high) = alpha/2, the chi-square
    quantiles chi2.ppf(alpha/2, 2 count)/2 and chi2.ppf(1 - alpha/2, 2 count + 2)/2, found here by
    bisection on the Poisson distribution (importing scipy.stats cost a quick run 1-2 s)."""
    alpha = 1 - confidence
    low = 0.0 if count == 0 else _solve(lambda mu: 1 - _poisson_cdf(count - 1, mu), alpha / 2, count)
    high = _solve(lambda mu: _poisson_cdf(count, mu), alpha / 2, count + 1, decreasing=True)
    return float(low), float(high)


def _poisson_cdf(k: int, mu: float) -> float:
    """P(X <= k) for X ~ Poisson(mu), summed in log space (stable for large counts)."""
    if mu <= 0:
        return 1.0
    log_terms = [i * math.log(mu) - mu - math.lgamma(i + 1) for i in range(k + 1)]
    top = max(log_terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in log_terms))


def _solve(f, target: float, scale: int, decreasing: bool = False) -> float:
    """mu with f(mu) = target for a monotone f on (0, inf), by bisection to machine precision."""
    lo, hi = 0.0, 10.0 * scale + 10.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if (f(mid) > target) != decreasing:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 1e-12 * max(1.0, hi):
            break
    return (lo + hi) / 2


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Student-t interval for a mean; (nan, nan) below two values."""
    from scipy.stats import t

    mean, se = mean_stderr(values)
    if len(values) < 2 or math.isnan(se):
        return math.nan, math.nan
    half = float(t.ppf(0.5 + confidence / 2, len(values) - 1)) * se
    return mean - half, mean + half
