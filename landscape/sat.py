"""Exact SAT/UNSAT decisions: spherical and binary perceptrons, and algorithmic success.

- Spherical perceptron, margins kappa >= 0: the maximal stability
  ``kappa_max = max_{|w|=1} min_mu a_mu.w`` (rows ``a_mu = y_mu xi_mu``) obeys the
  minimax identity (the hard-margin SVM without bias, Gardner's optimal
  stability)

      max(kappa_max, 0) = min_{lambda in simplex} |sum_mu lambda_mu a_mu|,

  the nearest point of the convex hull of the rows to the origin (Gilbert
  1966). It is solved here in float64 on the Gram matrix ``K = A A^T`` by
  accelerated projected gradient on the simplex (FISTA with adaptive restart;
  the projection identifies the support), each round closed by Wolfe's
  affine minimisation on the support (1976), done by projected conjugate
  gradients, so only matrix-vector products are needed. Any
  lambda gives the upper bound ``kappa_upper = |A^T lambda|``; its direction
  ``w = A^T lambda / |A^T lambda|`` gives the lower bound ``kappa_lower =
  min_mu a_mu.w``. One solve decides every margin at once: SAT at kappa when
  ``kappa_lower > kappa`` (w is the witness), UNSAT when ``kappa_upper <=
  max(kappa, tol)`` (lambda is the witness), otherwise undecided -- counted,
  never guessed. At kappa = 0 "UNSAT" means ``kappa_max <= tol``; for Gaussian
  patterns kappa_max has a bounded density at 0+, so that convention errs with
  probability O(tol).
- Binary perceptron: exact enumeration of the 2^n weight vectors for n <= 24,
  as a meet-in-the-middle sum of two half enumerations, chunked.
- Algorithmic thresholds: the fraction of samples an algorithm (SGD on a
  committee machine; Baldassi et al., PRE 2022) solves within its budget.

The convention throughout: a weight vector solves the problem at margin kappa
when every stability exceeds kappa, ``Delta_mu > kappa`` (an example with
stability exactly 0 is an error, as in `landscape.problem`).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape import data as data_lib
from landscape import parallel
from landscape._util import check_positive_int

MAX_ENUMERATION_N = 24


def _x64():
    """A scoped float64 switch (a no-op when x64 is already on)."""
    return contextlib.nullcontext() if jax.config.jax_enable_x64 else jax.enable_x64(True)


# --------------------------------------------------------------------------------------------
# Spherical perceptron: maximal stability on the simplex
# --------------------------------------------------------------------------------------------


class MaximalStability(NamedTuple):
    """Certified bounds on the maximal stability of a spherical perceptron sample.

    Attributes:
        kappa_lower: ``min_mu a_mu.w`` for the returned unit ``w`` (a lower bound
            on kappa_max; positive means a SAT certificate at margin 0), (...,).
        kappa_upper: ``|A^T lambda|`` (an upper bound on max(kappa_max, 0)), (...,).
        weights: the witness direction ``w`` (..., N), unit norm (0 if A^T lambda = 0).
        multipliers: the simplex weights ``lambda`` (..., P) (the UNSAT witness).
        iterations: projected-gradient steps used, (...,).
        converged: the stopping test held before ``max_iters``, (...,).
    """

    kappa_lower: jax.Array
    kappa_upper: jax.Array
    weights: jax.Array
    multipliers: jax.Array
    iterations: jax.Array
    converged: jax.Array


class Decision(NamedTuple):
    """Per-sample outcome at one margin: exactly one of the three is True."""

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
def _compiled_solver(batched: bool, chunk_size: int | None, max_rounds, inner, tol, gap_tol):
    def one(xi, y):
        a = y[:, None] * xi
        return _solve_simplex(a, max_rounds, inner, tol, gap_tol)

    if batched:
        return jax.jit(parallel.sharded_vmap(one, chunk_size=chunk_size))
    return jax.jit(one)


def maximal_stability(
    xi,
    y,
    *,
    max_iters: int = 20_000,
    inner: int | None = None,
    tol: float = 1e-7,
    gap_tol: float = 1e-6,
    chunk_size: int | None = None,
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
    precision gap_tol), or after ``max_iters`` gradient steps
    (``converged`` False; `decide` reports such samples undecided where their
    bounds straddle the margin). The bounds are recomputed from lambda at the
    end, so they are certificates whatever the iteration did.

    Args:
        xi: patterns (P, N), or (sample, P, N) to solve every sample in one
            vmapped call sharded over devices (``chunk_size`` samples at a
            time per device).
        y: labels in {-1, +1}, (P,) or (sample, P).
        max_iters: projected-gradient step budget per sample.
        inner: projected-gradient steps per round (then one polish).
        tol: UNSAT tolerance: ``|A^T lambda| <= tol`` certifies kappa_max <= tol.
        gap_tol: relative precision at which a SAT sample stops.
        chunk_size: samples per vmapped chunk per device (bounds memory: each
            sample holds its P x P Gram matrix).

    Returns:
        A `MaximalStability` in float64 (NumPy arrays), leading sample axis if given.

    Example:
        >>> import numpy as np
        >>> xi = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> res = maximal_stability(xi, np.array([1.0, 1.0]))
        >>> round(float(res.kappa_lower), 6), round(float(res.kappa_upper), 6)
        (0.707107, 0.707107)
    """
    max_iters = check_positive_int(max_iters, "max_iters")
    if not tol > 0 or not gap_tol > 0:
        raise ValueError(f"tol={tol}, gap_tol={gap_tol}; expected positive tolerances")
    with _x64():
        xi = jnp.asarray(xi, jnp.float64)
        y = jnp.asarray(y, jnp.float64)
        if xi.ndim not in (2, 3) or y.shape != xi.shape[:-1]:
            raise ValueError(
                f"xi has shape {xi.shape} and y has shape {y.shape}; expected xi (P, N) with "
                "y (P,), or xi (sample, P, N) with y (sample, P)"
            )
        inner = check_positive_int(inner, "inner") if inner is not None else 50
        rounds = max(1, -(-max_iters // inner))
        solver = _compiled_solver(
            xi.ndim == 3, chunk_size, rounds, inner, float(tol), float(gap_tol)
        )
        result = solver(xi, y)
        return MaximalStability(*(np.asarray(r) for r in result))


def decide(result: MaximalStability, kappa: float, tol: float = 1e-7) -> Decision:
    """SAT / UNSAT / undecided at margin kappa >= 0 from certified bounds.

    SAT iff ``kappa_lower > kappa`` (a w with every stability above kappa);
    UNSAT iff ``kappa_upper <= max(kappa, tol)`` (a lambda proves kappa_max is
    at most that); undecided otherwise. Shapes follow ``result`` (sample,).
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


def spherical_samples(sample_keys: jax.Array, n: int, p: int):
    """Gaussian patterns and +-1 labels per sample key, in float64: xi (S, P, N), y (S, P)."""
    with _x64():
        batches = jax.vmap(lambda k: data_lib.random_patterns(k, n, p))(sample_keys)
        return batches.x, batches.y


def spherical_point(
    sample_keys: jax.Array,
    *,
    n: int,
    alpha: float,
    kappa: float,
    max_iters: int = 20_000,
    chunk_size: int | None = 1,
) -> tuple[dict, MaximalStability]:
    """Decide ``len(sample_keys)`` spherical samples at load alpha and summarise them.

    Returns ``(row, result)``: row holds ``p``, ``p_sat`` (fraction SAT at
    kappa among all samples, undecided ones counted as neither) with its
    standard error, ``undecided`` (a count), ``kappa_max_median`` (median of
    max(kappa_max, 0) estimated by the midpoint of the certified bounds),
    ``kappa_max_mean`` / ``kappa_max_stderr`` (None unless every sample is SAT
    at kappa = 0), ``fraction_unsat_at_zero`` and ``max_bound_gap``.
    """
    p = data_lib.num_patterns(alpha, n)
    xi, y = spherical_samples(sample_keys, n, p)
    result = maximal_stability(xi, y, max_iters=max_iters, chunk_size=chunk_size)
    row = summarize(result, kappa)
    row["p"] = p
    return row, result


def bernoulli_stderr(successes: np.ndarray) -> float:
    """Standard error sqrt(p(1-p)/S) of a fraction of S Bernoulli outcomes."""
    s = np.asarray(successes, dtype=np.float64)
    if s.size == 0:
        raise ValueError("successes is empty; expected at least one sample")
    frac = s.mean()
    return float(np.sqrt(frac * (1 - frac) / s.size))


def summarize(result: MaximalStability, kappa: float) -> dict:
    """The row fields of a spherical scan point (see `spherical_point`)."""
    decision = decide(result, kappa)
    at_zero = decide(result, 0.0)
    lower = np.maximum(np.asarray(result.kappa_lower), 0.0)
    upper = np.asarray(result.kappa_upper)
    estimate = np.where(at_zero.unsat, 0.0, 0.5 * (lower + upper))
    all_sat0 = bool(np.all(at_zero.sat))
    row = {
        "p_sat": float(np.mean(decision.sat)),
        "p_sat_stderr": bernoulli_stderr(decision.sat),
        "undecided": int(np.sum(decision.undecided)),
        "kappa_max_median": float(np.median(estimate)),
        "kappa_max_mean": float(np.mean(estimate)) if all_sat0 else None,
        "kappa_max_stderr": (
            float(np.std(estimate, ddof=1) / np.sqrt(estimate.size))
            if all_sat0 and estimate.size > 1
            else None
        ),
        "fraction_unsat_at_zero": float(np.mean(at_zero.unsat)),
        "max_bound_gap": float(np.max(np.where(at_zero.unsat, 0.0, upper - lower))),
        "mean_iterations": float(np.mean(result.iterations)),
    }
    return row


# --------------------------------------------------------------------------------------------
# Binary perceptron: exact enumeration
# --------------------------------------------------------------------------------------------


class Enumeration(NamedTuple):
    """Exact counts over the 2^n binary weight vectors of one sample.

    Attributes:
        num_solutions: number of w in {-1,+1}^n with every stability > kappa.
        kappa_max: ``max_w min_mu a_mu.w / sqrt(n)`` (the binary maximal stability).
    """

    num_solutions: np.ndarray
    kappa_max: np.ndarray


def _all_signs(bits: int, dtype) -> jax.Array:
    idx = jnp.arange(2**bits, dtype=jnp.int32)[:, None]
    shifts = jnp.arange(bits, dtype=jnp.int32)[None, :]
    return jnp.where((idx >> shifts) & 1, 1.0, -1.0).astype(dtype)


def _enumerate(a, threshold, rows_per_chunk):
    """Count w with min_mu a_mu.w > threshold and the max over w of min_mu a_mu.w."""
    n = a.shape[1]
    n1 = n // 2
    s1 = _all_signs(n1, a.dtype) @ a[:, :n1].T  # (2^n1, P)
    s2 = _all_signs(n - n1, a.dtype) @ a[:, n1:].T  # (2^n2, P)
    chunks = s1.reshape(-1, rows_per_chunk, s1.shape[1])

    def one(c):
        m = jnp.min(c[:, None, :] + s2[None, :, :], axis=-1)
        return jnp.sum(m > threshold, dtype=jnp.int32), jnp.max(m)

    counts, maxima = jax.lax.map(one, chunks)
    return jnp.sum(counts), jnp.max(maxima)


@functools.lru_cache(maxsize=32)
def _compiled_enumeration(batched: bool, rows_per_chunk: int, chunk_size):
    def one(xi, y, threshold):
        return _enumerate(y[:, None] * xi, threshold, rows_per_chunk)

    if batched:
        return jax.jit(parallel.sharded_vmap(one, in_axes=(0, 0, None), chunk_size=chunk_size))
    return jax.jit(one)


def binary_enumeration(
    xi, y, kappa: float = 0.0, *, chunk_size: int | None = 1, max_chunk_elements: int = 2**22
) -> Enumeration:
    """Exact SAT/UNSAT of the binary perceptron by enumerating all 2^n weight vectors.

    Stabilities ``Delta_mu = y_mu w.xi_mu / sqrt(n)`` for every w in {-1,+1}^n,
    computed as ``S1[i] + S2[j]`` over two half enumerations (meet in the
    middle), ``rows`` of S1 at a time (memory ``max_chunk_elements`` floats).
    SAT at kappa iff ``num_solutions > 0`` iff ``kappa_max > kappa``. Use
    Gaussian patterns, or +-1 patterns with odd n, so no stability is exactly
    0 (+-1 patterns give exact integer sums). Gardner & Derrida 1988; Krauth &
    Mezard 1989 (capacity 0.833 at kappa = 0).

    Args:
        xi: patterns (P, n) or (sample, P, n); n <= 24.
        y: labels (P,) or (sample, P).
        kappa: the margin.
        chunk_size: samples per vmapped chunk per device.
        max_chunk_elements: bound on the (rows, 2^(n/2), P) block held at once.

    Returns:
        `Enumeration` (NumPy), leading sample axis if given.
    """
    xi = np.asarray(xi)
    y = np.asarray(y)
    if xi.ndim not in (2, 3) or y.shape != xi.shape[:-1]:
        raise ValueError(f"xi has shape {xi.shape}, y {y.shape}; expected (P, n) with (P,)")
    n = xi.shape[-1]
    p = xi.shape[-2]
    if n > MAX_ENUMERATION_N:
        raise ValueError(
            f"n={n}; exact enumeration needs n <= {MAX_ENUMERATION_N} (2^n weight vectors)"
        )
    if not np.isfinite(kappa):
        raise ValueError(f"kappa={kappa}; expected a finite margin")
    n1 = n // 2
    per_row = 2 ** (n - n1) * p
    rows = 1
    while rows * 2 <= 2**n1 and rows * 2 * per_row <= max_chunk_elements:
        rows *= 2
    solver = _compiled_enumeration(xi.ndim == 3, rows, chunk_size)
    dtype = jnp.result_type(float)
    threshold = jnp.asarray(kappa * np.sqrt(n), dtype)
    counts, maxima = solver(jnp.asarray(xi, dtype), jnp.asarray(y, dtype), threshold)
    return Enumeration(np.asarray(counts), np.asarray(maxima) / np.sqrt(n))


def binary_brute_force(xi, y, kappa: float = 0.0) -> tuple[int, float]:
    """Reference: the same count and maximal stability by a Python loop over {-1,+1}^n."""
    xi = np.asarray(xi, np.float64)
    a = np.asarray(y, np.float64)[:, None] * xi
    n = a.shape[1]
    count, best = 0, -np.inf
    for signs in itertools.product((-1.0, 1.0), repeat=n):
        m = float(np.min(a @ np.array(signs))) / np.sqrt(n)
        best = max(best, m)
        count += m > kappa
    return count, best


def binary_point(
    sample_keys: jax.Array, *, n: int, alpha: float, kappa: float, inputs: str = "gaussian"
) -> tuple[dict, Enumeration]:
    """Enumerate every sample at load alpha; row with ``p``, ``p_sat``, its stderr, entropy."""
    p = data_lib.num_patterns(alpha, n)
    batches = jax.vmap(lambda k: data_lib.random_patterns(k, n, p, inputs=inputs))(sample_keys)
    result = binary_enumeration(batches.x, batches.y, kappa)
    sat = result.num_solutions > 0
    with np.errstate(divide="ignore"):
        entropy = np.where(sat, np.log(np.maximum(result.num_solutions, 1)) / n, np.nan)
    row = {
        "p": p,
        "p_sat": float(np.mean(sat)),
        "p_sat_stderr": bernoulli_stderr(sat),
        "undecided": 0,
        "kappa_max_median": float(np.median(result.kappa_max)),
        "entropy_mean": float(np.nanmean(entropy)) if np.any(sat) else None,
    }
    return row, result


# --------------------------------------------------------------------------------------------
# Algorithmic thresholds: committee machines trained by SGD
# --------------------------------------------------------------------------------------------

ALGORITHMS = ("sgd", "replicated_sgd")


def committee_success(
    sample_keys: jax.Array,
    *,
    n: int,
    k: int,
    p: int,
    tree: bool = True,
    algorithm: str = "sgd",
    max_iters: int = 2000,
    learning_rate: float = 0.5,
    batch_size: int | None = None,
    kappa: float = 0.0,
    replicas: int = 3,
    gamma: float = 0.05,
    gamma_growth: float = 1.001,
    chunk: int = 100,
    readout: str = "median",
    gamma_max: float | None = None,
) -> np.ndarray:
    """Whether an algorithm finds a zero-training-error committee machine, per sample (S,) bool.

    Random patterns (P, n) with random labels; the committee machine is the
    sign-unit one, (1/sqrt(k)) sum_l sign(h_l)
    (`landscape.models.committee_machine`'s ``classify``), and a sample counts
    as solved if this vote classifies every pattern correctly
    (`Problem.errors`) at the end of any chunk of ``chunk`` steps within
    ``max_iters``. Training is gradient-based on the hinge loss at margin
    kappa of a surrogate output: ``readout="median"`` (default), the median
    hidden pre-activation, whose sign is the vote's and whose gradient is the
    least-action rule (Mitchison & Durbin 1989; kappa is then the hidden-unit
    margin); ``readout="sum"``, the erf output (1/sqrt(k)) sum_l erf(h_l),
    which gradient descent drives to zero loss without solving the vote (the
    control). ``"sgd"``: `landscape.algorithms.gradient` with ``optax.sgd``;
    ``"replicated_sgd"``: `landscape.algorithms.replicated_sgd` with
    ``replicas`` replicas coupled by ``gamma`` growing by ``gamma_growth`` per
    step up to ``gamma_max`` (default ``1 / learning_rate``, where a step moves
    a replica onto the centre), judged by its centre; the replicas start from
    independent random weights, so that full-batch replicas do not all follow
    one trajectory. The fraction solved vs alpha locates the algorithmic
    threshold (Baldassi et al., PRE 2022).
    """
    import optax

    from landscape import algorithms, losses, models
    from landscape.problem import Problem

    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm={algorithm!r}; expected one of {ALGORITHMS}")
    model = models.committee_machine(n, k, tree=tree, readout=readout)
    # Trained through `apply` (the surrogate), judged by `classify` (the vote).
    problem = Problem(model, losses.hinge(kappa))
    optimizer = optax.sgd(learning_rate)
    if algorithm == "sgd":
        algo = algorithms.gradient(problem, optimizer, batch_size=batch_size)
    else:
        replicated = getattr(algorithms, "replicated_sgd", None)
        if replicated is None:
            raise ValueError(
                "algorithm='replicated_sgd' needs landscape.algorithms.replicated_sgd, "
                "which this installation does not provide"
            )
        algo = replicated(
            problem,
            optimizer,
            replicas,
            gamma=gamma,
            gamma_growth=gamma_growth,
            gamma_max=max(gamma, 1.0 / learning_rate) if gamma_max is None else gamma_max,
            batch_size=batch_size,
            shard=False,
        )

    def setup(key):
        k_data, k_init = jax.random.split(key)
        batch = data_lib.random_patterns(k_data, n, p)
        state = algo.init(k_init, model.init(k_init))
        if algorithm == "replicated_sgd":  # independent starts, the centre their mean
            inits = jax.vmap(model.init)(jax.random.split(jax.random.fold_in(k_init, 1), replicas))
            state = state._replace(
                params=inits,
                opt_state=jax.vmap(optimizer.init)(inits),
                center=jax.tree.map(lambda a: jnp.mean(a, axis=0), inits),
            )
        return batch, state

    batches, states = jax.jit(jax.vmap(setup))(sample_keys)

    def params_of(state):
        # Replicated states are judged by their centre (the measured minimum).
        return state.center if hasattr(state, "center") else state.params

    @jax.jit
    def vote_errors(states, batches):
        return jax.vmap(lambda s, b: problem.errors(params_of(s), b))(states, batches)

    solved = np.zeros(len(sample_keys), dtype=bool)

    def callback(done, state, info):  # noqa: ARG001
        solved[:] |= np.asarray(vote_errors(state, batches)) == 0

    algorithms.run(
        algo._replace(solved=lambda s, b: problem.errors(params_of(s), b) == 0),
        sample_keys,
        states,
        batches,
        max_iters,
        chunk_size=min(chunk, max_iters),
        callback=callback,
        stop_when_solved=True,  # every sample solved: nothing left to find
        samples=True,
    )
    return solved
