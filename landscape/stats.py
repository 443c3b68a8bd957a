"""Every stochastic estimate is an `Estimate`: mean, standard error and sample count.

- `estimate(values, axis=0)`: the sample mean over an axis and its standard
  error ``std(ddof=1) / sqrt(S)``; NaN (unknown, never 0) with one sample. The
  one place where mean +- standard error is computed: NumPy input is reduced
  in float64 by NumPy, JAX input (also traced, inside ``jit``) by ``jax.numpy``
  in its own dtype.
- `proportion(successes)`: a fraction of Bernoulli outcomes with the binomial
  standard error ``sqrt(p (1 - p) / S)``.
- `mean_stderr(values)`: `estimate` as two Python floats, for result rows.
- `spearman(x, y)`: Spearman's rank correlation (average ranks for ties).
- `sign_test(differences)`: the two-sided sign test p-value of paired differences.
- `cluster_bootstrap_correlation(key, x, y, groups, clusters)`: a rank
  correlation with a percentile interval from resampling clusters (seeds)
  within groups (algorithms), pooled or within group (demeaned).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class Estimate(NamedTuple):
    """A stochastic estimate.

    Attributes:
        mean: the estimate (the sample mean, or an exact part plus one).
        stderr: its standard error; NaN when fewer than two samples.
        num_samples: the number of independent samples it averages.
    """

    mean: Any
    stderr: Any
    num_samples: int


def estimate(values: Any, axis: int = 0) -> Estimate:
    """Mean of ``values`` over ``axis`` and its standard error std(ddof=1)/sqrt(S).

    ``values`` (..., S, ...) with the samples along ``axis``; ``mean`` and
    ``stderr`` have that axis removed. With S = 1 the standard error is NaN.
    NumPy input (or lists) is reduced in float64; a JAX array (traced or not)
    by ``jax.numpy`` in its dtype.

    Example:
        >>> est = estimate([1.0, 2.0, 3.0])
        >>> float(est.mean), round(float(est.stderr), 6), est.num_samples
        (2.0, 0.57735, 3)
    """
    if isinstance(values, jax.Array):
        x, xp = values, jnp
    else:
        x, xp = np.asarray(values, dtype=np.float64), np
    if x.ndim == 0 or x.shape[axis] == 0:
        raise ValueError(f"values has shape {x.shape}; expected at least one sample on axis {axis}")
    size = x.shape[axis]
    mean = xp.mean(x, axis=axis)
    if size > 1:
        stderr = xp.std(x, axis=axis, ddof=1) / xp.sqrt(xp.asarray(size).astype(mean.dtype))
    else:
        stderr = xp.full_like(mean, xp.nan)
    return Estimate(mean, stderr, size)


def proportion(successes: Any) -> Estimate:
    """The fraction of true outcomes and its binomial standard error sqrt(p(1-p)/S).

    Example:
        >>> est = proportion([True, False, True, True])
        >>> float(est.mean), round(float(est.stderr), 4)
        (0.75, 0.2165)
    """
    s = np.asarray(successes, dtype=np.float64).ravel()
    if s.size == 0:
        raise ValueError("successes is empty; expected at least one sample")
    frac = float(s.mean())
    return Estimate(frac, float(np.sqrt(frac * (1 - frac) / s.size)), int(s.size))


def mean_stderr(values: Any) -> tuple[float, float]:
    """`estimate` over the leading axis as two Python floats (mean, stderr), for rows.

    Example:
        >>> mean_stderr([1.0, 2.0, 3.0])
        (2.0, 0.5773502691896258)
    """
    est = estimate(np.asarray(values, dtype=np.float64).ravel())
    return float(est.mean), float(est.stderr)


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of a (n,) array, ties given the average of the ranks they span."""
    order = np.argsort(values, kind="stable")
    v = values[order]
    new = np.concatenate([[True], v[1:] != v[:-1]])
    starts = np.flatnonzero(new)
    ends = np.concatenate([starts[1:], [v.size]])
    ranks = np.empty(v.size, dtype=np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    denom = math.sqrt(float(np.sum(a * a)) * float(np.sum(b * b)))
    return float(np.sum(a * b)) / denom if denom > 0 else math.nan


def _paired(x: Any, y: Any, names: tuple[str, str] = ("x", "y")) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(
            f"{names[0]} has shape {a.shape} and {names[1]} {b.shape}; expected two (n,) arrays"
        )
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError(f"{names[0]} or {names[1]} contains NaN or inf; expected finite values")
    return a, b


def spearman(x: Any, y: Any) -> float:
    """Spearman's rank correlation: the Pearson correlation of the ranks of x and of y.

    rho = sum_i (r_i - rbar)(s_i - sbar) / sqrt(sum_i (r_i - rbar)^2 sum_i (s_i - sbar)^2),
    r and s the ranks (ties: the average of the ranks they span; Spearman 1904).
    NaN when either variable is constant or n < 2.

    Shapes: x (n,), y (n,) -> float.

    Example:
        >>> spearman([1.0, 2.0, 3.0, 4.0], [10.0, 30.0, 20.0, 40.0])
        0.8
    """
    a, b = _paired(x, y)
    if a.size < 2:
        return math.nan
    return _pearson(_ranks(a), _ranks(b))


def sign_test(differences: Any) -> float:
    """Two-sided sign test p-value of paired differences d_i (e.g. algorithm minus SGD per seed).

    Zeros are dropped; with n non-zero differences of which k are positive,
    p = min(1, 2 min(P[K <= k], P[K >= k])), K ~ Binomial(n, 1/2) (the exact
    binomial test of the median difference being 0; Dixon & Mood 1946). 1.0 when
    every difference is zero.

    Shapes: differences (S,) -> float.

    Example:
        >>> round(sign_test([0.1, 0.2, 0.3, 0.4, 0.5, -0.1]), 4)
        0.2188
    """
    d = np.asarray(differences, dtype=np.float64).ravel()
    if d.size == 0:
        raise ValueError("differences is empty; expected at least one paired difference")
    if not np.all(np.isfinite(d)):
        raise ValueError("differences contains NaN or inf; expected finite values")
    k = int(np.sum(d > 0))
    n = int(np.sum(d != 0))
    if n == 0:
        return 1.0
    tail = min(k, n - k)
    prob = sum(math.comb(n, i) for i in range(tail + 1)) / 2.0**n
    return float(min(1.0, 2.0 * prob))


class BootstrapCorrelation(NamedTuple):
    """A rank correlation with a cluster-bootstrap percentile interval.

    Attributes:
        coefficient: Spearman's rho on all the data (pooled or within group).
        low: lower end of the percentile interval over resamples.
        high: upper end.
        stderr: the standard deviation of rho over resamples.
        num_samples: the number of (x, y) pairs (minima).
        num_clusters: the number of distinct (group, cluster) units resampled.
        num_resamples: resamples whose rho is defined (not NaN).
    """

    coefficient: float
    low: float
    high: float
    stderr: float
    num_samples: int
    num_clusters: int
    num_resamples: int


def _demean(values: np.ndarray, group_index: np.ndarray) -> np.ndarray:
    """Each value minus the mean of its group; shapes (n,), (n,) -> (n,)."""
    counts = np.bincount(group_index)
    sums = np.bincount(group_index, weights=values)
    return values - (sums / np.maximum(counts, 1))[group_index]


def cluster_bootstrap_correlation(
    key: jax.Array,
    x: Any,
    y: Any,
    groups: Any,
    clusters: Any,
    *,
    within: bool = False,
    num_resamples: int = 1000,
    level: float = 0.95,
) -> BootstrapCorrelation:
    """Spearman's rho of (x, y) with a percentile interval from a cluster bootstrap.

    The data are minima labelled by a group (the algorithm) and a cluster
    inside it (the seed: minima of one seed share their initialisation and
    noise, so they are not independent). A resample draws, for every group g
    with m_g clusters, m_g of its clusters with replacement and keeps all
    their minima (Davison & Hinkley 1997, sec. 3.8, resampling the top level
    within strata). ``within=False``: rho of the pooled pairs. ``within=True``:
    rho of x and y each minus its group mean (the resample's), the association
    inside algorithms with their mean differences removed. The interval is
    the (1 - level)/2 and (1 + level)/2 quantiles of rho over resamples.

    Draws: resample b, group g (in sorted order of the labels) takes the
    clusters ``randint(fold_in(fold_in(key, b), g), (m_g,), 0, m_g)`` of its
    sorted cluster labels.

    Shapes: x, y, groups, clusters all (n,); groups and clusters any labels.

    Args:
        key: a jax.random key, first and positional.
        x, y: the paired values, finite.
        groups: the stratum of each pair (e.g. the algorithm's name).
        clusters: the cluster of each pair inside its group (e.g. the seed index).
        within: demean x and y within groups before ranking.
        num_resamples: bootstrap resamples, >= 2.
        level: the interval's coverage, in (0, 1).

    Returns:
        `BootstrapCorrelation`.
    """
    from landscape._util import as_key, check_positive_int

    key = as_key(key)
    a, b = _paired(x, y)
    g = np.asarray(groups)
    c = np.asarray(clusters)
    if g.shape != a.shape or c.shape != a.shape:
        raise ValueError(
            f"groups has shape {g.shape} and clusters {c.shape}; expected {a.shape} like x"
        )
    num_resamples = check_positive_int(num_resamples, "num_resamples")
    if num_resamples < 2:
        raise ValueError(f"num_resamples={num_resamples}; expected at least 2")
    if not 0 < level < 1:
        raise ValueError(f"level={level!r}; expected a coverage in (0, 1)")
    group_labels, group_index = np.unique(g, return_inverse=True)
    members = []  # members[g][j]: indices of the j-th cluster of group g
    for gi in range(len(group_labels)):
        in_group = np.flatnonzero(group_index == gi)
        labels = np.unique(c[in_group])
        members.append([in_group[c[in_group] == lab] for lab in labels])

    def statistic(idx: np.ndarray) -> float:
        xa, ya = a[idx], b[idx]
        if within:
            gidx = group_index[idx]
            xa, ya = _demean(xa, gidx), _demean(ya, gidx)
        return _pearson(_ranks(xa), _ranks(ya)) if idx.size > 1 else math.nan

    coefficient = statistic(np.arange(a.size))
    draws = []
    for gi, group in enumerate(members):
        m = len(group)
        keys = jax.vmap(lambda i, gi=gi: jax.random.fold_in(jax.random.fold_in(key, i), gi))(
            np.arange(num_resamples)
        )
        draws.append(np.asarray(jax.vmap(lambda k, m=m: jax.random.randint(k, (m,), 0, m))(keys)))
    replicates = np.empty(num_resamples)
    for r in range(num_resamples):
        idx = np.concatenate([group[j] for gi, group in enumerate(members) for j in draws[gi][r]])
        replicates[r] = statistic(idx)
    ok = replicates[np.isfinite(replicates)]
    if ok.size:
        low, high = np.quantile(ok, [(1 - level) / 2, (1 + level) / 2])
        spread = float(np.std(ok, ddof=1)) if ok.size > 1 else math.nan
    else:
        low = high = spread = math.nan
    return BootstrapCorrelation(
        coefficient,
        float(low),
        float(high),
        spread,
        int(a.size),
        int(sum(len(grp) for grp in members)),
        int(ok.size),
    )
