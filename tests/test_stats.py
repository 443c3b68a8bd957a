"""Rank correlation, sign test and cluster bootstrap against SciPy and a Python loop."""

import jax
import numpy as np
import pytest
from scipy import stats as scipy_stats

from landscape import stats


def test_spearman_matches_scipy_with_and_without_ties():
    rng = np.random.default_rng(0)
    for n in (2, 5, 40):
        x = rng.normal(size=n)
        y = x + rng.normal(size=n)
        assert stats.spearman(x, y) == pytest.approx(scipy_stats.spearmanr(x, y)[0], abs=1e-12)
    x = rng.integers(0, 4, size=30).astype(float)  # many ties
    y = rng.integers(0, 3, size=30).astype(float)
    assert stats.spearman(x, y) == pytest.approx(scipy_stats.spearmanr(x, y)[0], abs=1e-12)
    assert np.isnan(stats.spearman([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="expected two"):
        stats.spearman([1.0, 2.0], [1.0])


def test_sign_test_matches_scipy_binomtest():
    rng = np.random.default_rng(1)
    for n in (1, 4, 7, 12, 25):
        for _ in range(3):
            d = rng.normal(0.3, 1.0, size=n)
            d[rng.random(n) < 0.2] = 0.0  # zeros are dropped
            k, m = int(np.sum(d > 0)), int(np.sum(d != 0))
            expected = 1.0 if m == 0 else scipy_stats.binomtest(k, m, 0.5).pvalue
            assert stats.sign_test(d) == pytest.approx(expected, rel=1e-12)
    assert stats.sign_test(np.zeros(3)) == 1.0
    with pytest.raises(ValueError, match="empty"):
        stats.sign_test([])


def _loop_bootstrap(key, x, y, groups, clusters, within, num_resamples, level):
    """The documented resampling, written as plain loops with scipy's Spearman."""
    labels = sorted(set(groups))
    units = []
    for g in labels:
        seeds = sorted({c for gg, c in zip(groups, clusters, strict=True) if gg == g})
        units.append(
            [[i for i in range(len(x)) if groups[i] == g and clusters[i] == s] for s in seeds]
        )

    def rho(idx):
        xs = [x[i] for i in idx]
        ys = [y[i] for i in idx]
        if within:
            for g in labels:
                pos = [j for j, i in enumerate(idx) if groups[i] == g]
                mx = sum(xs[j] for j in pos) / len(pos)
                my = sum(ys[j] for j in pos) / len(pos)
                for j in pos:
                    xs[j] -= mx
                    ys[j] -= my
        return scipy_stats.spearmanr(xs, ys)[0]

    reps = []
    for b in range(num_resamples):
        idx = []
        for gi, group in enumerate(units):
            k = jax.random.fold_in(jax.random.fold_in(key, b), gi)
            for j in np.asarray(jax.random.randint(k, (len(group),), 0, len(group))):
                idx.extend(group[int(j)])
        reps.append(rho(idx))
    reps = np.asarray(reps)
    reps = reps[np.isfinite(reps)]
    low, high = np.quantile(reps, [(1 - level) / 2, (1 + level) / 2])
    return rho(list(range(len(x)))), low, high


@pytest.mark.parametrize("within", [False, True])
def test_cluster_bootstrap_matches_a_python_loop(key, within):
    rng = np.random.default_rng(2)
    groups = ["sgd"] * 9 + ["replicated"] * 6  # unequal clusters: 3 x 3 and 3 x 2
    clusters = [0, 0, 0, 1, 1, 1, 2, 2, 2] + [5, 5, 7, 7, 9, 9]
    x = rng.normal(size=15) + np.where(np.asarray(groups) == "sgd", 1.0, 0.0)
    y = x + rng.normal(size=15)
    got = stats.cluster_bootstrap_correlation(
        key, x, y, groups, clusters, within=within, num_resamples=60, level=0.9
    )
    rho, low, high = _loop_bootstrap(key, list(x), list(y), groups, clusters, within, 60, 0.9)
    assert got.coefficient == pytest.approx(rho, abs=1e-12)
    assert got.low == pytest.approx(low, abs=1e-12)
    assert got.high == pytest.approx(high, abs=1e-12)
    assert got.num_samples == 15
    assert got.num_clusters == 6
    assert got.low <= got.high
    with pytest.raises(ValueError, match="level"):
        stats.cluster_bootstrap_correlation(key, x, y, groups, clusters, level=1.0)
    with pytest.raises(ValueError, match="groups has shape"):
        stats.cluster_bootstrap_correlation(key, x, y, groups[:3], clusters)
