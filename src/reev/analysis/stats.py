"""The statistics of `reev report`: pass@k / pass^k estimators, a seeded cluster bootstrap, paired
comparisons with a Wilcoxon signed-rank test, and the power calculation behind "about N epochs
would be needed".

Everything here works on per-benchmark numbers: a benchmark is the unit that is resampled
(its epochs stay together, so the bootstrap is clustered by benchmark when epochs > 1), and two
agents are paired by benchmark. Random draws come from a `numpy.random.Generator` seeded by the
caller, so a report is reproducible. docs/design-choices.md ("Report and export (issue 19)")
says why each method was chosen.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats as scipy_stats

CONFIDENCE = 0.95
RESAMPLES = 10_000
POWER = 0.80
ALPHA = 0.05
DEFAULT_SEED = 0


def pass_at_k(n: int, c: int, k: int) -> float:
    """Chance that at least one of k samples drawn without replacement from n episodes (c of
    them passed) passes: the unbiased estimator 1 − C(n−c, k) / C(n, k) of Chen et al. (2021)."""
    _check_counts(n, c, k)
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Chance that all k samples drawn without replacement pass: C(c, k) / C(n, k), tau-bench's
    pass^k (Yao et al., 2024). It falls with k for an agent that is not reliable."""
    _check_counts(n, c, k)
    return math.comb(c, k) / math.comb(n, k)


def _check_counts(n: int, c: int, k: int) -> None:
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")


@dataclass(frozen=True)
class Estimate:
    """A statistic with its bootstrap interval."""

    value: float
    low: float
    high: float

    def json(self) -> dict[str, float]:
        return {
            "value": round(self.value, 6),
            "low": round(self.low, 6),
            "high": round(self.high, 6),
        }


def resample_indices(n: int, seed: int, resamples: int = RESAMPLES) -> NDArray[np.int64]:
    """`resamples` rows of n indices drawn with replacement: one row per bootstrap replicate.
    Several statistics of the same benchmarks share the rows, so their intervals agree."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(resamples, n))


def bootstrap_mean(
    values: Sequence[float] | NDArray[np.float64],
    seed: int = DEFAULT_SEED,
    *,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    indices: NDArray[np.int64] | None = None,
) -> Estimate:
    """The mean of per-cluster values (one per benchmark) and its percentile bootstrap interval:
    resample the clusters with replacement, take each replicate's mean, read the
    (1 ± confidence) / 2 quantiles. One value gives a zero-width interval (nothing varies)."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        raise ValueError("no values to bootstrap")
    draws = indices if indices is not None else resample_indices(data.size, seed, resamples)
    means = data[draws].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return Estimate(float(data.mean()), float(low), float(high))


@dataclass(frozen=True)
class Paired:
    """B − A on the benchmarks both agents ran, with its bootstrap interval, the Wilcoxon
    signed-rank test and, when it is not significant, the epochs that would be needed."""

    benchmarks: int
    epochs: int  # the fewest epochs either agent ran of a benchmark
    mean_a: float
    mean_b: float
    difference: Estimate
    p_value: float
    significant: bool
    target_effect: float
    epochs_needed: int | None  # None: more epochs cannot reach the power; more benchmarks can


def paired_comparison(
    a: Mapping[str, Sequence[float]],
    b: Mapping[str, Sequence[float]],
    seed: int = DEFAULT_SEED,
    *,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    min_effect: float = 0.05,
) -> Paired:
    """Compare two agents' scores, `{benchmark_id: [score per epoch]}` each, on the benchmarks
    both ran. The difference is B − A of the per-benchmark means; it is significant when its
    interval excludes 0 and the Wilcoxon test's p is below 1 − confidence."""
    common = sorted(set(a) & set(b))
    if not common:
        raise ValueError("the two agents ran no benchmark in common")
    mean_a = np.array([np.mean(a[k]) for k in common])
    mean_b = np.array([np.mean(b[k]) for k in common])
    diffs = mean_b - mean_a
    estimate = bootstrap_mean(diffs, seed, resamples=resamples, confidence=confidence)
    p = wilcoxon_p(diffs)
    alpha = 1.0 - confidence
    significant = p < alpha and (estimate.low > 0 or estimate.high < 0)
    target = max(abs(estimate.value), min_effect)
    needed = None
    if not significant:
        needed = epochs_needed(
            [list(a[k]) for k in common], [list(b[k]) for k in common], target, alpha=alpha
        )
    return Paired(
        benchmarks=len(common),
        epochs=min(min(len(a[k]), len(b[k])) for k in common),
        mean_a=float(mean_a.mean()),
        mean_b=float(mean_b.mean()),
        difference=estimate,
        p_value=p,
        significant=significant,
        target_effect=target,
        epochs_needed=needed,
    )


