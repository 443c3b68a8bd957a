"""Gaussian integrals, log H and root finding shared by the replica formulas.

Conventions (Engel & Van den Broeck; Gardner 1988): ``Dt = exp(-t^2/2) dt / sqrt(2 pi)``
is the standard Gaussian measure and ``H(x) = int_x^inf Dt`` its tail. ``log H`` is
always computed as ``log_ndtr(-x)``: ``log(erfc(x / sqrt 2) / 2)`` underflows to
``-inf`` for ``x > 38`` in float64, whereas ``log_ndtr`` stays exact to ``x ~ 1e150``.

Two quadrature rules are used, each with a stated node count:

- :func:`gauss_hermite` (probabilists' Gauss-Hermite) for integrands that are smooth
  on the unit scale;
- :func:`sinh_rule`, the trapezoidal rule after the substitution
  ``t = center + width * sinh(s)``, for integrands with a kink of width ``width``
  at ``center`` (e.g. ``log H((kappa - sqrt(q) t) / sqrt(1 - q))`` whose kink has width
  ``sqrt((1 - q) / q)``). Nodes are dense (spacing ``~ width * h``) at the kink and
  spread geometrically away from it, so one fixed node count is uniformly accurate
  from ``q = 0`` to ``1 - q = 1e-14``: the integrand is analytic in a strip
  ``|Im s| < pi / 4``, so the error is ``~ exp(-pi^2 / (2 h))`` (h = step in s).

Everything here is pure JAX and dtype-preserving; the public theory functions run it
under a scoped ``jax.enable_x64``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.scipy.special import log_ndtr

LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)

#: Gauss-Hermite nodes used for smooth integrands (convergence tested in the tests).
GAUSS_HERMITE_NODES = 96
#: Half the number of sinh-rule nodes (the rule has ``2 * SINH_HALF_NODES + 1`` nodes).
SINH_HALF_NODES = 200
#: The sinh rule covers at least ``[-SINH_REACH, SINH_REACH]`` of the Gaussian measure.
SINH_REACH = 12.0


def log_gaussian_density(x: jax.Array) -> jax.Array:
    """Log of the standard normal density: ``-x^2/2 - log sqrt(2 pi)``."""
    return -0.5 * x * x - LOG_SQRT_2PI


def log_h(x: jax.Array) -> jax.Array:
    """Log of the Gaussian tail ``H(x) = int_x^inf Dt``, as ``log_ndtr(-x)`` (no underflow)."""
    return log_ndtr(-x)


#: Terms of the continued fraction used for the inverse Mills ratio at x > 5.
MILLS_TERMS = 40


def inverse_mills(x: jax.Array) -> jax.Array:
    """``M(x) = G(x) / H(x) = -d log H / dx`` (density over tail), accurate for all x.

    For x <= 5 as ``exp(log G - log H)``; above, by Laplace's continued fraction
    ``M(x) = x + 1/(x + 2/(x + 3/(x + ...)))`` (``MILLS_TERMS`` terms, machine precision
    there), which avoids the cancellation of two ``~x^2/2`` logs at large x.
    """
    xs = jnp.where(x <= 5.0, x, 5.0)
    small = jnp.exp(log_gaussian_density(xs) - log_h(xs))
    xl = jnp.where(x > 5.0, x, 5.0)
    tail = xl
    for k in range(MILLS_TERMS, 0, -1):
        tail = xl + k / tail
    return jnp.where(x <= 5.0, small, tail)


@functools.cache
def _gauss_hermite_numpy(num_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.hermite_e.hermegauss(num_nodes)
    return nodes, weights / np.sqrt(2.0 * np.pi)


def gauss_hermite(num_nodes: int = GAUSS_HERMITE_NODES) -> tuple[jax.Array, jax.Array]:
    """Probabilists' Gauss-Hermite rule for ``int Dt f(t) ~ sum_i w_i f(t_i)``.

    Args:
        num_nodes: number of nodes (static).

    Returns:
        ``(nodes, weights)``, each of shape ``(num_nodes,)``; the weights sum to 1.
    """
    nodes, weights = _gauss_hermite_numpy(int(num_nodes))
    return jnp.asarray(nodes), jnp.asarray(weights)


def sinh_rule(
    center: jax.Array,
    width: jax.Array,
    half_nodes: int = SINH_HALF_NODES,
    reach: float = SINH_REACH,
) -> tuple[jax.Array, jax.Array]:
    """Kink-adapted rule for ``int Dt f(t)``: trapezoid in s with ``t = c + w sinh(s)``.

    ``s`` runs over ``[-s_max, s_max]`` with ``s_max = asinh((|c| + reach) / w)`` so the
    nodes cover ``[-reach, reach]``; the Gaussian weight is folded into the weights.

    Args:
        center: where the integrand varies fastest (a scalar, may be traced); it is
            clipped to ``[-reach, reach]``.
        width: the scale of that variation (scalar > 0); values above 1 are set to 1.
        half_nodes: the rule has ``2 * half_nodes + 1`` nodes (static).
        reach: half-width of the covered Gaussian range.

    Returns:
        ``(nodes, weights)`` of shape ``(2 * half_nodes + 1,)``.
    """
    c = jnp.clip(center, -reach, reach)
    w = jnp.clip(width, 1e-300, 1.0)
    s_max = jnp.arcsinh((jnp.abs(c) + reach) / w)
    s = jnp.linspace(-1.0, 1.0, 2 * half_nodes + 1, dtype=c.dtype) * s_max
    h = s_max / half_nodes
    t = c + w * jnp.sinh(s)
    weights = h * w * jnp.cosh(s) * jnp.exp(log_gaussian_density(t))
    return t, weights


def truncated_rule(
    lower: jax.Array, num_nodes: int = 48, span: float = 10.0
) -> tuple[jax.Array, jax.Array]:
    """Rule for the truncated Gaussian average ``int_lower^inf Dz f(z) / H(lower)``.

    Substitution ``z = lower + sigma * exp(s)`` with ``sigma = 1 / max(1, lower)`` (the
    scale of the conditioned law), trapezoid in s over ``[log(1e-9), log((|lower| + span)
    / sigma)]``; weights are normalised with ``log H(lower)`` in log space, so a lower
    limit deep in the tail (``H ~ 1e-300``) is fine.

    Returns:
        ``(nodes, weights)`` of shape ``(num_nodes,)``, weights summing to ~1.
    """
    sigma = 1.0 / jnp.maximum(1.0, lower)
    s_lo = jnp.log(1e-9)
    s_hi = jnp.log((jnp.abs(lower) + span) / sigma)
    s = s_lo + (s_hi - s_lo) * jnp.linspace(0.0, 1.0, num_nodes, dtype=lower.dtype)
    h = (s_hi - s_lo) / (num_nodes - 1)
    y = sigma * jnp.exp(s)
    z = lower + y
    log_w = jnp.log(h) + jnp.log(y) + log_gaussian_density(z) - log_h(lower)
    trap = jnp.ones(num_nodes, dtype=lower.dtype).at[0].set(0.5).at[-1].set(0.5)
    return z, trap * jnp.exp(log_w)


class RootResult(NamedTuple):
    """Result of :func:`bracketed_root`."""

    root: jax.Array
    converged: jax.Array
    steps: jax.Array


def bracketed_root(
    fn: Callable[[jax.Array, Any], jax.Array],
    lower: jax.Array,
    upper: jax.Array,
    args: Any,
    *,
    xtol: float = 1e-14,
    max_steps: int = 100,
) -> RootResult:
    """Root of ``fn(x, args)`` in ``[lower, upper]`` by Newton with bisection safeguard.

    The bracket must hold a sign change (``converged`` is False otherwise). Each step
    takes the Newton step when it lands strictly inside the current bracket and
    bisects otherwise. Derivatives with respect to ``args`` are the implicit ones,
    ``dx/dargs = -(dfn/dx)^-1 dfn/dargs``: the loop runs on ``stop_gradient(args)`` and
    one Newton step is taken at the root with the slope held fixed, which is exact to
    first order and costs nothing in the forward value (the residual is ~0 there).

    Returns:
        :class:`RootResult` with the root (NaN when not converged).
    """
    args_ng = jax.tree_util.tree_map(lax.stop_gradient, args)
    lower = lax.stop_gradient(lower)
    upper = lax.stop_gradient(upper)
    f = lambda x: fn(x, args_ng)
    f_and_df = jax.value_and_grad(f)
    f_lower, f_upper = f(lower), f(upper)
    bracket_ok = (jnp.sign(f_lower) * jnp.sign(f_upper) <= 0) & jnp.isfinite(f_lower * f_upper)

    def cond(state):
        _, _, _, _, step, it = state
        return (it < max_steps) & (jnp.abs(step) > xtol) & bracket_ok

    def body(state):
        lo, hi, f_lo, x, _, it = state
        fx, dfx = f_and_df(x)
        same = jnp.sign(fx) == jnp.sign(f_lo)
        lo, f_lo, hi = jnp.where(same, x, lo), jnp.where(same, fx, f_lo), jnp.where(same, hi, x)
        x_newton = x - fx / dfx
        inside = (x_newton > jnp.minimum(lo, hi)) & (x_newton < jnp.maximum(lo, hi))
        inside &= jnp.isfinite(x_newton)
        x_new = jnp.where(inside, x_newton, 0.5 * (lo + hi))
        x_new = jnp.where(fx == 0, x, x_new)
        return lo, hi, f_lo, x_new, x_new - x, it + 1

    x0 = 0.5 * (lower + upper)
    init = (lower, upper, f_lower, x0, jnp.asarray(jnp.inf, x0.dtype), jnp.asarray(0))
    _, _, _, x, step, it = lax.while_loop(cond, body, init)
    converged = bracket_ok & (jnp.abs(step) <= xtol) & jnp.isfinite(x)
    x = lax.stop_gradient(x)
    slope = lax.stop_gradient(jax.grad(f)(x))
    x = x - fn(x, args) / slope
    x = jnp.where(converged, x, jnp.nan)
    return RootResult(x, converged, it)


def illinois_loop(
    f: Callable[[jax.Array], jax.Array],
    lower: jax.Array,
    upper: jax.Array,
    f_lower: jax.Array,
    f_upper: jax.Array,
    *,
    xtol: float = 1e-13,
    max_steps: int = 100,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The Illinois iteration on ``[lower, upper]`` given the end values; ``(root, ok, steps)``.

    Regula falsi with the retained end's value halved when the same end is kept twice;
    ``f`` has one call site inside the loop. ``ok``: the bracket held a sign change and
    the iteration closed it to ``xtol``. No derivatives (see :func:`illinois_root`).
    """
    bracket_ok = (jnp.sign(f_lower) * jnp.sign(f_upper) <= 0) & jnp.isfinite(f_lower * f_upper)

    def cond(state):
        a, b, _, _, _, it = state
        return (it < max_steps) & (jnp.abs(b - a) > xtol) & bracket_ok

    def body(state):
        a, b, fa, fb, side, it = state
        c = (a * fb - b * fa) / (fb - fa)
        c = jnp.where(
            jnp.isfinite(c) & (c > jnp.minimum(a, b)) & (c < jnp.maximum(a, b)), c, 0.5 * (a + b)
        )
        fc = f(c)
        keep_a = jnp.sign(fc) == jnp.sign(fb)  # c replaces b, a is retained
        # Illinois: halve the retained end's value when the same end is kept twice.
        fa_new = jnp.where(keep_a & (side == 1), 0.5 * fa, fa)
        fb_new = jnp.where(~keep_a & (side == -1), 0.5 * fb, fb)
        a2 = jnp.where(keep_a, a, b)
        fa2 = jnp.where(keep_a, fa_new, fb_new)
        a2, fa2 = jnp.where(fc == 0, c, a2), jnp.where(fc == 0, fc, fa2)
        side = jnp.where(keep_a, 1, -1)
        return a2, c, fa2, fc, side, it + 1

    init = (lower, upper, f_lower, f_upper, jnp.asarray(0), jnp.asarray(0))
    a, b, _, _, _, it = lax.while_loop(cond, body, init)
    return b, bracket_ok & (jnp.abs(b - a) <= xtol) & jnp.isfinite(b), it


