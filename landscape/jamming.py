"""Jamming observables of a minimum: gaps, quadratic-hinge energy, contacts, gap histograms.

The quadratic hinge ``E = (1/2) sum_mu max(0, kappa - Delta_mu)^2`` is the
soft-sphere potential of the perceptron: each unsatisfied constraint
(``Delta_mu < kappa``) is a harmonic overlap. Past the SAT/UNSAT transition
the minimum has E > 0 and N_Delta constraints in contact; the jamming point
is where E first becomes positive (Franz & Parisi, J. Phys. A 49, 145001
(2016), "The simplest model of jamming"; Franz, Parisi, Sevelev, Urbani,
Zamponi, SciPost Phys. 2, 019 (2017); Geiger et al., PRE 100, 012115 (2019)).

- Observables of a minimum: `gaps`, `energy`, `num_unsatisfied`, `gap_histogram`.
- Of a scan of minima: `jamming_width` (the jamming size N* of networks).
- The critical exponents of the gap and force distributions at kappa < 0:
  `GAP_EXPONENT` (gamma) and `FORCE_EXPONENT` (theta).

Where the minima come from: `landscape.exact.minimize_sphere` (spherical
perceptron), `landscape.algorithms.jamming_descent` (networks, Geiger et al.);
the RS lines: `landscape.theory.rs_energy`, `landscape.theory.rs_unsatisfied`;
the Hessian at a minimum: `landscape.curvature.dense_hessian_spectrum`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

#: gamma: the gap density rho(h) ~ h^-gamma for small gaps h > 0 (kappa < 0 jamming).
GAP_EXPONENT = 0.41269
#: theta: the force (overlap) density P(f) ~ f^theta for small overlaps (kappa < 0 jamming).
FORCE_EXPONENT = 0.42311


def gaps(w: jax.Array, xi: jax.Array, y: jax.Array) -> jax.Array:
    """Perceptron gaps Delta_mu = y_mu xi_mu.w' / sqrt(n) with w' = sqrt(n) w/|w| on the sphere.

    Equals ``y xi.w / |w|``. Shapes: w (n,), xi (P, n), y (P,) -> (P,).

    Example:
        >>> import jax.numpy as jnp
        >>> gaps(jnp.array([3.0, 4.0]), jnp.array([[2.0, 0.0]]), jnp.array([-1.0])).tolist()
        [-1.2000000476837158]
    """
    return y * (xi @ w) / jnp.linalg.norm(w)


def energy(delta: jax.Array, kappa: float) -> jax.Array:
    """Quadratic-hinge energy E = (1/2) sum_mu max(0, kappa - Delta_mu)^2; delta (..., P) -> (...).

    Example:
        >>> import jax.numpy as jnp
        >>> float(energy(jnp.array([0.0, 2.0]), 1.0))
        0.5
    """
    return 0.5 * jnp.sum(jax.nn.relu(kappa - delta) ** 2, axis=-1)


def num_unsatisfied(delta: jax.Array, kappa: float) -> jax.Array:
    """N_Delta = #{mu : Delta_mu < kappa}, the number of overlaps (contacts); delta (..., P).

    Example:
        >>> import jax.numpy as jnp
        >>> int(num_unsatisfied(jnp.array([-1.0, 0.2, 2.0]), 0.5))
        2
    """
    return jnp.sum(delta < kappa, axis=-1)


class GapHistogram(NamedTuple):
    """Log-binned densities of gaps and overlaps (NumPy float64).

    Attributes:
        edges: bin edges (bins + 1,), geometric from ``low`` to ``high``.
        centers: geometric bin centres (bins,).
        gaps: density of the gaps h = Delta - kappa > 0 per constraint (bins,).
        overlaps: density of the overlaps -h > 0 per constraint (bins,).
    """

    edges: np.ndarray
    centers: np.ndarray
    gaps: np.ndarray
    overlaps: np.ndarray


def gap_histogram(
    delta, kappa: float, bins: int = 30, low: float = 1e-4, high: float = 10.0
) -> GapHistogram:
    """Log-binned densities of the gaps h = Delta - kappa > 0 and of the overlaps -h > 0.

    Near jamming at kappa < 0 the gap density behaves as rho(h) ~ h^-gamma and the
    overlap (force) density as h^theta (`GAP_EXPONENT` gamma = 0.41269,
    `FORCE_EXPONENT` theta = 0.42311; Franz et al. 2017). Densities are per
    constraint (normalised by the total number of gaps in ``delta``, all axes
    pooled): ``density_b = count_b / (total * width_b)``.

    Args:
        delta: stabilities, any shape (pooled).
        kappa: the margin.
        bins: number of log-spaced bins.
        low: the smallest |h| binned.
        high: the largest |h| binned.

    Returns:
        A `GapHistogram`.

    Example:
        >>> hist = gap_histogram([0.5, -0.5], 0.0, bins=2, low=0.1, high=10.0)
        >>> hist.gaps.tolist() == hist.overlaps.tolist()
        True
    """
    h = np.ravel(np.asarray(delta, np.float64)) - kappa
    edges = np.geomspace(low, high, bins + 1)
    widths = np.diff(edges)
    total = max(h.size, 1)
    pos, _ = np.histogram(h[h > 0], edges)
    neg, _ = np.histogram(-h[h < 0], edges)
    return GapHistogram(
        edges=edges,
        centers=np.sqrt(edges[1:] * edges[:-1]),
        gaps=pos / (total * widths),
        overlaps=neg / (total * widths),
    )


def jamming_width(num_params, fraction_jammed) -> float | None:
    """The jamming size N*: where the fraction of jammed runs crosses 1/2, interpolated in log N.

    ``num_params`` (width,) increasing, ``fraction_jammed`` (width,) in [0, 1]
    (Geiger et al. 2019: networks with N < N* jam, N > N* fit the data).
    Returns None when the fraction never crosses 1/2 on the grid.

    Example:
        >>> round(jamming_width([10, 100], [1.0, 0.0]), 4)
        31.6228
    """
    ns = np.asarray(num_params, np.float64)
    f = np.asarray(fraction_jammed, np.float64)
    for i in range(len(ns) - 1):
        if f[i] >= 0.5 > f[i + 1]:
            t = (f[i] - 0.5) / (f[i] - f[i + 1])
            return float(np.exp(np.log(ns[i]) + t * (np.log(ns[i + 1]) - np.log(ns[i]))))
    return None
