"""Gibbs learning of a teacher perceptron: generalisation error against load.

A student perceptron is drawn uniformly from the version space (all weights that
classify the P = alpha N teacher-labelled examples correctly). On the Nishimori line
the student-student overlap q equals the student-teacher overlap R, and the
generalisation error is ``epsilon = arccos(R) / pi`` (Gyorgyi & Tishby 1990; Engel & Van
den Broeck ch. 2 and 7). The energetic conjugate is

    q_hat(q) = alpha / (pi sqrt(1 - q)) * J(q),   J(q) = int Dt exp(-q t^2 / 2) / H(-sqrt(q) t),

- spherical students: ``q_hat = q / (1 - q)``, i.e. ``R / sqrt(1 - R) = (alpha / pi) J(R)``;
  epsilon(0) = 1/2 and ``alpha epsilon -> 0.6246`` as alpha -> infinity;
- binary (Ising) students and teacher: ``q = E_z tanh(q_hat + sqrt(q_hat) z)``. The
  poor-generalisation branch has entropy ``s = -q_hat (1 + q) / 2 + E_z log 2cosh(q_hat
  + sqrt(q_hat) z) + 2 alpha int Dt H(-gamma t) log H(-gamma t)`` (gamma^2 = q / (1 - q));
  the perfect-generalisation state R = 1 has entropy 0, so the equilibrium epsilon jumps
  to 0 at the first-order transition where s = 0 (alpha_c ~ 1.245, Gyorgyi 1990), and the
  branch ends at the spinodal alpha_sp ~ 1.49 (Sompolinsky, Tishby & Seung 1990).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from landscape._util import x64
from landscape.theory import gaussian as g
from landscape.theory._validate import as_float64, check_range, float64, in_range
from landscape.theory.binary import first_sign_change, log_2cosh

#: Largest load accepted.
ALPHA_MAX = 1e8
#: q points scanned for the binary branch's first sign change.
Q_GRID = 256
#: First-order transition of binary Gibbs learning, as computed by :func:`binary_transitions`
#: (Gyorgyi 1990 quotes 1.245); stored so that a call does not pay for the nested solve.
ALPHA_C_BINARY = 1.2446839898506907
#: Spinodal of the poor-generalisation branch, as computed by :func:`binary_transitions`.
ALPHA_SPINODAL_BINARY = 1.4926318182303513


def overlap_integral(q, num_nodes: int = g.GAUSS_HERMITE_NODES):
    """``J(q) = int Dt exp(-q t^2/2) / H(-sqrt(q) t)`` by Gauss-Hermite (smooth integrand)."""
    t, w = g.gauss_hermite(num_nodes)
    t = t.astype(q.dtype)
    w = w.astype(q.dtype)
    return jnp.sum(w * jnp.exp(-0.5 * q * t * t - g.log_h(-jnp.sqrt(q) * t)))


def energetic_term(q):
    """``2 int Dt H(-gamma t) log H(-gamma t)``, gamma = sqrt(q/(1-q)) (kink-adapted rule)."""
    gamma = jnp.sqrt(jnp.maximum(q, 1e-30) / (1.0 - q))
    t, w = g.sinh_rule(jnp.zeros_like(q), 1.0 / gamma)
    log_h = g.log_h(-gamma * t)
    return 2.0 * jnp.sum(w * jnp.exp(log_h) * log_h)


def generalization_error(q):
    """``epsilon = arccos(q) / pi``, written ``(2/pi) asin(sqrt((1-q)/2))`` (accurate at q ~ 1)."""
    return 2.0 / jnp.pi * jnp.arcsin(jnp.sqrt(0.5 * (1.0 - q)))


class SphericalGeneralization(NamedTuple):
    """Result of :func:`teacher_student_generalization` for spherical weights."""

    value: jax.Array  # generalisation error epsilon
    q: jax.Array  # R = q (Nishimori)
    q_hat: jax.Array
    entropy: jax.Array  # log volume of the version space per weight
    converged: jax.Array
    steps: jax.Array


def _spherical_residual(v, alpha):
    # v = sqrt(1 - R) (its own variable keeps 1 - R accurate at large alpha).
    r = 1.0 - v * v
    return r / v - alpha / jnp.pi * overlap_integral(r)


@jax.jit
def _spherical(alpha):
    ok = in_range(alpha, lower=0.0, upper=ALPHA_MAX)
    a = jnp.where(ok, alpha, 1.0)
    res = g.bracketed_root(
        _spherical_residual, jnp.asarray(1e-12, a.dtype), jnp.ones((), a.dtype), a
    )
    v = res.root
    q = 1.0 - v * v
    q_hat = q / (v * v)
    entropy = jnp.log(v) + 0.5 * q + a * energetic_term(q)
    converged = res.converged & ok
    nan = jnp.nan
    return SphericalGeneralization(
        jnp.where(converged, generalization_error(q), nan),
        jnp.where(converged, q, nan),
        jnp.where(converged, q_hat, nan),
        jnp.where(converged, entropy, nan),
        converged,
        res.steps,
    )


class BinaryGeneralization(NamedTuple):
    """Result of :func:`teacher_student_generalization` for binary weights."""

    value: jax.Array  # equilibrium epsilon (0 above alpha_c)
    branch_epsilon: jax.Array  # epsilon on the poor-generalisation branch (NaN past spinodal)
    branch_entropy: jax.Array  # its entropy per weight
    q: jax.Array  # branch overlap R = q
    q_hat: jax.Array
    alpha_c: jax.Array  # first-order transition (branch entropy = 0)
    alpha_spinodal: jax.Array  # where the branch disappears
    converged: jax.Array
    steps: jax.Array


def _binary_conjugate(q, alpha):
    return alpha * overlap_integral(q) / (jnp.pi * jnp.sqrt(1.0 - q))


def _teacher_moments(q_hat):
    """``(E_z log 2cosh(q_hat + sqrt(q_hat) z), E_z tanh(q_hat + sqrt(q_hat) z))``."""
    scale = jnp.sqrt(jnp.maximum(q_hat, 1e-30))
    z, w = g.sinh_rule(-scale, 1.0 / scale)
    x = q_hat + scale * z
    return jnp.sum(w * log_2cosh(x)), jnp.sum(w * jnp.tanh(x))


def _binary_residual(q, alpha):
    return _teacher_moments(_binary_conjugate(q, alpha))[1] - q


def _binary_entropy_at(q, alpha):
    q_hat = _binary_conjugate(q, alpha)
    log_cosh, _ = _teacher_moments(q_hat)
    return -0.5 * q_hat * (1.0 + q) + log_cosh + alpha * energetic_term(q)


def _binary_branch(alpha):
    grid = jnp.linspace(0.0, 1.0 - 1e-6, Q_GRID, dtype=alpha.dtype)
    lower, upper, found = first_sign_change(_binary_residual, grid, alpha)
    res = g.bracketed_root(_binary_residual, lower, upper, alpha)
    converged = res.converged & found
    return res.root, converged, res.steps


def _branch_entropy(alpha, _):
    q, _, _ = _binary_branch(alpha)
    return _binary_entropy_at(q, alpha)


def _spinodal_residual(x, _):
    q, alpha = x[0], x[1]
    f = lambda qq: _binary_residual(qq, alpha)
    return jnp.stack([f(q), jax.grad(f)(q)])


@functools.cache
def binary_transitions() -> tuple[float, float]:
    """``(alpha_c, alpha_spinodal)`` of Gibbs learning with binary weights (recomputed).

    The stored constants ``ALPHA_C_BINARY`` and ``ALPHA_SPINODAL_BINARY`` come from this
    function (a slow test checks they agree); it takes tens of seconds to compile.

    alpha_c: the poor-generalisation branch's entropy vanishes (first-order transition to
    perfect generalisation, Gyorgyi 1990: 1.245); alpha_spinodal: the branch's residual
    ``E tanh(q_hat + sqrt(q_hat) z) - q`` touches zero (``F = dF/dq = 0``): ~1.49.
    """
    with x64():
        one = jnp.ones((), jnp.float64)
        res = jax.jit(g.illinois_root, static_argnums=(0,))(
            _branch_entropy, 1.1 * one, 1.4 * one, None
        )
        q0, _, _ = jax.jit(_binary_branch)(1.45 * one)
        spin = jax.jit(g.newton_system, static_argnums=(0,))(
            _spinodal_residual, jnp.stack([q0, 1.45 * one]), None
        )
        alpha_c = float(res.root) if bool(res.converged) else float("nan")
        alpha_sp = float(spin.root[1]) if bool(spin.converged) else float("nan")
    return alpha_c, alpha_sp


@jax.jit
def _binary(alpha, alpha_c, alpha_sp):
    ok = in_range(alpha, lower=0.0, upper=ALPHA_MAX)
    a = jnp.where(ok, alpha, 1.0)
    q, found, it = _binary_branch(a)
    q_hat = _binary_conjugate(q, a)
    entropy = _binary_entropy_at(q, a)
    branch_eps = generalization_error(q)
    nan = jnp.nan
    # Past the spinodal there is no branch: the equilibrium is perfect generalisation.
    equilibrium = jnp.where(a < alpha_c, branch_eps, 0.0)
    converged = ok & (found | (a > alpha_sp)) & ((a >= alpha_c) | jnp.isfinite(equilibrium))
    return BinaryGeneralization(
        jnp.where(converged, equilibrium, nan),
        jnp.where(found & ok, branch_eps, nan),
        jnp.where(found & ok, entropy, nan),
        jnp.where(found & ok, q, nan),
        jnp.where(found & ok, q_hat, nan),
        alpha_c,
        alpha_sp,
        converged,
        it,
    )


@float64
def teacher_student_generalization(alpha, weights: str = "spherical"):
    """Generalisation error of Gibbs learning from a perceptron teacher (RS, Nishimori).

    Spherical: ``R / sqrt(1 - R) = (alpha/pi) int Dt exp(-R t^2/2) / H(-sqrt(R) t)``,
    ``epsilon = arccos(R)/pi`` (Gyorgyi & Tishby 1990); ``epsilon(0) = 1/2``,
    ``alpha epsilon -> 0.6246``. Binary: ``q = E_z tanh(q_hat + sqrt(q_hat) z)`` with the
    same energetic conjugate; ``value`` is the equilibrium epsilon, which drops to 0 at
    the first-order transition ``alpha_c`` (Gyorgyi 1990), and the poor-generalisation
    branch (``branch_epsilon``, ``branch_entropy``) survives as a metastable state up to
    ``alpha_spinodal``.

    Args:
        alpha: load P/N, scalar in ``[0, 1e8]``; vmap for grids.
        weights: ``"spherical"`` or ``"binary"`` (static).

    Returns:
        :class:`SphericalGeneralization` or :class:`BinaryGeneralization`.

    Example:
        >>> round(float(teacher_student_generalization(0.0).value), 12)
        0.5
    """
    if weights not in ("spherical", "binary"):
        raise ValueError(f"weights must be 'spherical' or 'binary'; got {weights!r}")
    check_range("alpha", alpha, lower=0.0, upper=ALPHA_MAX, what=" (load)")
    (alpha,) = as_float64(alpha)
    if weights == "spherical":
        return _spherical(alpha)
    return _binary(alpha, jnp.float64(ALPHA_C_BINARY), jnp.float64(ALPHA_SPINODAL_BINARY))


__all__ = [
    "BinaryGeneralization",
    "SphericalGeneralization",
    "binary_transitions",
    "teacher_student_generalization",
]