def illinois_root(
    fn: Callable[[jax.Array, Any], jax.Array],
    lower: jax.Array,
    upper: jax.Array,
    args: Any,
    *,
    xtol: float = 1e-13,
    max_steps: int = 100,
) -> RootResult:
    """Derivative-free bracketed root (Illinois variant of regula falsi).

    For residuals that are expensive to differentiate inside a loop (a nested
    solve). The bracket must hold a sign change. Implicit derivatives as in
    :func:`bracketed_root` (one gradient of ``fn`` at the root, outside the loop).

    Returns:
        :class:`RootResult`; the root is NaN when not converged.
    """
    args_ng = jax.tree_util.tree_map(lax.stop_gradient, args)
    lower = lax.stop_gradient(lower)
    upper = lax.stop_gradient(upper)
    f = lambda x: fn(x, args_ng)
    b, converged, it = illinois_loop(
        f, lower, upper, f(lower), f(upper), xtol=xtol, max_steps=max_steps
    )
    x = lax.stop_gradient(b)
    slope = lax.stop_gradient(jax.grad(f)(x))
    x = x - fn(x, args) / slope
    x = jnp.where(converged, x, jnp.nan)
    return RootResult(x, converged, it)


def newton_system(
    fn: Callable[[jax.Array, Any], jax.Array],
    x0: jax.Array,
    args: Any,
    *,
    tol: float = 1e-12,
    max_steps: int = 50,
    max_step: float = 0.5,
) -> RootResult:
    """Root of a vector equation ``fn(x, args) = 0`` by Newton with a step cap.

    Steps longer than ``max_step`` (infinity norm) are scaled down. Implicit
    derivatives with respect to ``args`` as in :func:`bracketed_root`.

    Returns:
        :class:`RootResult`; the root is NaN when not converged.
    """
    args_ng = jax.tree_util.tree_map(lax.stop_gradient, args)
    f = lambda x: fn(x, args_ng)
    jac = jax.jacfwd(f)

    def cond(state):
        _, step, it = state
        return (it < max_steps) & (step > tol)

    def body(state):
        x, _, it = state
        delta = jnp.linalg.solve(jac(x), -f(x))
        size = jnp.max(jnp.abs(delta))
        delta = delta * jnp.minimum(1.0, max_step / size)
        return x + delta, size, it + 1

    x0 = lax.stop_gradient(x0)
    init = (x0, jnp.asarray(jnp.inf, x0.dtype), jnp.asarray(0))
    x, step, it = lax.while_loop(cond, body, init)
    converged = (step <= tol) & jnp.all(jnp.isfinite(x))
    x = lax.stop_gradient(x)
    j = lax.stop_gradient(jac(x))
    x = x - jnp.linalg.solve(j, fn(x, args))
    x = jnp.where(converged, x, jnp.nan)
    return RootResult(x, converged, it)
