"""Spherical perceptron (storage of random patterns): Gardner capacity and RS volume.

The weights live on the sphere ``|w|^2 = N``; a pattern is stored with margin kappa
when its stability ``y w.x / sqrt(N) >= kappa``. Replica-symmetric theory (Gardner
1988; Gardner & Derrida 1988; Engel & Van den Broeck ch. 6) gives the log-volume of
the solution space per weight,

    S(alpha, kappa) = extr_q  1/2 log(1 - q) + q / (2 (1 - q))
                              + alpha int Dt log H((kappa - sqrt(q) t) / sqrt(1 - q)),

with q the overlap of two solutions. Its saddle point is ``q / (1 - q) = alpha
E_t M(u)^2`` (u the argument of H, M = G/H), i.e. alpha(q) is explicit; q -> 1 at the
capacity ``alpha_c(kappa) = 1 / int_{-kappa}^inf Dt (t + kappa)^2``. RS is exact for
kappa >= 0 (convex solution space); for kappa < 0 the RS line is an approximation (the
true transition needs full RSB; Franz & Parisi 2016).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from landscape.theory import gaussian as g
from landscape.theory._validate import as_float64, check_range, float64, in_range, is_concrete

#: Smallest margin accepted (cancellations in the closed form grow like kappa^4 / 2).
KAPPA_MIN = -10.0
#: Largest load accepted by :func:`maximal_margin`.
ALPHA_MAX = 1e6


def _gardner_integral(kappa: jax.Array) -> jax.Array:
    """``int_{-kappa}^inf Dt (t + kappa)^2 = (1 + kappa^2) H(-kappa) + kappa G(kappa)``."""
    # Factor out G(kappa) and use the Mills ratio H(-kappa)/G(kappa): no underflow.
    mills = jnp.exp(g.log_h(-kappa) - g.log_gaussian_density(kappa))
    return jnp.exp(g.log_gaussian_density(kappa)) * ((1.0 + kappa**2) * mills + kappa)


@float64
def gardner_capacity(kappa=0.0) -> jax.Array:
    """Storage capacity of the spherical perceptron at margin kappa (Gardner 1988).

    ``alpha_c(kappa) = 1 / int_{-kappa}^inf Dt (t + kappa)^2
    = 1 / ((1 + kappa^2) H(-kappa) + kappa G(kappa))``, with G the Gaussian density.
    Exact (RS) for kappa >= 0; for kappa < 0 it is the RS line, an upper estimate that
    is not exact (full RSB lowers it slightly). ``alpha_c(0) = 2``.

    Args:
        kappa: margin, any shape, in ``[-10, inf)``.

    Returns:
        float64 array of kappa's shape.

    Example:
        >>> round(float(gardner_capacity(0.0)), 12)
        2.0
    """
    check_range("kappa", kappa, lower=KAPPA_MIN, what=" (margin)")
    (kappa,) = as_float64(kappa)
    ok = in_range(kappa, lower=KAPPA_MIN)
    value = 1.0 / _gardner_integral(jnp.where(ok, kappa, 0.0))
    return jnp.where(ok, value, jnp.nan)


class MaximalMargin(NamedTuple):
    """Result of :func:`maximal_margin`."""

    value: jax.Array  # kappa_max(alpha)
    converged: jax.Array
    steps: jax.Array


def _margin_residual(kappa, log_alpha):
    return jnp.log(_gardner_integral(kappa)) + log_alpha


@jax.jit
def _maximal_margin(alpha):
    ok = in_range(alpha, lower=0.0, upper=ALPHA_MAX, lower_open=True)
    a = jnp.where(ok, alpha, 1.0)
    upper = 1.0 / jnp.sqrt(a) + 1.0
    res = g.bracketed_root(_margin_residual, jnp.asarray(KAPPA_MIN, a.dtype), upper, jnp.log(a))
    return MaximalMargin(jnp.where(ok, res.root, jnp.nan), res.converged & ok, res.steps)


@float64
def maximal_margin(alpha) -> MaximalMargin:
    """Largest margin the spherical perceptron reaches at load alpha (inverse capacity).

    The inverse of :func:`gardner_capacity`: solves
    ``int_{-kappa}^inf Dt (t + kappa)^2 = 1 / alpha`` for kappa (safeguarded Newton on
    the log). Exact for alpha <= 2 (kappa_max >= 0); above 2 it follows the RS line at
    negative margin (not exact there). Differentiable (implicit function).

    Args:
        alpha: load P/N, scalar, in ``(0, 1e6]``; vmap it for grids.

    Returns:
        :class:`MaximalMargin` with ``value`` = kappa_max, ``converged``, ``steps``.

    Example:
        >>> abs(float(maximal_margin(2.0).value)) < 1e-12
        True
    """
    check_range("alpha", alpha, lower=0.0, upper=ALPHA_MAX, lower_open=True, what=" (load)")
    (alpha,) = as_float64(alpha)
    return _maximal_margin(alpha)


def _rule(q, kappa):
    q_safe = jnp.maximum(q, 1e-30)
    return g.sinh_rule(kappa / jnp.sqrt(q_safe), jnp.sqrt(1.0 - q) / jnp.sqrt(q_safe))


def _stability_argument(t, q, kappa):
    return (kappa - jnp.sqrt(jnp.maximum(q, 1e-30)) * t) / jnp.sqrt(1.0 - q)


def energetic_moments(q, kappa):
    """``(E_t log H(u), E_t (1 - q) M(u)^2)`` with ``u = (kappa - sqrt(q) t)/sqrt(1 - q)``.

    The two Gaussian averages of the perceptron's energetic term (kink-adapted sinh rule
    with ``2 * SINH_HALF_NODES + 1`` nodes, accurate up to ``1 - q ~ 1e-14``).
    """
    t, w = _rule(q, kappa)
    u = _stability_argument(t, q, kappa)
    log_h = g.log_h(u)
    scaled_m = jnp.sqrt(1.0 - q) * g.inverse_mills(u)
    return jnp.sum(w * log_h), jnp.sum(w * scaled_m**2)


def alpha_of_q(q, kappa=0.0):
    """Load at which the RS overlap of the spherical perceptron equals q (explicit).

    ``alpha(q) = q / ((1 - q) E_t M(u)^2)``; increases from 0 at q = 0 to
    ``gardner_capacity(kappa)`` as q -> 1.
    """
    _, m2 = energetic_moments(q, kappa)
    return q / m2


def spherical_entropy_at(q, alpha, kappa):
    """The RS functional ``1/2 log(1-q) + q/(2(1-q)) + alpha E_t log H(u)`` at given q."""
    log_h, _ = energetic_moments(q, kappa)
    return 0.5 * jnp.log1p(-q) + 0.5 * q / (1.0 - q) + alpha * log_h


class SphericalVolume(NamedTuple):
    """Result of :func:`spherical_volume`."""

    value: jax.Array  # RS entropy (log volume per weight)
    q: jax.Array  # overlap between two solutions
    converged: jax.Array
    steps: jax.Array


def _q_residual(q, params):
    alpha, kappa = params
    _, m2 = energetic_moments(q, kappa)
    return q - alpha * m2


@jax.jit
def _spherical_volume(alpha, kappa):
    capacity = 1.0 / _gardner_integral(jnp.where(kappa >= KAPPA_MIN, kappa, 0.0))
    ok = in_range(kappa, lower=KAPPA_MIN) & in_range(alpha, lower=0.0) & (alpha < capacity)
    a = jnp.where(ok, alpha, 0.0)
    k = jnp.where(ok, kappa, 0.0)
    zero, one = jnp.zeros((), a.dtype), jnp.ones((), a.dtype)
    res = g.bracketed_root(_q_residual, zero, one - 1e-15, (a, k))
    q = res.root
    value = spherical_entropy_at(q, a, k)
    converged = res.converged & ok
    nan = jnp.nan
    return SphericalVolume(
        jnp.where(converged, value, nan),
        jnp.where(converged, q, nan),
        converged,
        res.steps,
    )


@float64
def spherical_volume(alpha, kappa=0.0) -> SphericalVolume:
    """RS entropy (log volume per weight) of the spherical perceptron's solutions.

    ``S = extr_q 1/2 log(1-q) + q/(2(1-q)) + alpha E_t log H((kappa - sqrt(q) t)/sqrt(1-q))``
    (Gardner 1988), below capacity. The saddle point ``q = alpha (1-q) E_t M(u)^2`` is
    solved for q by safeguarded Newton on ``[0, 1)`` (alpha(q) is monotone); S -> -inf
    and q -> 1 as alpha -> alpha_c(kappa). At alpha = 0, S = 0 (whole sphere), q = 0.
    Exact for kappa >= 0; the RS approximation for kappa < 0.

    Args:
        alpha: load, scalar, ``0 <= alpha < gardner_capacity(kappa)``.
        kappa: margin, scalar, ``>= -10``.

    Returns:
        :class:`SphericalVolume` (``value``, ``q``, ``converged``, ``steps``).
    """
    check_range("kappa", kappa, lower=KAPPA_MIN, what=" (margin)")
    if not jnp.isscalar(alpha) and jnp.ndim(alpha) != 0:
        raise ValueError(f"alpha must be a scalar (vmap for grids); got shape {jnp.shape(alpha)}")
    what = " (load below the capacity gardner_capacity(kappa))"
    upper = float(gardner_capacity(kappa)) if is_concrete(kappa) else float("inf")
    check_range("alpha", alpha, lower=0.0, upper=upper, upper_open=True, what=what)
    alpha, kappa = as_float64(alpha, kappa)
    return _spherical_volume(alpha, kappa)


__all__ = [
    "MaximalMargin",
    "SphericalVolume",
    "alpha_of_q",
    "gardner_capacity",
    "maximal_margin",
    "spherical_volume",
]
