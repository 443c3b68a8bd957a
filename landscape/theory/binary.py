"""Binary perceptron (weights +-1, random +-1 labels): RS entropy and capacity.

Gardner & Derrida (1988) replica-symmetric entropy of the solutions at margin kappa,

    S(alpha, kappa) = extr_{q, q_hat}  -q_hat (1 - q) / 2 + E_z log(2 cosh(sqrt(q_hat) z))
                                       + alpha E_t log H((kappa - sqrt(q) t) / sqrt(1 - q)),

with saddle point ``q = E_z tanh^2(sqrt(q_hat) z)`` and ``q_hat = alpha E_t M(u)^2 / (1 - q)``
(M = G/H). S(0) = log 2. The capacity is where S vanishes (Krauth & Mezard 1989),
0.833 at kappa = 0; beyond it the RS entropy is negative and meaningless.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from landscape.theory import gaussian as g
from landscape.theory._validate import as_float64, check_range, float64, in_range
from landscape.theory.spherical import KAPPA_MIN, energetic_moments

#: Number of q points scanned for the first sign change of the saddle-point residual.
Q_GRID = 128
#: Largest load accepted by :func:`binary_perceptron_entropy`.
ALPHA_MAX = 50.0


def log_2cosh(x: jax.Array) -> jax.Array:
    """``log(2 cosh x)``, overflow-free."""
    return jnp.logaddexp(x, -x)


def _z_rule(scale):
    """Rule for ``E_z f(scale * z)`` with f kinked at 0 (tanh, log 2cosh)."""
    return g.sinh_rule(jnp.zeros_like(scale), 1.0 / jnp.maximum(scale, 1e-30))


def entropic_moments(q_hat):
    """``(E_z log 2cosh(sqrt(q_hat) z), E_z tanh^2(sqrt(q_hat) z))`` for Ising weights."""
    scale = jnp.sqrt(jnp.maximum(q_hat, 1e-30))
    z, w = _z_rule(scale)
    x = scale * z
    return jnp.sum(w * log_2cosh(x)), jnp.sum(w * jnp.tanh(x) ** 2)


def conjugate_of_q(q, alpha, kappa):
    """``q_hat(q) = alpha E_t M(u)^2 / (1 - q)``: the q saddle point solved for q_hat."""
    _, m2 = energetic_moments(q, kappa)
    return alpha * m2 / (1.0 - q) ** 2


def binary_entropy_at(q, q_hat, alpha, kappa):
    """The Gardner-Derrida RS functional at given (q, q_hat)."""
    log_cosh, _ = entropic_moments(q_hat)
    log_h, _ = energetic_moments(q, kappa)
    return -0.5 * q_hat * (1.0 - q) + log_cosh + alpha * log_h


def _residual(q, params):
    alpha, kappa = params
    _, tanh2 = entropic_moments(conjugate_of_q(q, alpha, kappa))
    return tanh2 - q


def first_sign_change(residual, grid, params):
    """Bracket around the first point of ``grid`` where ``residual`` stops being > 0.

    Returns ``(lower, upper, found)``; evaluated without gradients.
    """
    params = jax.tree_util.tree_map(jax.lax.stop_gradient, params)
    values = jax.vmap(lambda x: residual(x, params))(grid)
    not_positive = values <= 0
    index = jnp.argmax(not_positive)
    before = jnp.maximum(index - 1, 0)
    found = jnp.any(not_positive) & (jnp.isfinite(values[before]) | (index == 0))
    lower = grid[before]
    upper = grid[index]
    return lower, upper, found


class BinaryEntropy(NamedTuple):
    """Result of :func:`binary_perceptron_entropy`."""

    value: jax.Array  # RS entropy per weight
    q: jax.Array  # overlap between two solutions
    q_hat: jax.Array  # its conjugate
    converged: jax.Array
    steps: jax.Array


def _q_grid(dtype):
    return jnp.linspace(0.0, 1.0 - 1e-9, Q_GRID, dtype=dtype)


def _solve(alpha, kappa):
    ok = in_range(kappa, lower=KAPPA_MIN) & in_range(alpha, lower=0.0, upper=ALPHA_MAX)
    a = jnp.where(ok, alpha, 0.5)
    k = jnp.where(ok, kappa, 0.0)
    lower, upper, found = first_sign_change(_residual, _q_grid(a.dtype), (a, k))
    res = g.bracketed_root(_residual, lower, upper, (a, k))
    q = res.root
    q_hat = conjugate_of_q(q, a, k)
    value = binary_entropy_at(q, q_hat, a, k)
    converged = res.converged & ok & found & jnp.isfinite(value)
    nan = jnp.nan
    return BinaryEntropy(
        jnp.where(converged, value, nan),
        jnp.where(converged, q, nan),
        jnp.where(converged, q_hat, nan),
        converged,
        res.steps,
    )


_solve_jit = jax.jit(_solve)


@float64
def binary_perceptron_entropy(alpha, kappa=0.0) -> BinaryEntropy:
    """RS (Gardner-Derrida) entropy per weight of the binary perceptron's solutions.

    ``S = extr -q_hat(1-q)/2 + E_z log 2cosh(sqrt(q_hat) z)
    + alpha E_t log H((kappa - sqrt(q) t)/sqrt(1-q))`` (Gardner & Derrida 1988), random
    +-1 labels, stability ``w.x/sqrt(N) >= kappa``. The q_hat equation is solved
    explicitly, the q equation by a scan of ``Q_GRID`` points for its first sign change
    (the physical branch) then safeguarded Newton. S(0) = log 2; S decreases with
    alpha and vanishes at :func:`binary_capacity`. Valid as a count of solutions
    only where S >= 0 (RS is believed exact there).

    Args:
        alpha: load P/N, scalar in ``[0, 50]``; vmap for grids.
        kappa: margin, scalar ``>= -10``.

    Returns:
        :class:`BinaryEntropy` (``value``, ``q``, ``q_hat``, ``converged``,
        ``steps``).

    Example:
        >>> abs(float(binary_perceptron_entropy(0.0).value) - 0.6931471805599453) < 1e-12
        True
    """
    check_range("alpha", alpha, lower=0.0, upper=ALPHA_MAX, what=" (load)")
    check_range("kappa", kappa, lower=KAPPA_MIN, what=" (margin)")
    alpha, kappa = as_float64(alpha, kappa)
    return _solve_jit(alpha, kappa)


class BinaryCapacity(NamedTuple):
    """Result of :func:`binary_capacity`."""

    value: jax.Array  # alpha_c(kappa)
    q: jax.Array  # overlap at capacity
    q_hat: jax.Array
    converged: jax.Array
    steps: jax.Array


def _entropy_of_alpha(alpha, kappa):
    # Where the RS saddle point disappears (large alpha) count the entropy as negative,
    # so the bracket [small alpha, annealed bound] always holds a sign change.
    value = _solve(alpha, kappa).value
    return jnp.where(jnp.isfinite(value), value, -1.0)


@jax.jit
def _binary_capacity(kappa):
    ok = in_range(kappa, lower=KAPPA_MIN, upper=3.0)
    k = jnp.where(ok, kappa, 0.0)
    # Annealed bound: S_RS <= log 2 + alpha log H(kappa), so alpha_c <= -log 2 / log H(kappa).
    annealed = -jnp.log(2.0) / g.log_h(k)
    res = g.illinois_root(_entropy_of_alpha, 1e-3 * annealed, annealed, k, xtol=1e-12)
    sol = _solve(res.root, k)
    converged = res.converged & sol.converged & ok & (jnp.abs(sol.value) < 1e-8)
    nan = jnp.nan
    return BinaryCapacity(
        jnp.where(converged, res.root, nan),
        jnp.where(converged, sol.q, nan),
        jnp.where(converged, sol.q_hat, nan),
        converged,
        res.steps,
    )


@float64
def binary_capacity(kappa=0.0) -> BinaryCapacity:
    """Storage capacity of the binary perceptron: the alpha where the RS entropy vanishes.

    ``S_RS(alpha_c, kappa) = 0`` (Krauth & Mezard 1989; Gardner & Derrida 1988),
    ``alpha_c(0) = 0.833``. Illinois (regula falsi) root search on
    ``[1e-3, 1] * alpha_annealed`` with ``alpha_annealed = -log 2 / log H(kappa)`` (the
    annealed bound, where the RS entropy is <= 0).

    Args:
        kappa: margin, scalar in ``[-10, 3]``; vmap for grids.

    Returns:
        :class:`BinaryCapacity` (``value`` = alpha_c, ``q``, ``q_hat`` at capacity,
        ``converged``, ``steps``).
    """
    check_range("kappa", kappa, lower=KAPPA_MIN, upper=3.0, what=" (margin)")
    (kappa,) = as_float64(kappa)
    return _binary_capacity(kappa)


__all__ = ["BinaryCapacity", "BinaryEntropy", "binary_capacity", "binary_perceptron_entropy"]
