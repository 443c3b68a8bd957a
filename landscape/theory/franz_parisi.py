"""Franz-Parisi local entropy of the binary perceptron around a reference solution.

A reference w~ is drawn uniformly from the solutions at margin ``kappa_ref`` (RS overlap
q~ and conjugate q~_hat: :func:`binary_perceptron_entropy`); we count the solutions w at
margin ``kappa`` with ``w.w~/N = p = 1 - 2 d`` (normalised Hamming distance d). RS for
both levels (Franz & Parisi 1995; Huang & Kabashima 2014; Baldassi et al. PRL 2021):
with q the overlap of two constrained solutions, t their overlap with *another*
reference, and conjugates q_hat, t_hat, p_hat,

    S(d) = extr  -q_hat (1 - q)/2 - p_hat p + t_hat t
                 + E_z0 (1 + tanh(sqrt(q~_hat) z0)) E_z2 log 2cosh(A z0 + B z2 + C)
                 + alpha E_z0 E_{z1 | ref} E_z2 log H((kappa - a z0 - b z1 - c z2) / sqrt(1-q)),

where ``A = t_hat / sqrt(q~_hat)``, ``B^2 = q_hat - A^2``, ``C = p_hat - t_hat``,
``a = t / sqrt(q~)``, ``b = (p - t) / sqrt(1 - q~)``, ``c^2 = q - a^2 - b^2`` and
``E_{z1|ref}`` is the Gaussian average conditioned on the reference's stability
``sqrt(q~) z0 + sqrt(1 - q~) z1 >= kappa_ref``. For kappa = kappa_ref and
d = (1 - q~)/2 the saddle point is the reference itself (q = t = q~, all conjugates
q~_hat) and S equals the RS entropy, its maximum over d.

The saddle point is found in the variables (t, c^2, A, B^2, C) by Newton's method with
continuation from that known point along ``(p, kappa)`` to the requested values.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from landscape.theory import gaussian as g
from landscape.theory._validate import as_float64, check_range, float64, in_range
from landscape.theory.binary import ALPHA_MAX, _solve, log_2cosh

#: Half node counts of the sinh rules (outer z0, inner z2) and nodes of the z1 rule.
OUTER_HALF_NODES = 30
INNER_HALF_NODES = 32
TRUNCATED_NODES = 40
#: Continuation steps from the reference point and Newton steps per continuation step.
CONTINUATION_STEPS = 12
NEWTON_PER_STEP = 2
#: Newton polishing steps allowed after the continuation, and the step cap.
MAX_POLISH = 40
MAX_STEP = 0.25


def h2(d):
    """Binary entropy ``H2(d) = -d log d - (1 - d) log(1 - d)`` in nats.

    The log number of configurations per weight at normalised Hamming distance d.
    """
    return -d * jnp.log(d) - (1.0 - d) * jnp.log1p(-d)


def _outer_rule(q_ref, q_hat_ref):
    width = jnp.minimum(1.0 / jnp.sqrt(q_hat_ref), jnp.sqrt((1.0 - q_ref) / q_ref))
    return g.sinh_rule(jnp.zeros_like(q_ref), width, OUTER_HALF_NODES)


def _smoothed(f, x, variance, threshold, scale):
    """``E_z f(x + sqrt(variance) z)``, analytic in the variance through 0.

    Above ``threshold`` by the kink-adapted rule (f kinked at 0 with width ``scale``);
    below it (including slightly negative variances met along Newton steps) by the
    heat-kernel series ``f + v f2 / 2 + v^2 f4 / 8`` (f2, f4 the 2nd and 4th
    derivatives), whose error ``~ v^3 f6 / 48`` is below 1e-9 at the threshold. This keeps
    Newton's Jacobian finite at the reference point, where the variances vanish.
    """
    std = jnp.sqrt(jnp.maximum(variance, threshold))
    z, w = g.sinh_rule(-x / std, scale / std, INNER_HALF_NODES)
    quadrature = jnp.sum(w * f(x + std * z))
    d2 = jax.grad(jax.grad(f))
    d4 = jax.grad(jax.grad(d2))
    v = jnp.minimum(variance, threshold)
    series = f(x) + 0.5 * v * d2(x) + 0.125 * v * v * d4(x)
    return jnp.where(variance > threshold, quadrature, series)


def _entropic(y, q_ref, q_hat_ref):
    _, _, big_a, big_b2, big_c = y
    z0, w0 = _outer_rule(q_ref, q_hat_ref)
    tilt = 1.0 + jnp.tanh(jnp.sqrt(q_hat_ref) * z0)
    one = jnp.ones((), big_a.dtype)

    def inner(z):
        return _smoothed(log_2cosh, big_a * z + big_c, big_b2, 1e-3 * one, one)

    return jnp.sum(w0 * tilt * jax.vmap(inner)(z0))


def _energetic(y, p, kappa, q_ref, q_hat_ref, kappa_ref):
    t, c2, _, _, _ = y
    a = t / jnp.sqrt(q_ref)
    b = (p - t) / jnp.sqrt(1.0 - q_ref)
    q = c2 + a * a + b * b
    scale = jnp.sqrt(1.0 - q)
    z0, w0 = _outer_rule(q_ref, q_hat_ref)
    log_h = lambda x: g.log_h(x / scale)

    def given_z0(z):
        lower = (kappa_ref - jnp.sqrt(q_ref) * z) / jnp.sqrt(1.0 - q_ref)
        z1, w1 = g.truncated_rule(lower, TRUNCATED_NODES)

        def given_z1(zz):
            x = kappa - a * z - b * zz
            return _smoothed(log_h, x, c2, 1e-3 * (1.0 - q), scale)

        return jnp.sum(w1 * jax.vmap(given_z1)(z1))

    return jnp.sum(w0 * jax.vmap(given_z0)(z0))


def franz_parisi_functional(y, p, alpha, kappa, q_ref, q_hat_ref, kappa_ref):
    """The RS Franz-Parisi functional at ``y = (t, c^2, A, B^2, C)`` (see module doc)."""
    t, c2, big_a, big_b2, big_c = y
    a = t / jnp.sqrt(q_ref)
    b = (p - t) / jnp.sqrt(1.0 - q_ref)
    q = c2 + a * a + b * b
    t_hat = big_a * jnp.sqrt(q_hat_ref)
    q_hat = big_b2 + big_a * big_a
    p_hat = big_c + t_hat
    return (
        -0.5 * q_hat * (1.0 - q)
        - p_hat * p
        + t_hat * t
        + _entropic(y, q_ref, q_hat_ref)
        + alpha * _energetic(y, p, kappa, q_ref, q_hat_ref, kappa_ref)
    )


def _gradient(y, params):
    return jax.grad(franz_parisi_functional)(y, *params)


class FranzParisi(NamedTuple):
    """Result of :func:`franz_parisi`."""

    value: jax.Array  # local entropy S(d) per weight
    q: jax.Array  # overlap of two constrained solutions
    q_hat: jax.Array
    t: jax.Array  # overlap of a constrained solution with another reference
    t_hat: jax.Array
    p_hat: jax.Array  # conjugate of the distance constraint
    q_ref: jax.Array  # the reference's RS overlap and conjugate
    q_hat_ref: jax.Array
    converged: jax.Array
    num_iterations: jax.Array


def _newton_step(y, params):
    jac = jax.jacfwd(_gradient)(y, params)
    delta = jnp.linalg.solve(jac, -_gradient(y, params))
    size = jnp.max(jnp.abs(delta))
    return y + delta * jnp.minimum(1.0, MAX_STEP / size), size


@jax.jit
def _franz_parisi(alpha, distance, kappa_ref, kappa):
    ok = in_range(alpha, lower=0.0, upper=ALPHA_MAX, lower_open=True)
    ok &= in_range(distance, lower=0.0, upper=0.5, lower_open=True)
    ok &= in_range(kappa_ref, lower=-10.0, upper=3.0) & in_range(kappa, lower=-10.0, upper=3.0)
    alpha = jnp.where(ok, alpha, 0.5)
    distance = jnp.where(ok, distance, 0.25)
    kappa_ref = jnp.where(ok, kappa_ref, 0.0)
    kappa = jnp.where(ok, kappa, 0.0)
    ref = _solve(alpha, kappa_ref)
    q_ref, q_hat_ref = ref.q, ref.q_hat
    p = 1.0 - 2.0 * distance
    zero = jnp.zeros_like(q_ref)
    y0 = lax.stop_gradient(jnp.stack([q_ref, zero, jnp.sqrt(q_hat_ref), zero, zero]))
    params = (p, alpha, kappa, q_ref, q_hat_ref, kappa_ref)
    params_ng = jax.tree_util.tree_map(lax.stop_gradient, params)
    ramp = CONTINUATION_STEPS * NEWTON_PER_STEP

    def cond(state):
        _, size, it = state
        return (it < ramp + MAX_POLISH) & ((it < ramp) | (size > 1e-11))

    def body(state):
        # One Newton step per iteration; the target moves from the reference point
        # (p = q~, kappa = kappa_ref: a known saddle) to (p, kappa) over `ramp` steps.
        y, _, it = state
        s = jnp.minimum(1.0, (it + 1.0) / ramp)
        p_ng, alpha_ng, kappa_ng, q_ref_ng, q_hat_ref_ng, kappa_ref_ng = params_ng
        at_s = (
            q_ref_ng + s * (p_ng - q_ref_ng),
            alpha_ng,
            kappa_ref_ng + s * (kappa_ng - kappa_ref_ng),
            q_ref_ng,
            q_hat_ref_ng,
            kappa_ref_ng,
        )
        y, size = _newton_step(y, at_s)
        return y, size, it + 1

    init = (y0, jnp.asarray(jnp.inf, y0.dtype), jnp.asarray(0))
    y, size, it = lax.while_loop(cond, body, init)
    solved = (size <= 1e-11) & jnp.all(jnp.isfinite(y))
    # Implicit derivatives: one Newton step at the saddle with the Jacobian held fixed.
    y = lax.stop_gradient(y)
    jac = lax.stop_gradient(jax.jacfwd(_gradient)(y, params_ng))
    y = y - jnp.linalg.solve(jac, _gradient(y, params))
    value = franz_parisi_functional(y, *params)
    t, c2, big_a, big_b2, big_c = y
    a = t / jnp.sqrt(q_ref)
    b = (p - t) / jnp.sqrt(1.0 - q_ref)
    q = c2 + a * a + b * b
    t_hat = big_a * jnp.sqrt(q_hat_ref)
    q_hat = big_b2 + big_a * big_a
    p_hat = big_c + t_hat
    # In the n -> 0 limit the replica "variances" c^2 and B^2 may be negative; their
    # Gaussian averages are then the analytic continuation, computed by the heat-kernel
    # series, whose truncation error ~ (|v| / scale^2)^3 / 48 stays below ~2e-5 when
    # |c^2| <= 0.1 (1 - q) and |B^2| <= 0.1. Beyond that the point is reported unconverged.
    physical = (c2 >= -0.1 * (1.0 - q)) & (big_b2 >= -0.1) & (q < 1)
    converged = ok & ref.converged & solved & physical & jnp.isfinite(value)
    nan = jnp.nan
    out = [value, q, q_hat, t, t_hat, p_hat, q_ref, q_hat_ref]
    out = [jnp.where(converged, v, nan) for v in out]
    return FranzParisi(*out, converged, it)


@float64
def franz_parisi(alpha, distance, *, kappa_ref=0.0, kappa=0.0) -> FranzParisi:
    """Franz-Parisi local entropy of the binary perceptron at distance d from a reference.

    ``S(d) = lim (1/N) E log #{w : margin kappa, (1 - w.w~/N)/2 = d}`` with w~ an
    equilibrium solution at margin ``kappa_ref`` (RS for reference and constrained
    system; formula in the module docstring; Huang & Kabashima 2014, Baldassi et al.
    2021). Properties: ``S(d) <= H2(d)``; for ``kappa_ref = kappa`` its maximum over d is
    the RS entropy, at ``d = (1 - q~)/2``; typical references (kappa_ref = kappa = 0) have
    ``S(d) < 0`` at small d (isolated solutions); references with kappa_ref near its
    largest value at that alpha have ``S(d) ~ H2(d)`` at small d (dense regions).

    Args:
        alpha: load, scalar in ``(0, 50]``; the reference must exist (RS entropy at
            kappa_ref solvable), else ``converged`` is False.
        distance: normalised Hamming distance d, scalar in ``(0, 0.5]``; vmap for curves.
        kappa_ref: the reference's margin, in ``[-10, 3]``.
        kappa: the margin of the counted solutions, in ``[-10, 3]``.

    Returns:
        :class:`FranzParisi` (``value`` = S(d), order parameters, ``converged``,
        ``num_iterations`` of the final Newton polish).
    """
    check_range("alpha", alpha, lower=0.0, upper=ALPHA_MAX, lower_open=True, what=" (load)")
    check_range("distance", distance, lower=0.0, upper=0.5, lower_open=True)
    check_range("kappa_ref", kappa_ref, lower=-10.0, upper=3.0, what=" (margin)")
    check_range("kappa", kappa, lower=-10.0, upper=3.0, what=" (margin)")
    alpha, distance, kappa_ref, kappa = as_float64(alpha, distance, kappa_ref, kappa)
    return _franz_parisi(alpha, distance, kappa_ref, kappa)


__all__ = ["FranzParisi", "franz_parisi", "franz_parisi_functional", "h2"]