def wilcoxon_p(diffs: Sequence[float] | NDArray[np.float64]) -> float:
    """Two-sided p of the Wilcoxon signed-rank test of paired differences around 0. Benchmarks
    on which both agents scored the same carry no sign and are dropped (`zero_method="wilcox"`);
    when every difference is 0 there is no evidence of a difference at all: p = 1."""
    data = np.asarray(diffs, dtype=float)
    nonzero = data[np.abs(data) > 1e-12]
    if nonzero.size == 0:
        return 1.0
    with warnings.catch_warnings():  # scipy warns that small samples use the exact distribution
        warnings.simplefilter("ignore")
        result = scipy_stats.wilcoxon(nonzero, zero_method="wilcox", alternative="two-sided")
    return float(result.pvalue)


def epochs_needed(
    a: Sequence[Sequence[float]],
    b: Sequence[Sequence[float]],
    effect: float,
    *,
    alpha: float = ALPHA,
    power: float = POWER,
) -> int | None:
    """Epochs per benchmark (for both agents) for a two-sided test at level `alpha` to detect a
    mean difference `effect` with probability `power`, on the same benchmarks.

    Model: benchmark b's difference is d_b = δ + u_b + noise, where u_b (how much the gap
    varies between benchmarks, variance σ_u²) does not shrink with epochs and the epoch noise
    of each agent (variance s_A², s_B², pooled within benchmarks) does. With e epochs,
    SE² = (σ_u² + (s_A² + s_B²) / e) / B, and the test has the power when
    SE ≤ effect / (z_{1−α/2} + z_{power}). With one epoch the two parts cannot be told apart:
    all of var(d_b) is taken as epoch noise (σ_u² = 0), so N is the fewest epochs that could
    suffice. None when σ_u² alone is too large, when nothing varies from epoch to epoch, or when
    there are fewer benchmarks than the signed-rank test needs to reach `alpha` at all
    (`min_benchmarks`): then more benchmarks are needed, not more epochs.
    """
    if effect <= 0:
        raise ValueError("effect must be positive")
    n = len(a)
    z = scipy_stats.norm.ppf(1.0 - alpha / 2.0) + scipy_stats.norm.ppf(power)
    diffs = np.array([np.mean(y) - np.mean(x) for x, y in zip(a, b, strict=True)])
    var_d = float(np.var(diffs, ddof=1)) if n > 1 else 0.0
    within_a, within_b = _within_variance(a), _within_variance(b)
    if within_a is None or within_b is None:  # some benchmark ran once: no within estimate
        noise, between = var_d * min(len(x) for x in a), 0.0  # var_d·e: one epoch's noise
    else:
        noise = within_a + within_b
        current = float(
            np.mean([within_a / len(x) + within_b / len(y) for x, y in zip(a, b, strict=True)])
        )
        between = max(0.0, var_d - current)
    if noise <= 0 or n < min_benchmarks(alpha):
        return None  # nothing varies with epochs, or too few benchmarks for the test to reach α
    room = n * (effect / z) ** 2 - between
    if room <= 0:
        return None
    return max(1, math.ceil(noise / room))


def min_benchmarks(alpha: float = ALPHA) -> int:
    """The fewest paired benchmarks with which the exact two-sided signed-rank test can reach p
    < alpha at all: its smallest p, every difference with the same sign, is 2 / 2^n."""
    n = 1
    while 2.0 / 2**n >= alpha:
        n += 1
    return n


def _within_variance(groups: Sequence[Sequence[float]]) -> float | None:
    """The pooled variance of epochs within benchmarks (None if a benchmark has one epoch)."""
    if any(len(g) < 2 for g in groups):
        return None
    dof = sum(len(g) - 1 for g in groups)
    return float(sum(np.var(g, ddof=1) * (len(g) - 1) for g in groups) / dof)
