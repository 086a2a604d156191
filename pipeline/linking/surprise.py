"""Tail probabilities as surprise, -log10 p, in numpy: the one currency every piece of
linking evidence is weighed in.

In: arrays of observed counts with their chance means (negative binomial or Poisson),
trials and a share (binomial), or summed surprises and their number of components
(Fisher); a family of tests' surprises (Benjamini-Hochberg). Out: arrays of surprise,
exact deep into the tail where p underflows a float; the bar a family of tests must reach.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import betainc, gammainc, gammaincc, gammaln


def count_surprise(count: np.ndarray, mean: np.ndarray, size: np.ndarray) -> np.ndarray:
    """-log10 P(X >= count) for X negative binomial with this mean and ``size`` (variance
    mean + mean^2 / size): the regularized incomplete beta function I_x(count, size) at
    x = mean / (mean + size); count may be fractional (a band count divided by the bands
    per prompt). A very large size is Poisson. Below 1e-300 the probability of the count
    itself takes over, which never underflows."""
    mean = np.maximum(mean, 1e-12)
    size = np.clip(size, 1e-6, 1e12)
    x = mean / (mean + size)
    tail = betainc(count, size, x)
    lead = (gammaln(count + size) - gammaln(count + 1) - gammaln(size)
            + size * np.log1p(-x) + count * np.log(x)) / math.log(10)
    with np.errstate(divide="ignore"):
        exact = -np.log10(tail)
    return np.where(tail > 1e-300, exact, -lead).clip(0.0, None)


def binomial_surprise(count: np.ndarray, trials: np.ndarray, share: np.ndarray) -> np.ndarray:
    """-log10 P(X >= count) for X binomial with ``trials`` and probability ``share``: the
    regularized incomplete beta function I_share(count, trials - count + 1); counts may be
    fractional (bands per prompt), a count of 0 is no surprise. Below 1e-300 the
    probability of the count itself takes over, as in ``count_surprise``."""
    k = np.clip(count, 0.0, trials)
    p = np.clip(share, 1e-300, 1.0)
    positive = k > 0
    k = np.where(positive, k, 1.0)
    tail = betainc(k, trials - k + 1.0, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        lead = (gammaln(trials + 1) - gammaln(k + 1) - gammaln(trials - k + 1)
                + k * np.log(p) + (trials - k) * np.log1p(-np.minimum(p, 1 - 1e-16))) \
            / math.log(10)
        exact = -np.log10(tail)
    surprise = np.where(tail > 1e-300, exact, -lead)
    return np.where(positive, surprise, 0.0).clip(0.0, None)


def poisson_surprise(count: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """-log10 P(X >= count) for X Poisson with this mean: the regularized lower incomplete
    gamma P(count, mean); a count of 0 is no surprise. Below 1e-300 the probability of the
    count itself takes over, as in ``count_surprise``."""
    mean = np.maximum(mean, 1e-300)
    positive = count > 0
    k = np.where(positive, count, 1.0)
    tail = gammainc(k, mean)
    lead = (-mean + k * np.log(mean) - gammaln(k + 1)) / math.log(10)
    with np.errstate(divide="ignore"):
        exact = -np.log10(tail)
    return np.where(positive, np.where(tail > 1e-300, exact, -lead), 0.0).clip(0.0, None)


def fisher_surprise(surprise: np.ndarray, components: np.ndarray) -> np.ndarray:
    """-log10 of Fisher's combined p-value of ``components`` independent tests whose
    surprises sum to ``surprise``: the chi-square(2m) tail of -2 sum ln p, which is the
    regularized upper gamma Q(m, ln(10) * surprise). Leading term below 1e-300."""
    x = surprise * math.log(10)
    tail = gammaincc(components, x)
    lead = (-x + (components - 1) * np.log(np.maximum(x, 1e-300)) - gammaln(components)) \
        / math.log(10)
    with np.errstate(divide="ignore"):
        exact = -np.log10(tail)
    return np.where(tail > 1e-300, exact, -lead).clip(0.0, None)


def hochberg_bar(surprise: np.ndarray, alpha: float, tests: int | None = None) -> float:
    """The surprise (-log10 p) a test needs under Benjamini-Hochberg at ``alpha`` over
    ``tests`` tests (default: those given; more when the rest are known to be p = 1):
    -log10(k alpha / tests) at the largest rank k (strongest first) whose surprise reaches
    it; infinite when none does. With one test passing it is Bonferroni's bar; with many
    it falls, so evidence that is modest alone counts where many tests show it."""
    ranked = np.sort(np.asarray(surprise, dtype=np.float64))[::-1]
    m = len(ranked) if tests is None else max(tests, len(ranked))
    line = -np.log10(np.arange(1, len(ranked) + 1, dtype=np.float64) * alpha / m)
    passing = ranked >= line
    return float(line[passing].min()) if passing.any() else math.inf
