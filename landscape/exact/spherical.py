"""Certified maximal stability of the spherical perceptron, and exact SAT/UNSAT at every margin.

For margins kappa >= 0 the maximal stability ``kappa_max = max_{|w|=1} min_mu
a_mu.w`` (rows ``a_mu = y_mu xi_mu``) obeys the minimax identity (the
hard-margin SVM without bias, Gardner's optimal stability)

    max(kappa_max, 0) = min_{lambda in simplex} |sum_mu lambda_mu a_mu|,

the nearest point of the convex hull of the rows to the origin (Gilbert 1966).
It is solved in float64 on the Gram matrix ``K = A A^T`` by accelerated
projected gradient on the simplex (FISTA with adaptive restart; the projection
identifies the support), each round closed by Wolfe's affine minimisation on
the support (1976), done by projected conjugate gradients, so only
matrix-vector products are needed. Any lambda gives the upper bound
``kappa_upper = |A^T lambda|``; its direction ``w = A^T lambda / |A^T
lambda|`` gives the lower bound ``kappa_lower = min_mu a_mu.w``. One solve
decides every margin at once (`decide`): SAT at kappa when ``kappa_lower >
kappa`` (w is the witness), UNSAT when ``kappa_upper <= max(kappa, tol)``
(lambda is the witness), otherwise undecided -- counted, never guessed. At
kappa = 0 "UNSAT" means ``kappa_max <= tol``; for Gaussian patterns kappa_max
has a bounded density at 0+, so that convention errs with probability O(tol).

The convention throughout: a weight vector solves the problem at margin kappa
when every stability exceeds kappa, ``Delta_mu > kappa`` (an example with
stability exactly 0 is an error, as in `landscape.problem`).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape import parallel
from landscape._util import check_positive_int, x64


class MaximalStability(NamedTuple):
    """Certified bounds on the maximal stability of a spherical perceptron sample.

    Attributes:
        kappa_lower: ``min_mu a_mu.w`` for the returned unit ``w`` (a lower bound
            on kappa_max; positive means a SAT certificate at margin 0), (...,).
        kappa_upper: ``|A^T lambda|`` (an upper bound on max(kappa_max, 0)), (...,).
        weights: the witness direction ``w`` (..., N), unit norm (0 if A^T lambda = 0).
        multipliers: the simplex weights ``lambda`` (..., P) (the UNSAT witness).
        steps: projected-gradient steps taken, (...,).
        converged: the stopping test held within ``max_steps``, (...,).
    """

    kappa_lower: np.ndarray
    kappa_upper: np.ndarray
    weights: np.ndarray
    multipliers: np.ndarray
    steps: np.ndarray
    converged: np.ndarray


class Decision(NamedTuple):
    """Per-sample outcome at one margin: exactly one of the three is True, shapes (...,)."""

    sat: np.ndarray
    unsat: np.ndarray
    undecided: np.ndarray


def _polish(gram, lam, cg_iters):
    """Wolfe's minor cycle by projected conjugate gradients, then back onto the simplex.

    Minimises ``(1/2) mu^T K mu`` over ``mu`` supported on the support S of
    lambda with ``sum(mu) = 1`` (the min-norm point of the affine hull of the
    support vectors) by CG on the sum-zero subspace of S, starting from lambda;
    then moves from lambda towards mu as far as the simplex allows and keeps the
    result only if it lowers the objective.
    """
    support = lam > 0
    mask = support.astype(gram.dtype)
    size = jnp.maximum(jnp.sum(mask), 1.0)

    def project(d):
        return mask * (d - jnp.sum(mask * d) / size)

    r = -project(gram @ lam)
    rr = r @ r
    floor = 1e-30 * (1.0 + jnp.max(jnp.diagonal(gram))) ** 2

    def body(_, carry):
        mu, r, d, rr = carry
        kd = project(gram @ d)
        dkd = d @ kd
        ok = (rr > floor) & (dkd > 0)
        step = jnp.where(ok, rr / jnp.where(ok, dkd, 1.0), 0.0)
        mu = mu + step * d
        r = r - step * kd
        rr_new = r @ r
        beta = jnp.where(ok, rr_new / jnp.where(rr > 0, rr, 1.0), 0.0)
        return mu, r, r + beta * d, jnp.where(ok, rr_new, 0.0)

    mu, _, _, _ = jax.lax.fori_loop(0, cg_iters, body, (lam, r, r, rr))
    d = mu - lam
    ratio = jnp.where(d < 0, lam / jnp.where(d < 0, -d, 1.0), jnp.inf)
    t = jnp.clip(jnp.min(ratio), 0.0, 1.0)
    cand = jnp.maximum(lam + t * d, 0.0)
    cand = cand / jnp.sum(cand)
    ok = jnp.all(jnp.isfinite(cand)) & (cand @ (gram @ cand) < lam @ (gram @ lam))
    return jnp.where(ok, cand, lam)


def _project_simplex(u):
    """Euclidean projection of u (P,) onto the probability simplex (Held et al. 1974)."""
    p = u.shape[0]
    s = jnp.sort(u)[::-1]
    css = jnp.cumsum(s) - 1.0
    j = jnp.arange(1, p + 1, dtype=u.dtype)
    rho = jnp.sum(s - css / j > 0)
    theta = css[rho - 1] / rho.astype(u.dtype)
    return jnp.maximum(u - theta, 0.0)


def _solve_simplex(a, max_rounds, inner, tol, gap_tol, cg_iters=100):
    """Rounds of accelerated projected gradient, each closed by an affine polish.

    a (P, N): rows y_mu xi_mu. Returns a `MaximalStability` with bounds recomputed from lambda.
    """
    p = a.shape[0]
    gram = a @ a.T
    # Largest eigenvalue of K by power iteration (the gradient's Lipschitz constant).
    v0 = jnp.ones((p,), a.dtype) / jnp.sqrt(p)
    vec = jax.lax.fori_loop(0, 30, lambda _, v: (gram @ v) / jnp.linalg.norm(gram @ v), v0)
    step = 1.0 / (1.1 * (vec @ gram @ vec))
    lam = jnp.full((p,), 1.0 / p, a.dtype)

    def is_done(g, fz):
        upper = jnp.sqrt(jnp.maximum(fz, 0.0))
        lower = jnp.min(g) / jnp.where(upper > 0, upper, 1.0)
        return (upper <= tol) | ((lower > 0) & (upper - lower <= gap_tol * upper))

    def cond(state):
        _, g, fz, it = state
        return (it < max_rounds) & ~is_done(g, fz)

    def body(state):
        lam, g, fz, it = state

        def apg(_, carry):
            lam, prev, t, f_prev = carry
            t_next = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * t * t))
            yk = lam + ((t - 1.0) / t_next) * (lam - prev)
            new = _project_simplex(yk - step * (gram @ yk))
            f_new = 0.5 * new @ (gram @ new)
            # Adaptive restart (O'Donoghue & Candes 2015) when the objective goes up.
            restart = f_new > f_prev
            return new, lam, jnp.where(restart, 1.0, t_next), f_new

        lam, _, _, _ = jax.lax.fori_loop(0, inner, apg, (lam, lam, jnp.ones((), a.dtype), fz))
        g = gram @ lam
        fz = lam @ g
        lam = _polish(gram, lam, cg_iters)
        g = gram @ lam
        fz = lam @ g
        return lam, g, fz, it + 1

    g0 = gram @ lam
    lam, g, fz, it = jax.lax.while_loop(cond, body, (lam, g0, lam @ g0, jnp.zeros((), jnp.int32)))
    # Certificates recomputed from scratch, in the primal variables.
    z = a.T @ lam
    upper = jnp.linalg.norm(z)
    w = z / jnp.where(upper > 0, upper, 1.0)
    lower = jnp.where(upper > 0, jnp.min(a @ w), -jnp.inf)
    converged = (upper <= tol) | ((lower > 0) & (upper - lower <= gap_tol * upper))
    return MaximalStability(lower, upper, w, lam, it * inner, converged)


@functools.lru_cache(maxsize=32)
def _compiled_solver(samples: bool, per_device: int | None, max_rounds, inner, tol, gap_tol):
    def one(xi, y):
        a = y[:, None] * xi
        return _solve_simplex(a, max_rounds, inner, tol, gap_tol)

    if samples:
        return jax.jit(parallel.sharded_vmap(one, per_device=per_device))
    return jax.jit(one)


def _check_patterns(xi, y, samples: bool) -> None:
    """ValueError unless xi (P, N) with y (P,), or with ``samples`` xi (S, P, N) with y (S, P)."""
    ndim = 3 if samples else 2
    if np.ndim(xi) != ndim or np.shape(y) != np.shape(xi)[:-1]:
        expected = "xi (sample, P, N) with y (sample, P)" if samples else "xi (P, N) with y (P,)"
        raise ValueError(
            f"xi has shape {np.shape(xi)} and y has shape {np.shape(y)} with samples={samples}; "
            f"expected {expected}"
        )


def maximal_stability(
    xi,
    y,
    *,
    samples: bool = False,
    max_steps: int = 20_000,
    inner: int | None = None,
    tol: float = 1e-7,
    gap_tol: float = 1e-6,
    per_device: int | None = None,
) -> MaximalStability:
    """Certified bounds on Gardner's maximal stability kappa_max of the spherical perceptron.

    ``max(kappa_max, 0) = min_{lambda in simplex} |sum_mu lambda_mu y_mu xi_mu|``
    (hard-margin SVM dual without bias; Gardner 1988, Krauth & Mezard 1987),
    solved in float64 (a scoped ``jax.enable_x64`` inside the call) by rounds
    of ``inner`` accelerated projected-gradient steps on the simplex (one
    P x P matrix-vector product each), each round closed by Wolfe's affine
    minimisation on the current support (projected conjugate gradients), kept
    only when it lowers the objective. Stops when ``kappa_upper <= tol``
    (UNSAT certificate), when ``kappa_lower > 0`` and ``kappa_upper -
    kappa_lower <= gap_tol * kappa_upper`` (kappa_max known to relative
    precision gap_tol), or after ``max_steps`` gradient steps
    (``converged`` False; `decide` reports such samples undecided where their
    bounds straddle the margin). The bounds are recomputed from lambda at the
    end, so they are certificates whatever the iteration did.

    Args:
        xi: patterns (P, N), or (sample, P, N) with ``samples=True`` to solve
            every sample in one compiled call sharded over devices.
        y: labels in {-1, +1}, (P,) or (sample, P).
        samples: xi and y carry a leading ``sample`` axis.
        max_steps: projected-gradient step budget per sample.
        inner: projected-gradient steps per round (then one polish); default 50.
        tol: UNSAT tolerance: ``|A^T lambda| <= tol`` certifies kappa_max <= tol.
        gap_tol: relative precision at which a SAT sample stops.
        per_device: samples vmapped at once per device (each holds its P x P
            Gram matrix); None follows the backend policy, 1 is a compiled scan.

    Returns:
        A `MaximalStability` in float64 (NumPy arrays), leading sample axis if ``samples``.

    Example:
        >>> import numpy as np
        >>> xi = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> res = maximal_stability(xi, np.array([1.0, 1.0]))
        >>> round(float(res.kappa_lower), 6), round(float(res.kappa_upper), 6)
        (0.707107, 0.707107)
    """
    max_steps = check_positive_int(max_steps, "max_steps")
    if not tol > 0 or not gap_tol > 0:
        raise ValueError(f"tol={tol}, gap_tol={gap_tol}; expected positive tolerances")
    parallel.resolve_per_device(per_device, 1)  # ValueError now for a bad value
    _check_patterns(xi, y, samples)
    with x64():
        xi = jnp.asarray(xi, jnp.float64)
        y = jnp.asarray(y, jnp.float64)
        inner = check_positive_int(inner, "inner") if inner is not None else 50
        rounds = max(1, -(-max_steps // inner))
        solver = _compiled_solver(
            bool(samples), per_device, rounds, inner, float(tol), float(gap_tol)
        )
        result = solver(xi, y)
        return MaximalStability(*(np.asarray(r) for r in result))


def decide(result: MaximalStability, kappa: float, tol: float = 1e-7) -> Decision:
    """SAT / UNSAT / undecided at margin kappa >= 0 from certified bounds.

    SAT iff ``kappa_lower > kappa`` (a w with every stability above kappa);
    UNSAT iff ``kappa_upper <= max(kappa, tol)`` (a lambda proves kappa_max is
    at most that); undecided otherwise. Shapes follow ``result`` (sample,).

    Example:
        >>> import numpy as np
        >>> res = maximal_stability(np.eye(2), np.ones(2))
        >>> [bool(decide(res, k).sat) for k in (0.0, 0.5, 1.0)]
        [True, True, False]
    """
    if not kappa >= 0:
        raise ValueError(
            f"kappa={kappa}; the exact spherical decision needs kappa >= 0 "
            "(negative margins are non-convex: use a minimiser and label what it found)"
        )
    lower = np.asarray(result.kappa_lower)
    upper = np.asarray(result.kappa_upper)
    sat = lower > kappa
    unsat = ~sat & (upper <= max(kappa, tol))
    return Decision(sat, unsat, ~sat & ~unsat)
