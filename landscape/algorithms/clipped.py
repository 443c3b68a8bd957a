"""Clipped-perceptron solvers with integer hidden states: SBPI and CP+R.

Each weight w_i = sign(h_i) is the sign of an integer hidden state h_i (odd,
initially +-1 at random, unbounded unless ``max_hidden`` is given), and the
patterns are presented one at a time; every update moves h by +-2, so h stays
odd and sign(h) is never 0. With t = floor(kappa sqrt(n)) + 1 (`threshold`), a
presented pattern is an **error** when Delta = w . xi < t (Delta <= kappa
sqrt(n), the exact complement of the solution criterion) and **barely
correct** when t <= Delta < t + theta_m (kappa sqrt(n) < Delta <= kappa sqrt(n)
+ theta_m, up to rounding of kappa sqrt(n)); at kappa = 0 these are Delta < 0 and
0 < Delta <= theta_m (Delta is odd, never 0).

- SBPI (Baldassi, Braunstein, Brunel & Zecchina, "Efficient supervised
  learning in networks with binary synapses", PNAS 104, 11079 (2007)): on an
  error h += 2 xi; on a barely correct pattern, with probability p_s,
  h_i += 2 xi_i only where w_i xi_i = +1 (a metaplastic change: it never
  changes sign h).
- CP+R (Baldassi, "Generalization learning in a perceptron with binary
  synapses", J Stat Phys 136, 902 (2009)): the clipped perceptron (h += 2 xi on
  an error) and then, with probability p_r per presentation, the unsupervised
  reinforcement h_i += 2 sign(h_i) for every i (never changes sign h either).
  The paper's analysis asks for p_r < sqrt(2 / (pi n)).

One step is one sweep: the P patterns in a random order drawn from the step
key (`sweep_draws`), one uniform per presentation deciding the stochastic
branch. Solutions are looked for before and after the sweep (see
`landscape.algorithms.binary`). The three layers: `init`, `build_step`
(``step(key, state, data, p_s, theta_m)`` for SBPI, ``step(key, state, data,
p_r)`` for CP+R, the probabilities and theta_m traced so they can be scanned),
and the constructors `sbpi` and `cp_r`.

Parameters (defaults): SBPI p_s = 0.3, theta_m = 1 (recalled from the PNAS 2007
paper's +-1-input simulations; the paper itself is not in the project's
``shared/papers``, so check the values against it); CP+R p_r = 0.075 sqrt(2 / (pi n))
(0.0030 at n = 401; chosen by a scan, see `cp_r`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from landscape._util import as_key
from landscape.algorithms.base import Algorithm
from landscape.algorithms.binary import (
    check_kappa,
    check_odd,
    check_probability,
    count_errors,
    stabilities,
    threshold,
)

_RULES = ("sbpi", "cp_r")


class ClippedState(NamedTuple):
    """Hidden states and the first solution found.

    Attributes:
        hidden: (n,) int32 odd hidden states h; the weights are sign(h).
        solution: (n,) int32 the first solution found, +-1 (zeros until solved).
        solved: () bool.
        solved_at: () int32 sweeps done when the solution was found (-1 until).
        sweeps: () int32 sweeps done (frozen once solved).
    """

    hidden: jax.Array
    solution: jax.Array
    solved: jax.Array
    solved_at: jax.Array
    sweeps: jax.Array


class ClippedInfo(NamedTuple):
    """Diagnostics of one step (one sweep).

    Attributes:
        errors: patterns with Delta <= kappa sqrt(n) after the sweep (int32).
        updates: presentations that changed h during the sweep (int32).
        solved: whether the sample is solved after the step.
    """

    errors: jax.Array
    updates: jax.Array
    solved: jax.Array


def sign(hidden: jax.Array) -> jax.Array:
    """The weights of hidden states, +-1 int32 (h odd, never 0; 0 would map to -1)."""
    return jnp.where(hidden > 0, 1, -1).astype(jnp.int32)


def init(key: jax.Array, n: int, weights: jax.Array | None = None) -> ClippedState:
    """The initial state: h_i = +-1 uniformly at random from ``key``, or h = ``weights`` (+-1).

    Shapes: weights (n,); state.hidden (n,) int32.
    """
    if weights is None:
        hidden = jax.random.rademacher(as_key(key), (n,), dtype=jnp.int32)
    else:
        hidden = sign(jnp.asarray(weights))
    zeros = jnp.zeros((n,), jnp.int32)
    return ClippedState(
        hidden, zeros, jnp.array(False), jnp.array(-1, jnp.int32), jnp.array(0, jnp.int32)
    )


def sweep_draws(key: jax.Array, p: int) -> tuple[jax.Array, jax.Array]:
    """The random order of one sweep and one uniform per presentation: ((P,) int32, (P,) float).

    ``order = permutation(k1, P)``, ``uniforms = uniform(k2, (P,))`` with
    ``k1, k2 = split(key)``; presentation s shows pattern ``order[s]`` and
    takes the stochastic branch iff ``uniforms[s] < p_s`` (or ``p_r``).
    """
    k_order, k_uniform = jax.random.split(as_key(key))
    return jax.random.permutation(k_order, p).astype(jnp.int32), jax.random.uniform(k_uniform, (p,))


def _mark_solved(state: ClippedState, weights: jax.Array, now_solved: jax.Array) -> ClippedState:
    new = now_solved & ~state.solved
    return state._replace(
        solution=jnp.where(new, weights, state.solution),
        solved=state.solved | now_solved,
        solved_at=jnp.where(new, state.sweeps, state.solved_at),
    )


def build_step(
    rule: str, *, kappa: float = 0.0, max_hidden: int | None = None
) -> Callable[..., tuple[ClippedState, ClippedInfo]]:
    """The one-sweep step of SBPI (``rule="sbpi"``) or CP+R (``rule="cp_r"``).

    ``step(key, state, data, p_s, theta_m)`` (SBPI) or ``step(key, state, data,
    p_r)`` (CP+R): data the absorbed int patterns (P, n); p_s, p_r, theta_m
    scalars (traced or not). SBPI: Delta < t: h += 2 xi; t <= Delta < t +
    theta_m and u < p_s: h += 2 xi where w xi = +1. CP+R: Delta < t: h += 2 xi;
    then if u < p_r: h += 2 sign(h). ``max_hidden`` (odd) clips h to
    [-max_hidden, max_hidden] (None: unbounded). Checks kappa >= 0.
    """
    if rule not in _RULES:
        raise ValueError(f"rule={rule!r}; expected one of {_RULES}")
    kappa = check_kappa(kappa, nonnegative=True)
    if max_hidden is not None:
        check_odd(max_hidden, "max_hidden")

    def clip(h):
        return h if max_hidden is None else jnp.clip(h, -max_hidden, max_hidden)

    def step(key, state: ClippedState, data, *params):
        xi = jnp.asarray(data).astype(jnp.int32)
        p_count, n = xi.shape
        t = threshold(kappa, n)
        w0 = sign(state.hidden)
        before = _mark_solved(state, w0, count_errors(stabilities(w0, xi), t) == 0)
        order, uniforms = sweep_draws(key, p_count)

        def present(h, s):
            x = xi[order[s]]
            w = sign(h)
            delta = jnp.dot(w, x, preferred_element_type=jnp.int32)
            error = delta < t
            h_err = h + 2 * x
            if rule == "sbpi":
                p_s, theta_m = params
                barely = (~error) & (delta < t + theta_m) & (uniforms[s] < p_s)
                h_new = jnp.where(error, h_err, jnp.where(barely & (w * x == 1), h + 2 * x, h))
                changed = error | barely
            else:
                (p_r,) = params
                h_new = jnp.where(error, h_err, h)
                reinforce = uniforms[s] < p_r
                h_new = jnp.where(reinforce, h_new + 2 * sign(h_new), h_new)
                changed = error | reinforce
            return clip(h_new), changed

        hidden, changed = jax.lax.scan(present, before.hidden, jnp.arange(p_count))
        swept = before._replace(hidden=hidden, sweeps=before.sweeps + 1)
        w1 = sign(hidden)
        errors = count_errors(stabilities(w1, xi), t)
        after = _mark_solved(swept, w1, errors == 0)
        # a sample solved before this sweep does not move
        new = jax.tree.map(lambda a, b: jnp.where(before.solved, a, b), before, after)
        info = ClippedInfo(
            jnp.where(before.solved, 0, errors),
            jnp.where(before.solved, 0, jnp.sum(changed, dtype=jnp.int32)),
            new.solved,
        )
        return new, info

    return step


def _solver(n: int, step: Callable, *params: Any) -> Algorithm:
    def init_fn(key, weights=None):
        return init(key, n, weights)

    def step_fn(key, state, data):
        return step(key, state, data, *params)

    def solved(state, data):  # noqa: ARG001
        return state.solved

    return Algorithm(init_fn, step_fn, solved)


def sbpi(
    n: int,
    *,
    kappa: float = 0.0,
    p_s: float = 0.3,
    theta_m: int = 1,
    max_hidden: int | None = None,
) -> Algorithm:
    """SBPI: clipped perceptron plus a metaplastic rule for barely correct patterns.

    Rule (labels absorbed, t = floor(kappa sqrt n) + 1): Delta < t: h += 2 xi;
    t <= Delta < t + theta_m, with probability p_s: h_i += 2 xi_i where
    w_i xi_i = +1. One step is one sweep over the patterns in random order.
    Baldassi, Braunstein, Brunel & Zecchina, PNAS 104, 11079 (2007).

    ``algo.init(key, weights=None)``: h = +-1 at random (or the given +-1
    weights); data for ``algo.step`` / `landscape.algorithms.run`: absorbed
    patterns (P, n) (`binary_patterns`), (sample, P, n) with ``samples=True``.

    Args:
        n: number of weights, odd.
        kappa: margin >= 0 of the solution criterion Delta > kappa sqrt(n).
        p_s: probability of the barely-correct update (0.3 default).
        theta_m: width of the barely-correct band above kappa sqrt(n), an
            integer >= 0 (1 default: at kappa = 0 only Delta = 1).
        max_hidden: odd bound on |h| (None, the default: unbounded).

    Example:
        >>> import jax
        >>> from landscape.algorithms import binary
        >>> xi = binary.random_binary_patterns(jax.random.key(0), 51, 0.3)
        >>> out = binary.solve(sbpi(51), jax.random.key(1), xi, 200)
        >>> bool(out.solved), int(out.solution.shape[0])
        (True, 51)
    """
    n = check_odd(n)
    p_s = check_probability(p_s, "p_s")
    if isinstance(theta_m, bool) or not isinstance(theta_m, int) or theta_m < 0:
        raise ValueError(f"theta_m={theta_m!r}; expected an integer >= 0")
    return _solver(n, build_step("sbpi", kappa=kappa, max_hidden=max_hidden), p_s, theta_m)


def cp_r_bound(n: int) -> float:
    """The CP+R reinforcement rate bound of Baldassi (2009): sqrt(2 / (pi n))."""
    return math.sqrt(2.0 / (math.pi * check_odd(n)))


def cp_r(
    n: int, *, kappa: float = 0.0, p_r: float | None = None, max_hidden: int | None = None
) -> Algorithm:
    """CP+R: the clipped perceptron plus stochastic unsupervised reinforcement.

    Rule (labels absorbed, t = floor(kappa sqrt n) + 1): Delta < t: h += 2 xi;
    then with probability p_r (every presentation): h_i += 2 sign(h_i) for all
    i. One step is one sweep over the patterns in random order. Baldassi,
    J Stat Phys 136, 902 (2009), whose analysis requires p_r < sqrt(2/(pi n))
    (`cp_r_bound`; 0.040 at n = 401).

    ``p_r=None`` uses ``0.075 * cp_r_bound(n)`` (0.0030 at n = 401), chosen by a
    scan on the storage problem at alpha = 0.6 (32 samples, 1000 sweeps):
    at n = 401, p_r = 0.0005, 0.001, 0.002, 0.003, 0.005, 0.007, 0.010, 0.035
    solved 0, 4, 31, 32, 21, 11, ~2/16, 0/16 of the samples; the factor 0.075 also
    solved 32/32 at n = 201 and 7/8 at n = 1001. The bound is necessary, not
    sufficient: rates well below it still fail.

    Args:
        n: number of weights, odd.
        kappa: margin >= 0.
        p_r: reinforcement probability per presentation (None: see above).
        max_hidden: odd bound on |h| (None: unbounded).
    """
    n = check_odd(n)
    p_r = 0.075 * cp_r_bound(n) if p_r is None else check_probability(p_r, "p_r")
    return _solver(n, build_step("cp_r", kappa=kappa, max_hidden=max_hidden), p_r)
