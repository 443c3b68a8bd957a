"""Franz-Parisi local entropy of the binary perceptron around a reference solution.

A reference w~ is drawn uniformly from the solutions at margin ``kappa_ref`` (RS overlap
q~ and conjugate q~_hat: :func:`binary_perceptron_entropy`); we count the solutions w at
margin ``kappa`` with ``w.w~/N = p = 1 - 2 d`` (normalised Hamming distance d). RS for
both levels (Franz & Parisi 1995; Huang & Kabashima 2014; Baldassi et al. PRL 2021):
with q the overlap of two constrained solutions around the same reference, t the
overlap of a constrained solution with *another* reference, and conjugates q_hat,
t_hat, p_hat, the local entropy is the extremum of

    Phi = -q_hat (1 - q)/2 - p_hat p + t_hat t
          + E_z0 (1 + tanh(h z0)) E_z2 log 2cosh(A z0 + B z2 + C)
          + alpha E_z0 E_{z1 | ref} E_z2 log H((kappa - a z0 - b z1 - c z2) / sqrt(1 - q)),

with ``h = sqrt(q~_hat)``, ``A = t_hat / h``, ``B^2 = q_hat - A^2``, ``C = p_hat - t_hat``,
``a = t / sqrt(q~)``, ``b = (p - t) / sqrt(1 - q~)``, ``c^2 = q - a^2 - b^2`` (the
variance of the constrained solutions' mean not explained by the references; >= 0),
and ``E_{z1|ref}`` the Gaussian average conditioned on the reference's stability
``sqrt(q~) z0 + sqrt(1 - q~) z1 >= kappa_ref``. For kappa = kappa_ref and
d* = (1 - q~)/2 the saddle point is the reference itself (q = t = q~, A = h, B = C = 0)
and Phi is the RS entropy, its maximum over d.

Saddle point (stationarity of Phi, with Stein's lemma on z0):

    p = <F>,   q = <F^2>,   t = p - E_z0 sech^2(h z0) E_z2 F,
    q_hat = alpha E[M(u)^2] / (1 - q),   t_hat = -alpha dE/dt,

where ``F = tanh(A z0 + B z2 + C)``, ``<.> = E_z0 (1 + tanh(h z0)) E_z2``,
``u = (kappa - a z0 - b z1 - c z2)/sqrt(1 - q)``, ``M = G/H`` and E the energetic
average. It is solved by a fixed-point iteration in (q, t) (C solved from the p equation
by Newton inside each sweep; the damping halves whenever the residual grows), with
continuation in d from d* (geometric in d towards small d, linear towards 0.5) and in
kappa from kappa_ref. Each sweep needs only first derivatives, in closed form, so the
solver compiles in seconds.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from landscape.theory import gaussian as g
from landscape.theory._validate import as_float64, check_range, float64, in_range
from landscape.theory.binary import ALPHA_MAX, _solve, log_2cosh

#: Gauss-Hermite nodes for the reference's common field z0 and the group field z2.
OUTER_NODES = 48
INNER_NODES = 24
#: Nodes of the truncated rule for the reference's own field z1 (log-spaced from the
#: truncation point, where the log H kink sits at small d).
TRUNCATED_NODES = 96
#: Continuation steps from d* to the requested d; sweeps allowed per step.
CONTINUATION_STEPS = 10
MAX_SWEEPS = 400
#: Initial and smallest damping of a sweep (new = old + damping (map - old)); tolerance.
DAMPING = 1.0
MIN_DAMPING = 0.05
TOL = 1e-10
#: Newton steps on the p equation (for C) inside each sweep, and their cap.
C_STEPS = 3
C_MAX_STEP = 2.0


def h2(d):
    """Binary entropy ``H2(d) = -d log d - (1 - d) log(1 - d)`` in nats.

    The log number of configurations per weight at normalised Hamming distance d.
    """
    return -d * jnp.log(d) - (1.0 - d) * jnp.log1p(-d)


class _Rules(NamedTuple):
    z0: jax.Array  # (n0,)
    w0: jax.Array  # (n0,)
    z1: jax.Array  # (n0, n1): reference's own field given z0, conditioned on its margin
    w1: jax.Array  # (n0, n1)
    z2: jax.Array  # (n2,)
    w2: jax.Array  # (n2,)


def _rules(q_ref, kappa_ref):
    z0, w0 = g.gauss_hermite(OUTER_NODES)
    z2, w2 = g.gauss_hermite(INNER_NODES)
    z0, w0, z2, w2 = (v.astype(q_ref.dtype) for v in (z0, w0, z2, w2))
    lower = (kappa_ref - jnp.sqrt(q_ref) * z0) / jnp.sqrt(1.0 - q_ref)
    z1, w1 = jax.vmap(lambda lo: g.truncated_rule(lo, TRUNCATED_NODES))(lower)
    return _Rules(z0, w0, z1, w1, z2, w2)


def _geometry(q, t, p, q_ref):
    a = t / jnp.sqrt(q_ref)
    b = (p - t) / jnp.sqrt(1.0 - q_ref)
    return a, b, q - a * a - b * b


def _energetic(q, t, p, kappa, q_ref, rules):
    """``(E log H(u), dE/dq, dE/dt)`` at fixed p (closed-form derivatives)."""
    a, b, c2 = _geometry(q, t, p, q_ref)
    s = jnp.sqrt(1.0 - q)
    c = jnp.sqrt(jnp.maximum(c2, 0.0))
    z0 = rules.z0[:, None, None]
    z1 = rules.z1[:, :, None]
    u = (kappa - a * z0 - b * z1 - c * rules.z2[None, None, :]) / s
    weight = rules.w0[:, None, None] * rules.w1[:, :, None] * rules.w2[None, None, :]
    log_h = g.log_h(u)
    mills = jnp.exp(g.log_gaussian_density(u) - log_h)
    value = jnp.sum(weight * log_h)
    d_q = -jnp.sum(weight * mills * mills) / (2.0 * s * s)
    dx_dt = z1 / jnp.sqrt(1.0 - q_ref) - z0 / jnp.sqrt(q_ref)
    via_x = -jnp.sum(weight * mills * dx_dt) / s
    second = -jnp.sum(weight * mills * (mills - u)) / (2.0 * s * s)  # dE/d(c^2)
    dc2_dt = 2.0 * (b / jnp.sqrt(1.0 - q_ref) - a / jnp.sqrt(q_ref))
    return value, d_q, via_x + dc2_dt * second


def _entropic(big_a, big_b2, big_c, h, rules):
    """``(<log 2cosh>, <F>, <1 - F^2>, <F^2>, E sech^2(h z0) F)`` (see module doc)."""
    tilt = 1.0 + jnp.tanh(h * rules.z0)
    spread = jnp.sqrt(jnp.maximum(big_b2, 0.0)) * rules.z2[None, :]
    arg = big_a * rules.z0[:, None] + spread + big_c
    f = jnp.tanh(arg)
    avg = lambda x: jnp.sum(rules.w0 * tilt * jnp.sum(rules.w2[None, :] * x, axis=1))
    sech2 = 1.0 / jnp.cosh(h * rules.z0) ** 2
    cross = jnp.sum(rules.w0 * sech2 * jnp.sum(rules.w2[None, :] * f, axis=1))
    f2 = avg(f * f)
    return avg(log_2cosh(arg)), avg(f), 1.0 - f2, f2, cross


class _Params(NamedTuple):
    p: jax.Array
    alpha: jax.Array
    kappa: jax.Array
    q_ref: jax.Array
    h: jax.Array


def _conjugates(q, t, params, rules):
    _, d_q, d_t = _energetic(q, t, params.p, params.kappa, params.q_ref, rules)
    q_hat = -2.0 * params.alpha * d_q
    t_hat = -params.alpha * d_t
    big_a = t_hat / params.h
    return q_hat, t_hat, big_a, q_hat - big_a * big_a


def _sweep(state, params, rules):
    """One undamped fixed-point sweep ``(q, t, C) -> (q', t', C')`` and its residual."""
    q, t, big_c = state
    _, _, big_a, big_b2 = _conjugates(q, t, params, rules)

    def newton(c, _):
        _, mean, slope, _, _ = _entropic(big_a, big_b2, c, params.h, rules)
        step = jnp.clip((params.p - mean) / slope, -C_MAX_STEP, C_MAX_STEP)
        return c + step, None

    big_c, _ = lax.scan(newton, big_c, None, length=C_STEPS)
    _, mean, _, q_new, cross = _entropic(big_a, big_b2, big_c, params.h, rules)
    t_new = params.p - cross
    residual = jnp.maximum(jnp.abs(q_new - q), jnp.abs(t_new - t))
    residual = jnp.maximum(residual, jnp.abs(mean - params.p))
    return (q_new, t_new, big_c), residual


def franz_parisi_functional(order, p, alpha, kappa, q_ref, q_hat_ref, kappa_ref):
    """The RS Franz-Parisi functional Phi at ``order = (q, t, A, B^2, C)`` (module doc)."""
    q, t, big_a, big_b2, big_c = order
    rules = _rules(q_ref, kappa_ref)
    h = jnp.sqrt(q_hat_ref)
    t_hat = big_a * h
    q_hat = big_b2 + big_a * big_a
    p_hat = big_c + t_hat
    log_cosh = _entropic(big_a, big_b2, big_c, h, rules)[0]
    log_h = _energetic(q, t, p, kappa, q_ref, rules)[0]
    return -0.5 * q_hat * (1.0 - q) - p_hat * p + t_hat * t + log_cosh + alpha * log_h


class FranzParisi(NamedTuple):
    """Result of :func:`franz_parisi`."""

    value: jax.Array  # local entropy S(d) per weight
    q: jax.Array  # overlap of two constrained solutions (same reference)
    q_hat: jax.Array
    t: jax.Array  # overlap of a constrained solution with another reference
    t_hat: jax.Array
    p_hat: jax.Array  # conjugate of the distance constraint
    q_ref: jax.Array  # the reference's RS overlap and conjugate
    q_hat_ref: jax.Array
    converged: jax.Array
    steps: jax.Array  # fixed-point sweeps over the whole continuation


def _continuation_distance(d_star, distance, s):
    """The distance along the path: geometric from d* down to d, linear from d* up."""
    down = d_star * (distance / d_star) ** s
    up = d_star + s * (distance - d_star)
    return jnp.where(distance < d_star, down, up)


def _solve_step(state, params, rules):
    def cond(loop):
        _, residual, _, it = loop
        return (it < MAX_SWEEPS) & (residual > TOL)

    def body(loop):
        # Damped sweep; the damping halves (down to MIN_DAMPING) whenever the residual
        # grows, which stops oscillations of the undamped map.
        (q, t, c), previous, damping, it = loop
        (q_new, t_new, c), residual = _sweep((q, t, c), params, rules)
        shrink = jnp.maximum(0.5 * damping, MIN_DAMPING)
        damping = jnp.where(residual > previous, shrink, damping)
        q = jnp.clip(q + damping * (q_new - q), 0.0, 1.0 - 1e-12)
        t = t + damping * (t_new - t)
        return (q, t, c), residual, damping, it + 1

    dtype = params.p.dtype
    init = (state, jnp.asarray(jnp.inf, dtype), jnp.asarray(DAMPING, dtype), jnp.asarray(0))
    state, residual, _, it = lax.while_loop(cond, body, init)
    return state, residual, it


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
    q_ref = jnp.where(ref.converged, ref.q, 0.3)
    q_hat_ref = jnp.where(ref.converged, ref.q_hat, 0.6)
    ng = lax.stop_gradient
    rules = _rules(ng(q_ref), ng(kappa_ref))
    d_star = 0.5 * (1.0 - ng(q_ref))
    h = jnp.sqrt(ng(q_hat_ref))

    def continuation(carry, step):
        state, sweeps = carry
        s = step / CONTINUATION_STEPS
        d = _continuation_distance(d_star, ng(distance), s)
        k = ng(kappa_ref) + s * (ng(kappa) - ng(kappa_ref))
        params = _Params(1.0 - 2.0 * d, ng(alpha), k, ng(q_ref), h)
        state, residual, it = _solve_step(state, params, rules)
        return (state, sweeps + it), residual

    state0 = (ng(q_ref), ng(q_ref), jnp.zeros_like(q_ref))
    steps = jnp.arange(1, CONTINUATION_STEPS + 1, dtype=q_ref.dtype)
    (state, sweeps), residuals = lax.scan(continuation, (state0, jnp.asarray(0)), steps)
    q, t, big_c = state
    p = 1.0 - 2.0 * distance
    params = _Params(ng(p), ng(alpha), ng(kappa), ng(q_ref), h)
    q_hat, t_hat, big_a, big_b2 = _conjugates(q, t, params, rules)
    order = jnp.stack([q, t, big_a, big_b2, big_c])
    # Phi is stationary in the order parameters, so the value's derivatives with respect
    # to (alpha, d, kappa) are the partial ones (envelope theorem); the reference's q~
    # and q~_hat are not saddle variables of Phi and keep their implicit derivatives.
    value = franz_parisi_functional(ng(order), p, alpha, kappa, q_ref, q_hat_ref, kappa_ref)
    _, _, c2 = _geometry(q, t, p, q_ref)
    # c^2 and B^2 are variances (>= 0); where they vanish (at d*, and at small d around
    # high-margin references) the discretised equations leave them at ~-1e-6, which the
    # quadrature clips to 0 (an O(1e-7) effect on the value).
    tiny = jnp.maximum(1e-5 * (1.0 - q), 2e-6)
    physical = (c2 >= -tiny) & (big_b2 >= -1e-5) & (q < 1.0 - 1e-9)
    converged = ok & ref.converged & (residuals[-1] <= TOL) & physical & jnp.isfinite(value)
    p_hat = big_c + t_hat
    out = [value, q, q_hat, t, t_hat, p_hat, q_ref, q_hat_ref]
    out = [jnp.where(converged, v, jnp.nan) for v in out]
    return FranzParisi(*out, converged, sweeps)


@float64
def franz_parisi(alpha, distance, *, kappa_ref=0.0, kappa=0.0) -> FranzParisi:
    """Franz-Parisi local entropy of the binary perceptron at distance d from a reference.

    ``S(d) = lim (1/N) E log #{w : margin kappa, (1 - w.w~/N)/2 = d}`` with w~ an
    equilibrium solution at margin ``kappa_ref`` (RS for reference and constrained
    system; formula and saddle-point equations in the module docstring; Huang &
    Kabashima 2014, Baldassi et al. 2021). Properties: ``S(d) <= H2(d)``; for
    ``kappa_ref = kappa`` its maximum over d is the RS entropy, at ``d = (1 - q~)/2``;
    typical references (kappa_ref = kappa = 0) have ``S(d) < 0`` at small d (isolated
    solutions: S < 0 below d ~ 0.0012 at alpha = 0.3, ~0.007 at 0.5, ~0.035 at 0.7);
    references with kappa_ref near its largest value at that alpha have ``S(d) ~ H2(d)``
    at small d (dense regions). One point costs ~1-3 s after a ~15 s compile. At very
    small d the RS branch runs to q -> 1 (the constrained solutions condense) and the
    result is NaN with ``converged=False`` (typical references: d <= 0.003 at
    alpha = 0.7, d = 0.0005 at alpha = 0.5).

    Args:
        alpha: load, scalar in ``(0, 50]``; the reference must exist (RS entropy at
            kappa_ref solvable), else ``converged`` is False.
        distance: normalised Hamming distance d, scalar in ``(0, 0.5]``; vmap for curves.
        kappa_ref: the reference's margin, in ``[-10, 3]``.
        kappa: the margin of the counted solutions, in ``[-10, 3]``.

    Returns:
        :class:`FranzParisi` (``value`` = S(d), order parameters, ``converged``,
        ``steps`` = fixed-point sweeps over the continuation). Derivatives
        flow to ``value`` (envelope theorem at the saddle), not to the order parameters.
    """
    check_range("alpha", alpha, lower=0.0, upper=ALPHA_MAX, lower_open=True, what=" (load)")
    check_range("distance", distance, lower=0.0, upper=0.5, lower_open=True)
    check_range("kappa_ref", kappa_ref, lower=-10.0, upper=3.0, what=" (margin)")
    check_range("kappa", kappa, lower=-10.0, upper=3.0, what=" (margin)")
    alpha, distance, kappa_ref, kappa = as_float64(alpha, distance, kappa_ref, kappa)
    return _franz_parisi(alpha, distance, kappa_ref, kappa)


__all__ = ["FranzParisi", "franz_parisi", "franz_parisi_functional", "h2"]
