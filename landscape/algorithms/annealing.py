"""Replicated simulated annealing of the binary perceptron (the robust ensemble, RRRMC.jl's model).

y replicas w^1..w^y in {-1, +1}^n sampled from

    P(w^1..w^y) ~ exp(-beta sum_a E(w^a)) prod_i 2 cosh(gamma S_i),    S_i = sum_a w_i^a,

the robust ensemble with the centre traced out (Baldassi, Ingrosso, Lucibello,
Saglietti & Zecchina, PNAS 113, E7655 (2016); ``GraphRobustEnsemble`` of
C. Baldassi's RRRMC.jl), by Metropolis single flips: a flip of w_i^a is
accepted with probability

    min(1, exp(-beta dE_a + lc(gamma (S_i - 2 w_i^a)) - lc(gamma S_i))),  lc = log cosh,

with lc(x) = |x| + log1p(exp(-2|x|)) - log 2 (stable). ``y = 1`` is plain
simulated annealing (the coupling term vanishes: lc is even).

Energy (with t = floor(kappa sqrt n) + 1, `landscape.algorithms.binary.threshold`):

- ``"flips"`` (default): E = (2 / sqrt(n)) sum_mu max(0, ceil((t - Delta_mu)/2)),
  the fewest weight flips that satisfy each pattern (Theta(-Delta)(|Delta| + 1)/2
  at kappa = 0), scaled by 2/sqrt(n) exactly as RRRMC.jl's ``GraphPercLinear``,
  so its beta schedules carry over;
- ``"errors"``: E = sum_mu [Delta_mu < t], the error count (unscaled).

Energy differences are exact int32 counts, scaled once. One step is one
Metropolis sweep of every replica (y sweeps): at sub-step s = 0..n-1 replica a
proposes a flip at site (order[s] + a) mod n, all replicas at once. The sites
of different replicas differ (y <= n), so the parallel flips act on different
S_i and different E_a and equal the same flips made one replica after another;
every replica visits every site once per step. The order and the (n, y)
uniforms come from the step key (`sweep_draws`). beta and gamma follow
geometric schedules in the step count t: beta_t = beta beta_growth^t,
gamma_t = gamma gamma_growth^t (capped at 1e30 to stay finite). A sample is
solved when any replica has zero energy (looked for before and after every
step); the first such replica is kept as ``solution``.

The three layers: `init`, `build_step` (``step(key, state, data, beta,
gamma)``, over the bare kernel `build_sweep`) and the constructor
`replicated_annealing`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape._util import as_key, check_positive_int
from landscape.algorithms.base import Algorithm
from landscape.algorithms.binary import (
    check_kappa,
    check_odd,
    count_errors,
    minimal_flips,
    stabilities,
    threshold,
)

ENERGIES = ("flips", "errors")
#: Schedules are capped here so that beta dE and gamma S stay finite.
SCHEDULE_CAP = 1e30


class AnnealingState(NamedTuple):
    """Replicas and the first solution found.

    Attributes:
        weights: (replica, n) int32 +-1.
        solution: (n,) int32 the first zero-energy replica found (zeros until solved).
        solved: () bool.
        solved_at: () int32 steps done when it was found (-1 until); times y
            in sweeps.
        sweeps: () int32 steps done (the schedules' t; frozen once solved).
    """

    weights: jax.Array
    solution: jax.Array
    solved: jax.Array
    solved_at: jax.Array
    sweeps: jax.Array


class AnnealingInfo(NamedTuple):
    """Diagnostics of one step.

    Attributes:
        energy: (replica,) energy of every replica after the step.
        errors: (replica,) int32 error count of every replica after the step.
        acceptance: fraction of the n y proposed flips accepted.
        beta, gamma: the values the step used.
        solved: whether the sample is solved after the step.
    """

    energy: jax.Array
    errors: jax.Array
    acceptance: jax.Array
    beta: jax.Array
    gamma: jax.Array
    solved: jax.Array


def log_cosh(x: jax.Array) -> jax.Array:
    """The stable log cosh: lc(x) = |x| + log1p(exp(-2|x|)) - log 2, stable for large |x|."""
    a = jnp.abs(x)
    return a + jnp.log1p(jnp.exp(-2.0 * a)) - math.log(2.0)


def energy_counts(delta: jax.Array, t: int, energy: str) -> jax.Array:
    """Per-pattern integer energy: minimal flips or [Delta < t]; (..., P) -> (..., P) int32."""
    if energy == "flips":
        return minimal_flips(delta, t)
    return (delta < t).astype(jnp.int32)


def energy_scale(energy: str, n: int) -> float:
    """The factor from integer counts to the energy: 2 / sqrt(n) for "flips", 1 for "errors"."""
    return 2.0 / math.sqrt(n) if energy == "flips" else 1.0


def init(key: jax.Array, n: int, num_replicas: int, weights: jax.Array | None = None):
    """Replicas drawn independently and uniformly in {-1,+1}^n, or all at ``weights`` (n,) / (y, n).

    Shapes: state.weights (replica, n) int32.
    """
    if weights is None:
        w = jax.random.rademacher(as_key(key), (num_replicas, n), dtype=jnp.int32)
    else:
        w = jnp.broadcast_to(jnp.where(jnp.asarray(weights) > 0, 1, -1), (num_replicas, n))
        w = w.astype(jnp.int32)
    zeros = jnp.zeros((n,), jnp.int32)
    minus = jnp.array(-1, jnp.int32)
    return AnnealingState(w, zeros, jnp.array(False), minus, jnp.array(0, jnp.int32))


def sweep_draws(key: jax.Array, n: int, num_replicas: int) -> tuple[jax.Array, jax.Array]:
    """The site order and the uniforms of one step: ((n,) int32, (n, replica) float).

    ``order = permutation(k1, n)``, ``uniforms = uniform(k2, (n, y))`` with
    ``k1, k2 = split(key)``: at sub-step s replica a proposes site
    ``(order[s] + a) % n`` and accepts iff ``uniforms[s, a] < exp(log ratio)``.
    """
    k_order, k_uniform = jax.random.split(as_key(key))
    order = jax.random.permutation(k_order, n).astype(jnp.int32)
    return order, jax.random.uniform(k_uniform, (n, num_replicas))


def _mark(state: AnnealingState, weights, e, step_count) -> AnnealingState:
    zero = e == 0
    found = jnp.any(zero)
    first = weights[jnp.argmax(zero)]
    new = found & ~state.solved
    return state._replace(
        solution=jnp.where(new, first, state.solution),
        solved=state.solved | found,
        solved_at=jnp.where(new, step_count, state.solved_at),
    )


def build_sweep(
    num_replicas: int, *, kappa: float = 0.0, energy: str = "flips"
) -> Callable[..., tuple[jax.Array, jax.Array, jax.Array]]:
    """The bare Metropolis kernel ``sweep(key, weights, data, beta, gamma)``.

    One Metropolis sweep of every replica of ``weights`` (replica, n) on the
    absorbed patterns ``data`` (P, n), flips of replica a at site
    (order[s] + a) mod n (`sweep_draws`), no solution bookkeeping: it samples
    the replicated measure at fixed beta, gamma. Returns ``(weights (y, n),
    stabilities (y, P) int32, accepted flips ())``. ValueError if y > n (at
    trace time).
    """
    y = check_positive_int(num_replicas, "num_replicas")
    if energy not in ENERGIES:
        raise ValueError(f"energy={energy!r}; expected one of {ENERGIES}")
    kappa = check_kappa(kappa, nonnegative=False)
    replicas = jnp.arange(y)

    def sweep(key, weights, data, beta, gamma):
        xi = jnp.asarray(data).astype(jnp.int32)
        n = xi.shape[1]
        if y > n:
            raise ValueError(f"num_replicas={y} > n={n}; expected y <= n (distinct sites)")
        t = threshold(kappa, n)
        scale = energy_scale(energy, n)
        dtype = jnp.result_type(float)
        beta = jnp.asarray(beta, dtype)
        gamma = jnp.asarray(gamma, dtype)
        weights = weights.astype(jnp.int32)

        def e_int(delta):
            return jnp.sum(energy_counts(delta, t, energy), axis=-1, dtype=jnp.int32)

        order, uniforms = sweep_draws(key, n, y)

        def sub(carry, s):
            w, delta, spin_sum = carry
            sites = (order[s] + replicas) % n
            wi = w[replicas, sites]
            cols = xi[:, sites].T  # (y, P)
            new_delta = delta - 2 * wi[:, None] * cols
            d_e = e_int(new_delta) - e_int(delta)
            s_old = spin_sum[sites]
            s_new = s_old - 2 * wi
            energy_term = jnp.where(d_e == 0, 0.0, -beta * scale * d_e.astype(dtype))
            coupling = log_cosh(gamma * s_new.astype(dtype)) - log_cosh(gamma * s_old.astype(dtype))
            accept = uniforms[s] < jnp.exp(energy_term + coupling)
            w = w.at[replicas, sites].set(jnp.where(accept, -wi, wi))
            delta = jnp.where(accept[:, None], new_delta, delta)
            spin_sum = spin_sum.at[sites].add(jnp.where(accept, -2 * wi, 0))
            return (w, delta, spin_sum), jnp.sum(accept, dtype=jnp.int32)

        carry = (weights, stabilities(weights, xi), jnp.sum(weights, axis=0, dtype=jnp.int32))
        (w, delta, _), accepted = jax.lax.scan(sub, carry, jnp.arange(n))
        return w, delta, jnp.sum(accepted)

    return sweep


def build_step(
    num_replicas: int, *, kappa: float = 0.0, energy: str = "flips"
) -> Callable[..., tuple[AnnealingState, AnnealingInfo]]:
    """The replicated-annealing step ``step(key, state, data, beta, gamma) -> (state, info)``.

    `build_sweep`'s kernel plus the bookkeeping of the first solution: a sample
    whose replicas include a zero-energy one (before or after the sweep) is
    solved, and a solved sample's step is a no-op. data: absorbed patterns
    (P, n); beta, gamma scalars (traced or not).
    """
    y = check_positive_int(num_replicas, "num_replicas")
    sweep = build_sweep(y, kappa=kappa, energy=energy)

    def step(key, state: AnnealingState, data, beta, gamma):
        xi = jnp.asarray(data).astype(jnp.int32)
        n = xi.shape[1]
        t = threshold(kappa, n)
        scale = energy_scale(energy, n)
        dtype = jnp.result_type(float)

        def e_int(delta):
            return jnp.sum(energy_counts(delta, t, energy), axis=-1, dtype=jnp.int32)

        delta0 = stabilities(state.weights, xi)  # (y, P)
        before = _mark(state, state.weights, e_int(delta0), state.sweeps)
        w, delta, accepted = sweep(key, before.weights, xi, beta, gamma)
        swept = before._replace(weights=w, sweeps=before.sweeps + 1)
        after = _mark(swept, w, e_int(delta), swept.sweeps)
        new = jax.tree.map(lambda a, b: jnp.where(before.solved, a, b), before, after)
        delta_new = jnp.where(before.solved, delta0, delta)
        info = AnnealingInfo(
            scale * e_int(delta_new).astype(dtype),
            count_errors(delta_new, t),
            jnp.where(before.solved, 0.0, accepted / (n * y)),
            jnp.asarray(beta, dtype),
            jnp.asarray(gamma, dtype),
            new.solved,
        )
        return new, info

    return step


def _check_schedule(value, growth, name: str) -> None:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name}={value!r}; expected a finite value >= 0")
    okg = isinstance(growth, (int, float, np.integer, np.floating)) and not isinstance(growth, bool)
    if not okg or not (math.isfinite(growth) and growth > 0):
        raise ValueError(f"{name}_growth={growth!r}; expected a finite growth factor > 0")


def geometric(start: float, growth: float, t: jax.Array) -> jax.Array:
    """The geometric schedule start * growth^t in floating point, capped at `SCHEDULE_CAP`."""
    dtype = jnp.result_type(float)
    t = jnp.asarray(t, dtype)
    log_value = math.log(start) + t * math.log(growth) if start > 0 else None
    if log_value is None:
        return jnp.zeros((), dtype)
    return jnp.exp(jnp.minimum(log_value, math.log(SCHEDULE_CAP)))


def replicated_annealing(
    n: int,
    *,
    y: int = 7,
    kappa: float = 0.0,
    energy: str = "flips",
    beta: float = 1.0,
    beta_growth: float = 1.02,
    gamma: float = 0.1,
    gamma_growth: float = 1.02,
) -> Algorithm:
    """Replicated simulated annealing (robust ensemble) of the binary perceptron.

    Samples exp(-beta sum_a E(w^a)) prod_i 2 cosh(gamma S_i) by Metropolis with
    beta_t = beta beta_growth^t, gamma_t = gamma gamma_growth^t (t = steps,
    one step = one sweep of every replica = y sweeps). Solved when any replica
    has zero energy. Baldassi et al., PNAS 113, E7655 (2016); RRRMC.jl.

    The defaults (y = 7, beta 1 -> x1.02 per step, gamma 0.1 -> x1.02 per
    step, "flips" energy) are not from a paper: they were tuned here for a
    budget of ~140 steps (1000 sweeps) at n = 401, alpha = 0.6, where they
    solved 15 of 16 samples (y = 3 or 5 with slower schedules: 1-12 of 16;
    plain annealing y = 1 with beta 0.5 -> x1.01 or 1 -> x1.02: 0 of 16 in 1000
    sweeps). Scale the growth factors with the budget.

    ``algo.init(key, weights=None)``: y independent uniform replicas (or all
    at ``weights``); data: absorbed patterns (P, n) (`binary_patterns`).

    Args:
        n: number of weights, odd.
        y: number of replicas, 1 <= y <= n (1: simulated annealing).
        kappa: margin of the solution criterion Delta > kappa sqrt(n).
        energy: "flips" (RRRMC.jl's scale 2/sqrt(n), the default) or "errors".
        beta, beta_growth: the inverse temperature's schedule.
        gamma, gamma_growth: the coupling's schedule.
    """
    n = check_odd(n)
    y = check_positive_int(y, "y")
    if y > n:
        raise ValueError(f"y={y}; expected 1 <= y <= n={n} (replicas update at distinct sites)")
    _check_schedule(beta, beta_growth, "beta")
    _check_schedule(gamma, gamma_growth, "gamma")
    step = build_step(y, kappa=kappa, energy=energy)

    def init_fn(key, weights=None):
        return init(key, n, y, weights)

    def step_fn(key, state, data):
        b = geometric(beta, beta_growth, state.sweeps)
        g = geometric(gamma, gamma_growth, state.sweeps)
        return step(key, state, data, b, g)

    def solved(state, data):  # noqa: ARG001
        return state.solved

    return Algorithm(init_fn, step_fn, solved)
