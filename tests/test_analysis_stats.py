"""`reev.analysis.stats` against cases computed by hand: the pass@k / pass^k estimators, the
bootstrap interval of a tiny sample whose resampling distribution is known exactly, the paired
difference and its signed-rank test, and the epochs-needed power calculation."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from reev.analysis import stats


def test_pass_at_k_is_the_unbiased_estimator():
    # n = 5 episodes, c = 2 passed, k = 2: 1 − C(3, 2) / C(5, 2) = 1 − 3/10
    assert stats.pass_at_k(5, 2, 2) == pytest.approx(0.7)
    assert stats.pass_at_k(5, 2, 1) == pytest.approx(2 / 5)  # pass@1 is the pass rate
    assert stats.pass_at_k(5, 0, 3) == 0.0
    assert stats.pass_at_k(5, 4, 2) == 1.0  # C(1, 2) = 0: any 2 of 5 include a pass


def test_pass_hat_k_is_all_k_pass():
    # C(2, 2) / C(5, 2) = 1/10; C(4, 3) / C(5, 3) = 4/10
    assert stats.pass_hat_k(5, 2, 2) == pytest.approx(0.1)
    assert stats.pass_hat_k(5, 4, 3) == pytest.approx(0.4)
    assert stats.pass_hat_k(3, 3, 3) == 1.0
    assert stats.pass_hat_k(4, 2, 1) == stats.pass_at_k(4, 2, 1)  # both are c/n at k = 1


@pytest.mark.parametrize(("n", "c", "k"), [(3, 4, 1), (3, 1, 0), (3, 1, 4), (2, -1, 1)])
def test_impossible_counts_are_refused(n, c, k):
    with pytest.raises(ValueError, match="need 0 <= c <= n"):
        stats.pass_at_k(n, c, k)


def test_bootstrap_of_a_constant_has_no_width():
    est = stats.bootstrap_mean([0.4, 0.4, 0.4], seed=1)
    assert (est.value, est.low, est.high) == pytest.approx((0.4, 0.4, 0.4))


def test_bootstrap_bounds_of_a_tiny_sample_are_the_exact_quantiles():
    """Values [0, 0, 0, 1]: a resample's mean is j/4 where j ~ Binomial(4, 1/4). P(j = 0) =
    0.316 > 2.5 %, so the lower bound is 0; P(j = 4) = 0.004 < 2.5 % ≤ P(j ≥ 3) = 0.051, so the
    upper bound is 3/4. 10,000 resamples estimate those tails to about ±0.002."""
    tail = [math.comb(4, j) * 0.25**j * 0.75 ** (4 - j) for j in range(5)]
    assert tail[0] > 0.025 and tail[4] < 0.025 < tail[3] + tail[4]
    est = stats.bootstrap_mean([0, 0, 0, 1], seed=7)
    assert est.value == 0.25
    assert (est.low, est.high) == (0.0, 0.75)


def test_bootstrap_is_reproducible_from_its_seed():
    values = [0.1, 0.9, 0.5, 0.3, 0.7, 0.2]
    assert stats.bootstrap_mean(values, seed=3) == stats.bootstrap_mean(values, seed=3)
    # and the seed is what drives it: over a few seeds the bounds move
    assert len({stats.bootstrap_mean(values, seed=s).low for s in range(5)}) > 1


def test_paired_difference_is_b_minus_a_of_per_benchmark_epoch_means():
    a = {"x": [0.4, 0.6], "y": [0.2], "z": [1.0], "only-a": [0.0]}
    b = {"x": [0.7], "y": [0.2, 0.2], "z": [0.9], "only-b": [1.0]}
    result = stats.paired_comparison(a, b, seed=0)
    # common x, y, z; differences 0.7 − 0.5, 0.2 − 0.2, 0.9 − 1.0
    assert result.benchmarks == 3
    assert result.epochs == 1
    assert result.difference.value == pytest.approx((0.2 + 0.0 - 0.1) / 3)
    assert result.mean_a == pytest.approx((0.5 + 0.2 + 1.0) / 3)
    assert result.difference.low <= result.difference.value <= result.difference.high
    assert not result.significant


def test_signed_rank_p_of_n_same_sign_differences_is_two_over_two_to_the_n():
    """Exact two-sided signed-rank test: all n differences positive is the most extreme of the
    2^n sign patterns, on both sides: p = 2 / 2^n. n = 6 is the fewest that reach p < 0.05."""
    six = {f"b{i}": [0.0] for i in range(6)}
    better = {f"b{i}": [0.1 * (i + 1)] for i in range(6)}
    result = stats.paired_comparison(six, better, seed=0)
    assert result.p_value == pytest.approx(2 / 2**6)
    assert result.significant and result.difference.low > 0
    assert stats.min_benchmarks(0.05) == 6
    five = stats.paired_comparison(
        {k: v for k, v in six.items() if k != "b5"},
        {k: v for k, v in better.items() if k != "b5"},
        seed=0,
    )
    assert five.p_value == pytest.approx(2 / 2**5)
    assert not five.significant  # its interval excludes 0, but p = 0.0625
    assert five.epochs_needed is None  # no number of epochs gets 5 benchmarks below 0.05


def test_identical_scores_are_no_evidence():
    scores = {f"b{i}": [i / 10] for i in range(10)}
    result = stats.paired_comparison(scores, dict(scores), seed=0)
    assert result.p_value == 1.0
    assert (result.difference.low, result.difference.high) == (0.0, 0.0)
    assert not result.significant


def z_total(alpha: float = 0.05, power: float = 0.8) -> float:
    return NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)


def test_epochs_needed_with_one_epoch_takes_all_variance_as_epoch_noise():
    """d = ±0.1 on 10 benchmarks: var(d) = 0.01 · 10/9. To detect 0.05 with 80 % power at
    α = 0.05: B · e ≥ z² var(d) / δ², so e = ceil(z² · var(d) / (10 · 0.05²))."""
    a = [[0.5]] * 10
    b = [[0.6], [0.4]] * 5
    var_d = 0.01 * 10 / 9
    expected = math.ceil(z_total() ** 2 * var_d / (10 * 0.05**2))
    assert expected == 4
    assert stats.epochs_needed(a, b, 0.05) == expected


def test_epochs_needed_with_epochs_separates_noise_from_real_variation():
    """Each agent scores 0 then 1 on every benchmark: within-benchmark variance 0.5 each (so
    s_A² + s_B² = 1), per-benchmark differences all 0 (no between-benchmark variation). To
    detect 0.1 on 10 benchmarks: e ≥ 1 / (10 · (0.1 / z)²)."""
    a = [[0.0, 1.0]] * 10
    b = [[1.0, 0.0]] * 10
    expected = math.ceil(1.0 / (10 * (0.1 / z_total()) ** 2))
    assert stats.epochs_needed(a, b, 0.1) == expected


def test_epochs_cannot_fix_a_gap_that_varies_between_benchmarks():
    """The difference is +0.5 on half the benchmarks and −0.5 on the rest, identically in both
    epochs: no epoch noise at all, so more epochs change nothing."""
    a = [[0.5, 0.5]] * 10
    b = [[1.0, 1.0], [0.0, 0.0]] * 5
    assert stats.epochs_needed(a, b, 0.05) is None


def episode(label: str, benchmark: str, epoch: int, score: float, tags: tuple[str, ...] = ()):
    from reev.analysis.sources import Episode

    return Episode(
        run=label,
        label=label,
        source=label,
        agent=label,
        benchmark_id=benchmark,
        epoch=epoch,
        execution_id=f"{label}-{benchmark}-{epoch}",
        status="Completed",
        passed=score == 1.0,
        score=score,
        profile="verified",
        tags=tags,
    )


def test_with_epochs_the_report_resamples_benchmarks_not_episodes():
    """Two benchmarks × 3 epochs: `x` passes 3 of 3, `y` 1 of 3. Per benchmark pass@1 = 1 and
    1/3, pass@2 = 1 and 1 − C(2,2)/C(3,2) = 2/3, pass^2 = 1 and 0. Resampling the two clusters
    gives means of {y, y}, {x, y}, {x, x} with chances 1/4, 1/2, 1/4, so each 95% interval runs
    from the worse benchmark's value to the better's; resampling the six episodes instead
    would give pass@1 an interval strictly inside (1/3, 1)."""
    from reev.analysis.report import build_report
    from reev.analysis.sources import Dataset

    episodes = [episode("a", "x", e, 1.0) for e in range(3)] + [
        episode("a", "y", e, s) for e, s in enumerate([1.0, 0.0, 0.0])
    ]
    arm = build_report(Dataset([], episodes))["arms"][0]
    assert arm["epochs"] == 3 and arm["benchmarks"] == 2
    assert sorted(arm["pass_at_k"]) == ["1", "2", "3"]
    assert arm["pass_rate"] == pytest.approx({"value": 2 / 3, "low": 1 / 3, "high": 1.0}, abs=1e-6)
    assert arm["pass_at_k"]["2"] == pytest.approx(
        {"value": (1 + 2 / 3) / 2, "low": 2 / 3, "high": 1.0}, abs=1e-6
    )
    assert arm["pass_hat_k"]["2"] == pytest.approx({"value": 0.5, "low": 0.0, "high": 1.0})
    assert arm["pass_hat_k"]["3"]["value"] == 0.5  # x passes all 3, y does not


def test_categories_are_the_benchmarks_first_known_category_tag():
    from reev.analysis.report import build_report
    from reev.analysis.sources import Dataset

    tags = {"m": ("memo", "system", "t1"), "s": ("system", "t1"), "o": ("t2",)}
    episodes = [episode("a", b, 0, 1.0, t) for b, t in tags.items()]
    categories = [c["category"] for c in build_report(Dataset([], episodes))["categories"]]
    assert categories == ["system", "memo", "other"]  # reev.spec.categories order, other last


def test_verdicts_say_what_the_data_can_and_cannot_tell():
    """A gap detected; a small gap under a sample that would have caught 0.05; a noisy one that
    needs more epochs (the number from `epochs_needed`); too few benchmarks for the test."""
    from reev.analysis.report import verdict

    base = {f"b{i}": [0.5] for i in range(40)}
    better = {f"b{i}": [0.6] for i in range(40)}
    found = stats.paired_comparison(base, better, seed=0)
    assert verdict("A", "B", "spl-token", found, identical=False).startswith(
        "B is better than A on spl-token: +0.10 [0.10, 0.10] (40 benchmarks × 1 epoch"
    )
    tiny = {
        f"b{i}": [0.5 + (0.01 if i % 2 else -0.01) + (0.002 if i < 4 else 0)] for i in range(40)
    }
    small = stats.paired_comparison(base, tiny, seed=0)
    assert not small.significant and small.epochs_needed == 1
    assert verdict("A", "B", None, small, identical=False).endswith(
        "a difference of 0.05 would have been detected with 80% power at these epochs"
    )
    noisy = {f"b{i}": [0.5 + (0.3 if i % 2 else -0.3)] for i in range(40)}
    loud = stats.paired_comparison(base, noisy, seed=0)
    expected = math.ceil(z_total() ** 2 * (0.09 * 40 / 39) / (40 * 0.05**2))
    assert loud.epochs_needed == expected
    assert verdict("A", "B", None, loud, identical=False).startswith(
        "A vs B overall: no difference detectable with 40 benchmarks × 1 epoch: B − A = +0.00"
    )
    assert f"about {expected} epochs would be needed to detect a difference of 0.05" in verdict(
        "A", "B", None, loud, identical=False
    )
    few = stats.paired_comparison(
        {k: base[k] for k in list(base)[:4]}, {k: noisy[k] for k in list(base)[:4]}, seed=0
    )
    assert verdict("A", "B", None, few, identical=False).endswith("more benchmarks are needed")
