"""Replica-symmetric jamming lines of the spherical perceptron's quadratic hinge (kappa >= 0).

Past the capacity alpha_c(kappa) the minimum of the soft-sphere energy
``E = (1/2) sum_mu max(0, kappa - Delta_mu)^2`` on ``|w|^2 = N`` is positive.
The zero-temperature RS solution (q -> 1 with chi = beta (1 - q) finite) is
exact for kappa >= 0, where the problem is convex (Franz & Parisi, J. Phys. A
49, 145001 (2016); Gardner & Derrida 1988). For kappa < 0 these are the RS
lines, not exact.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtr

from landscape.theory._validate import as_float64, check_range, float64
from landscape.theory.spherical import KAPPA_MIN, gardner_capacity


@float64
def rs_energy(alpha, kappa=0.0) -> jax.Array:
    """RS ground-state energy per N of the quadratic hinge: (1/2)(sqrt(alpha/alpha_c) - 1)^2.

    Each pattern with field t < kappa costs (kappa - t)^2 / (2 (1 + chi)), giving
    ``e(chi) = alpha / (2 alpha_c(kappa) (1 + chi)) - 1 / (2 chi)``; its extremum at
    ``chi = 1 / (sqrt(alpha / alpha_c) - 1)`` is the formula, 0 below alpha_c
    (Franz & Parisi 2016). Exact for kappa >= 0.

    Args:
        alpha: load P/N >= 0, any shape (broadcast with kappa).
        kappa: margin in ``[-10, inf)``.

    Returns:
        float64 array E/N of the broadcast shape.

    Example:
        >>> float(rs_energy(8.0, 0.0)), float(rs_energy(1.5, 0.0))
        (0.5, 0.0)
    """
    check_range("alpha", alpha, lower=0.0, what=" (load)")
    check_range("kappa", kappa, lower=KAPPA_MIN, what=" (margin)")
    alpha, kappa = as_float64(alpha, kappa)
    ratio = alpha / gardner_capacity(kappa)
    above = ratio > 1.0
    root = jnp.sqrt(jnp.where(above, ratio, 1.0))
    return jnp.where(above, 0.5 * (root - 1.0) ** 2, 0.0)


@float64
def rs_unsatisfied(alpha, kappa=0.0) -> jax.Array:
    """RS fraction N_Delta / N = alpha Phi(kappa) of unsatisfied constraints, for alpha > alpha_c.

    At the RS minimum a pattern is in contact iff its field t < kappa
    (probability Phi(kappa), the Gaussian distribution function); so at jamming
    ``N_Delta / N = alpha_c(kappa) Phi(kappa)``: 1 at kappa = 0 (isostatic) and
    < 1 for kappa > 0 (hypostatic; Franz & Parisi 2016). 0 below alpha_c.

    Args:
        alpha: load P/N >= 0, any shape (broadcast with kappa).
        kappa: margin in ``[-10, inf)``.

    Returns:
        float64 array N_Delta/N of the broadcast shape.

    Example:
        >>> float(rs_unsatisfied(3.0, 0.0)), float(rs_unsatisfied(1.0, 0.0))
        (1.5, 0.0)
    """
    check_range("alpha", alpha, lower=0.0, what=" (load)")
    check_range("kappa", kappa, lower=KAPPA_MIN, what=" (margin)")
    alpha, kappa = as_float64(alpha, kappa)
    return jnp.where(alpha > gardner_capacity(kappa), alpha * ndtr(kappa), 0.0)
