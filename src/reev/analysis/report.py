"""`reev report`'s content as one JSON-shaped dict: per-arm metrics with bootstrap intervals,
per-category and per-benchmark tables, paired comparisons with their verdicts, and usage.
`render` turns it into Markdown and a self-contained HTML page; `--json` prints it as is.

An arm's per-benchmark values are averaged over its epochs first, then every benchmark counts
once, so the interval is a cluster bootstrap over benchmarks. All intervals of one arm share
the same resampled benchmarks, drawn from the report's seed.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from reev import __version__
from reev.analysis import stats
from reev.analysis.sources import Dataset, Episode
from reev.spec.categories import category_of, category_rank


def build_report(
    data: Dataset,
    *,
    seed: int = stats.DEFAULT_SEED,
    resamples: int = stats.RESAMPLES,
    confidence: float = stats.CONFIDENCE,
    min_effect: float = 0.05,
) -> dict[str, Any]:
    labels = data.labels
    by_arm: dict[str, list[Episode]] = {label: [] for label in labels}
    for e in data.episodes:
        by_arm[e.label].append(e)
    tags = _tags(data.episodes)
    arms = [_arm(label, by_arm[label], seed, resamples, confidence) for label in labels]
    comparisons = []
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            comparisons.extend(
                _compare(a, b, by_arm[a], by_arm[b], tags, seed, resamples, confidence, min_effect)
            )
    return {
        "reev_version": __version__,
        "seed": seed,
        "confidence": confidence,
        "resamples": resamples,
        "test": "wilcoxon signed-rank (two-sided, zero differences dropped)",
        "min_effect": min_effect,
        "arms": arms,
        "categories": _categories(labels, by_arm, tags),
        "benchmarks": _benchmarks(labels, by_arm, tags),
        "comparisons": comparisons,
        # The headline: each pair overall, and the categories where a difference is significant.
        "verdicts": [c["verdict"] for c in comparisons if c["scope"] == "all" or c["significant"]],
    }


def scores_by_benchmark(episodes: Sequence[Episode]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = defaultdict(list)
    for e in sorted(episodes, key=lambda e: (e.benchmark_id, e.epoch)):
        out[e.benchmark_id].append(e.score)
    return dict(out)


def _passes_by_benchmark(episodes: Sequence[Episode]) -> dict[str, tuple[int, int]]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for e in episodes:
        counts[e.benchmark_id][0] += 1
        counts[e.benchmark_id][1] += int(e.passed)
    return {k: (n, c) for k, (n, c) in counts.items()}


def _tags(episodes: Sequence[Episode]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for e in episodes:
        if e.tags or e.benchmark_id not in out:
            out[e.benchmark_id] = e.tags
    return out


def _arm(
    label: str, episodes: list[Episode], seed: int, resamples: int, confidence: float
) -> dict[str, Any]:
    scores = scores_by_benchmark(episodes)
    counts = _passes_by_benchmark(episodes)
    ids = sorted(scores)
    draws = stats.resample_indices(len(ids), seed, resamples)

    def estimate(values: list[float]) -> dict[str, float]:
        return stats.bootstrap_mean(values, indices=draws, confidence=confidence).json()

    k_max = min(n for n, _ in counts.values())
    pass_at = {
        str(k): estimate([stats.pass_at_k(*counts[b], k) for b in ids]) for k in range(1, k_max + 1)
    }
    pass_hat = {
        str(k): estimate([stats.pass_hat_k(*counts[b], k) for b in ids])
        for k in range(1, k_max + 1)
    }
    first = episodes[0]
    return {
        "label": label,
        "run": first.run,
        "agent": first.agent,
        "model": next((e.model for e in episodes if e.model), None),
        "source": first.source,
        "episodes": len(episodes),
        "benchmarks": len(ids),
        "epochs": max(n for n, _ in counts.values()),
        "statuses": dict(sorted(_count(e.status for e in episodes).items())),
        "mean_score": estimate([float(np.mean(scores[b])) for b in ids]),
        "pass_rate": pass_at["1"],
        "pass_at_k": pass_at,
        "pass_hat_k": pass_hat,
        "usage": _usage(episodes),
    }


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for v in values:
        out[v] += 1
    return dict(out)


def _usage(episodes: list[Episode]) -> dict[str, Any]:
    def total(key: str) -> float:
        return sum(float(e.usage.get(key, 0) or 0) for e in episodes)

    calls = [
        c.latency_ms for e in episodes if e.session for s in e.session.steps for c in s.model_calls
    ] + [
        float(r["latency_ms"])
        for e in episodes
        for r in (e.db_children or {}).get("model_calls", [])
    ]
    durations = [e.duration_ms for e in episodes if e.duration_ms]
    n = len(episodes)
    return {
        "model_calls": int(total("model_calls")),
        "input_tokens": int(total("input_tokens")),
        "output_tokens": int(total("output_tokens")),
        "tokens_per_episode": round((total("input_tokens") + total("output_tokens")) / n, 1),
        "cost_usd": round(total("cost_usd"), 8),
        "cost_per_episode_usd": round(total("cost_usd") / n, 8),
        "model_latency_ms_median": round(statistics.median(calls), 3) if calls else None,
        "model_latency_ms_p95": round(float(np.quantile(calls, 0.95)), 3) if calls else None,
        "episode_ms_median": round(statistics.median(durations), 3) if durations else None,
    }


def _categories(
    labels: list[str], by_arm: dict[str, list[Episode]], tags: dict[str, tuple[str, ...]]
) -> list[dict[str, Any]]:
    names = sorted({category_of(ts) for ts in tags.values()}, key=category_rank)
    out = []
    for name in names:
        row: dict[str, Any] = {"category": name, "arms": {}}
        for label in labels:
            eps = [e for e in by_arm[label] if category_of(tags.get(e.benchmark_id, ())) == name]
            if not eps:
                continue
            scores = scores_by_benchmark(eps)
            counts = _passes_by_benchmark(eps)
            row["arms"][label] = {
                "benchmarks": len(scores),
                "episodes": len(eps),
                "mean_score": round(float(np.mean([np.mean(v) for v in scores.values()])), 6),
                "pass_rate": round(float(np.mean([c / n for n, c in counts.values()])), 6),
            }
        row["benchmarks"] = max((v["benchmarks"] for v in row["arms"].values()), default=0)
        out.append(row)
    return out


def _benchmarks(
    labels: list[str], by_arm: dict[str, list[Episode]], tags: dict[str, tuple[str, ...]]
) -> list[dict[str, Any]]:
    out = []
    for benchmark in sorted(tags):
        row: dict[str, Any] = {
            "benchmark_id": benchmark,
            "category": category_of(tags[benchmark]),
            "tags": list(tags[benchmark]),
            "arms": {},
        }
        for label in labels:
            eps = [e for e in by_arm[label] if e.benchmark_id == benchmark]
            if eps:
                row["arms"][label] = {
                    "episodes": len(eps),
                    "passes": sum(e.passed for e in eps),
                    "mean_score": round(float(np.mean([e.score for e in eps])), 6),
                }
        out.append(row)
    return out


def _compare(
    a: str,
    b: str,
    eps_a: list[Episode],
    eps_b: list[Episode],
    tags: dict[str, tuple[str, ...]],
    seed: int,
    resamples: int,
    confidence: float,
    min_effect: float,
) -> list[dict[str, Any]]:
    """B − A overall, then per category (`reev.spec.categories`: one per benchmark, as `reev
    list` and the dashboard group them), on the benchmarks both ran."""
    scores_a, scores_b = scores_by_benchmark(eps_a), scores_by_benchmark(eps_b)
    common = set(scores_a) & set(scores_b)
    if not common:
        return []
    scopes: list[tuple[str | None, set[str]]] = [(None, common)]
    categories = {x: category_of(tags.get(x, ())) for x in common}
    for name in sorted(set(categories.values()), key=category_rank):
        ids = {x for x in common if categories[x] == name}
        if ids != common:  # a category holding every common benchmark repeats the overall line
            scopes.append((name, ids))
    out = []
    for scope, ids in scopes:
        result = stats.paired_comparison(
            {k: scores_a[k] for k in ids},
            {k: scores_b[k] for k in ids},
            seed,
            resamples=resamples,
            confidence=confidence,
            min_effect=min_effect,
        )
        identical = all(
            abs(float(np.mean(scores_a[k])) - float(np.mean(scores_b[k]))) < 1e-12 for k in ids
        )
        out.append(
            {
                "a": a,
                "b": b,
                "scope": scope or "all",
                "benchmarks": result.benchmarks,
                "epochs": result.epochs,
                "mean_a": round(result.mean_a, 6),
                "mean_b": round(result.mean_b, 6),
                "difference": result.difference.json(),
                "p_value": round(result.p_value, 6),
                "significant": result.significant,
                "identical": identical,
                "target_effect": round(result.target_effect, 6),
                "epochs_needed": result.epochs_needed,
                "verdict": verdict(a, b, scope, result, identical),
            }
        )
    return out


def verdict(
    a: str,
    b: str,
    scope: str | None,
    result: stats.Paired,
    identical: bool,
) -> str:
    """The comparison in one sentence: who is better, by how much, with the interval; or that
    no difference is detectable, and what it would take."""
    where = f"on {scope}" if scope else "overall"
    size = (
        f"{result.benchmarks} benchmark{'s' if result.benchmarks != 1 else ''} × "
        f"{result.epochs} epoch{'s' if result.epochs != 1 else ''}"
    )
    d = result.difference
    if identical:
        return f"{a} vs {b} {where}: no difference: the same scores on all {size}"
    if result.significant:
        winner, loser, sign = (b, a, 1.0) if d.value > 0 else (a, b, -1.0)
        low, high = sorted((sign * d.low, sign * d.high))
        return (
            f"{winner} is better than {loser} {where}: {sign * d.value:+.2f} "
            f"[{low:.2f}, {high:.2f}] ({size}, Wilcoxon p = {result.p_value:.3g})"
        )
    text = (
        f"{a} vs {b} {where}: no difference detectable with {size}: {b} − {a} = "
        f"{d.value:+.2f} [{d.low:.2f}, {d.high:.2f}], Wilcoxon p = {result.p_value:.3g}"
    )
    if result.epochs_needed is not None and result.epochs_needed <= result.epochs:
        return text + (
            f"; a difference of {result.target_effect:.2f} would have been detected with "
            f"{stats.POWER:.0%} power at these epochs"
        )
    if result.epochs_needed is not None:
        return (
            text + f"; about {result.epochs_needed} epochs would be needed to detect a difference "
            f"of {result.target_effect:.2f} with {stats.POWER:.0%} power"
        )
    return text + (
        f"; more epochs would not suffice to detect a difference of {result.target_effect:.2f}:"
        " more benchmarks are needed"
    )
