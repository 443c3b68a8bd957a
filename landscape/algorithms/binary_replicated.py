"""Binary replicated SGD: y binary perceptrons coupled through their hidden states to their centre.

The published rule of Baldassi, Borgs, Chayes, Ingrosso, Lucibello, Saglietti &
Zecchina, "Unreasonable effectiveness of learning neural networks: from
accessible states and robust ensembles to basic algorithmic schemes", PNAS 113,
E7655 (2016), SI (reference code: C. Baldassi's BinaryCommitteeMachineRSGD.jl,
the perceptron case K = 1, its default ``:tanh`` formula). Replica a = 1..y has
continuous hidden states H_a (n,) and binary weights w_a = sign(H_a) (+1 iff
H_a > 0); the centre is H_c = (1/y) sum_a w_a, so y H_c = S = sum_a w_a (an
integer, held exactly), and its weights are sign(S) (+1 iff S > 0; no tie for
odd y). The replicas start equal (all at one random +-1 vector, H = w).

One **step** is one epoch of every replica (y sweeps in
`landscape.algorithms.binary`'s sense: one epoch is n P pattern-weight updates
per replica). Each replica walks its own random order of the P patterns in
minibatches of ``batch`` patterns (the last one shorter when ``batch`` does not
divide P); for each minibatch b the replicas take their turn in a fresh random
order, and replica a

1. takes a perceptron-rule gradient step on the minibatch's errors, counted
   with the weights at the start of the minibatch,
   H_a <- H_a + eta sum_{mu in b : Delta_mu^a < t} xi_mu
   (Delta^a = w_a . xi, t = floor(kappa sqrt n) + 1, labels absorbed), and
   w_a <- sign(H_a);
2. is kicked towards the centre:
   H_a <- H_a + lambda (tanh(gamma y H_c) - w_a) = H_a + lambda (tanh(gamma S) - w_a),
   with S taken *before* this replica's gradient step (as the reference code's
   incrementally kept centre) and w_a after it; at gamma = inf
   tanh(gamma S) = sign(S) (0 at S = 0). Then w_a <- sign(H_a) and S is
   updated with the replica's new weights.

This couples the **binary** weights w_a to the centre. It is not the
library's `landscape.algorithms.replicated_sgd` on
``models.perceptron(n, binary=True)``, which couples the *latent* real
weights elastically to their mean ("latent-coupled replicated SGD").

Schedules per epoch t: eta_t = eta eta_growth^t, lambda_t = lambda
lambda_growth^t, gamma_t = gamma gamma_growth^t (geometric, capped at 1e30;
the reference code also offers an additive gamma). A sample is **solved** when
the centre sign(S) or any replica is a solution (the reference's default,
``waitcenter=false``; ``require_center=True`` waits for the centre), looked for
before and after every epoch; ``solution`` keeps the centre if it solves, else
the first solving replica, and ``solved_by`` says which (y for the centre).
Once solved a sample's step is a no-op.

The three layers: `init`, `build_step` (``step(key, state, data, eta,
lam, gamma)``) and the constructor `binary_replicated_sgd`; `sweep_draws` gives
the random orders a step uses (for independent re-implementations).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape._util import as_key, check_positive_int
from landscape.algorithms.annealing import SCHEDULE_CAP
from landscape.algorithms.base import Algorithm
from landscape.algorithms.binary import (
    check_kappa,
    check_odd,
    count_errors,
    stabilities,
    threshold,
)


class BinaryReplicatedState(NamedTuple):
    """Hidden states of the replicas and the first solution found.

    Attributes:
        hidden: (replica, n) float hidden states H_a.
        weights: (replica, n) int32 w_a = sign(H_a) (+1 iff H_a > 0).
        solution: (n,) int32 the first solution found (zeros until solved).
        solved: () bool.
        solved_by: () int32 which configuration solved: replica index 0..y-1,
            y for the centre, -1 until solved.
        solved_at: () int32 epochs done when it was found (-1 until); times y
            in sweeps (`landscape.algorithms.solve` converts).
        sweeps: () int32 epochs done (the schedules' t; frozen once solved).
    """

    hidden: jax.Array
    weights: jax.Array
    solution: jax.Array
    solved: jax.Array
    solved_by: jax.Array
    solved_at: jax.Array
    sweeps: jax.Array


class BinaryReplicatedInfo(NamedTuple):
    """Diagnostics of one step (one epoch of every replica).

    Attributes:
        best_errors: () int32 fewest errors of a replica after the step.
        mean_errors: () mean errors of the replicas after the step.
        center_errors: () int32 errors of the centre sign(S) after the step.
        distance: () mean over replicas of the normalised Hamming distance
            between w_a and the centre's weights.
        eta, lam, gamma: the values the step used.
        solved: whether the sample is solved after the step.
    """

    best_errors: jax.Array
    mean_errors: jax.Array
    center_errors: jax.Array
    distance: jax.Array
    eta: jax.Array
    lam: jax.Array
    gamma: jax.Array
    solved: jax.Array


def sign(hidden: jax.Array) -> jax.Array:
    """The weights of hidden states: +1 where H > 0, else -1 (int32), as the reference code."""
    return jnp.where(hidden > 0, 1, -1).astype(jnp.int32)


def center_weights(weights: jax.Array) -> jax.Array:
    """The centre's weights sign(sum_a w_a) (+1 iff the sum is > 0), (replica, n) -> (n,)."""
    return jnp.where(jnp.sum(weights, axis=-2) > 0, 1, -1).astype(jnp.int32)


def init(
    key: jax.Array, n: int, num_replicas: int, weights: jax.Array | None = None
) -> BinaryReplicatedState:
    """Equal replicas: H_a = w for every a, w uniform in {-1, +1}^n from ``key`` or ``weights``.

    Shapes: weights (n,); state.hidden (replica, n) float, state.weights (replica, n) int32.
    """
    if weights is None:
        w = jax.random.rademacher(as_key(key), (n,), dtype=jnp.int32)
    else:
        w = jnp.where(jnp.asarray(weights) > 0, 1, -1).astype(jnp.int32)
    w = jnp.broadcast_to(w, (num_replicas, n))
    dtype = jnp.result_type(float)
    return BinaryReplicatedState(
        w.astype(dtype),
        w,
        jnp.zeros((n,), jnp.int32),
        jnp.array(False),
        jnp.array(-1, jnp.int32),
        jnp.array(-1, jnp.int32),
        jnp.array(0, jnp.int32),
    )


def num_minibatches(p: int, batch: int) -> int:
    """Minibatches per epoch, ceil(P / batch)."""
    return -(-p // batch)


def sweep_draws(key: jax.Array, p: int, num_replicas: int, batch: int):
    """The random orders of one epoch: ((replica, P) int32, (minibatch, replica) int32).

    ``k1, k2 = split(key)``; replica a presents patterns ``orders[a]`` in
    consecutive minibatches of ``batch``, ``orders = argsort(uniform(k1, (y, P)))``
    row by row (a uniform random permutation per replica), and at minibatch b
    the replicas take turns in the order ``turns[b]``,
    ``turns = argsort(uniform(k2, (ceil(P / batch), y)))``.
    """
    k_orders, k_turns = jax.random.split(as_key(key))
    orders = jnp.argsort(jax.random.uniform(k_orders, (num_replicas, p)), axis=1)
    turns = jnp.argsort(
        jax.random.uniform(k_turns, (num_minibatches(p, batch), num_replicas)), axis=1
    )
    return orders.astype(jnp.int32), turns.astype(jnp.int32)


def coupling_target(spin_sum: jax.Array, gamma: jax.Array) -> jax.Array:
    """tanh(gamma S) for the integer replica sum S = y H_c; sign(S) at gamma = inf."""
    dtype = jnp.result_type(float)
    s = spin_sum.astype(dtype)
    inf = jnp.isinf(gamma)
    finite = jnp.tanh(jnp.where(inf, 1.0, gamma) * s)
    return jnp.where(inf, jnp.sign(s), finite)


def _mark_with(state, weights, center, center_ok, replica_ok, y, epochs):
    found = center_ok | jnp.any(replica_ok)
    by = jnp.where(center_ok, y, jnp.argmax(replica_ok)).astype(jnp.int32)
    first = jnp.where(center_ok, center, weights[jnp.argmax(replica_ok)])
    new = found & ~state.solved
    return state._replace(
        solution=jnp.where(new, first, state.solution),
        solved=state.solved | found,
        solved_by=jnp.where(new, by, state.solved_by),
        solved_at=jnp.where(new, epochs, state.solved_at),
    )


def build_step(
    num_replicas: int, *, batch: int = 5, kappa: float = 0.0, require_center: bool = False
) -> Callable[..., tuple[BinaryReplicatedState, BinaryReplicatedInfo]]:
    """One epoch of every replica: ``step(key, state, data, eta, lam, gamma) -> (state, info)``.

    data: absorbed patterns (P, n) (`landscape.algorithms.binary_patterns`);
    eta, lam, gamma scalars (traced or not; gamma may be inf). The rule is in
    the module docstring; the orders come from `sweep_draws`. Solved: the
    centre or any replica is a solution (only the centre with
    ``require_center``), checked before and after the epoch.
    """
    y = check_positive_int(num_replicas, "num_replicas")
    batch = check_positive_int(batch, "batch")
    kappa = check_kappa(kappa, nonnegative=True)

    def step(key, state: BinaryReplicatedState, data, eta, lam, gamma):
        xi = jnp.asarray(data).astype(jnp.int32)
        p, n = xi.shape
        t = threshold(kappa, n)
        dtype = state.hidden.dtype
        eta = jnp.asarray(eta, dtype)
        lam = jnp.asarray(lam, dtype)
        gamma = jnp.asarray(gamma, dtype)

        def evaluate(w):
            """The centre's weights and the errors of the y replicas and the centre, (y + 1,)."""
            center = center_weights(w)
            both = jnp.concatenate([w, center[None, :]], axis=0)
            return center, count_errors(stabilities(both, xi), t)

        def mark(s, w, epochs):
            center, errors = evaluate(w)
            replica_ok = errors[:y] == 0
            if require_center:
                replica_ok = jnp.zeros_like(replica_ok)
            return _mark_with(s, w, center, errors[y] == 0, replica_ok, y, epochs), errors

        before, errors_before = mark(state, state.weights, state.sweeps)
        orders, turns = sweep_draws(key, p, y, batch)
        m = num_minibatches(p, batch)
        padded = jnp.concatenate(
            [orders, jnp.full((y, m * batch - p), -1, jnp.int32)], axis=1
        ).reshape(y, m, batch)

        def turn(carry, a, b):
            hidden, weights, spin_sum = carry
            h, w_old = hidden[a], weights[a]
            idx = padded[a, b]
            rows = xi[jnp.maximum(idx, 0)]  # (batch, n)
            wrong = (rows @ w_old < t) & (idx >= 0)
            grad = jnp.sum(jnp.where(wrong[:, None], rows, 0), axis=0, dtype=jnp.int32)
            h = h + eta * grad.astype(dtype)
            w_mid = sign(h)
            h = h + lam * (coupling_target(spin_sum, gamma) - w_mid.astype(dtype))
            w_new = sign(h)
            spin_sum = spin_sum + w_new - w_old
            return (hidden.at[a].set(h), weights.at[a].set(w_new), spin_sum)

        def body(carry, i):
            b = i // y
            return turn(carry, turns[b, i % y], b), None

        spin_sum0 = jnp.sum(before.weights, axis=0, dtype=jnp.int32)
        (hidden, weights, _), _ = jax.lax.scan(
            body, (before.hidden, before.weights, spin_sum0), jnp.arange(m * y)
        )
        swept = before._replace(hidden=hidden, weights=weights, sweeps=before.sweeps + 1)
        after, errors_after = mark(swept, weights, swept.sweeps)
        new = jax.tree.map(lambda a, b: jnp.where(before.solved, a, b), before, after)
        errors = jnp.where(before.solved, errors_before, errors_after)
        center = center_weights(new.weights)
        info = BinaryReplicatedInfo(
            jnp.min(errors[:y]),
            jnp.mean(errors[:y], dtype=dtype),
            errors[y],
            jnp.mean(new.weights != center[None, :], dtype=dtype),
            eta,
            lam,
            gamma,
            new.solved,
        )
        return new, info

    return step


def _check_nonnegative(value: Any, name: str, *, allow_inf: bool = False) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or math.isnan(value) or value < 0 or (math.isinf(value) and not allow_inf):
        want = "a value >= 0 (inf allowed)" if allow_inf else "a finite value >= 0"
        raise ValueError(f"{name}={value!r}; expected {want}")
    return float(value)


def _check_growth(value: Any, name: str) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value!r}; expected a finite growth factor > 0")
    return float(value)


def schedule(start: float, growth: float, t: jax.Array) -> jax.Array:
    """The schedule start * growth^t, capped at 1e30 (inf stays inf, 0 stays 0)."""
    dtype = jnp.result_type(float)
    t = jnp.asarray(t, dtype)
    if start == 0 or math.isinf(start):
        return jnp.full((), start, dtype)
    log_value = math.log(start) + t * math.log(growth)
    return jnp.exp(jnp.minimum(log_value, math.log(SCHEDULE_CAP)))


def binary_replicated_sgd(
    n: int,
    *,
    y: int = 7,
    batch: int = 5,
    kappa: float = 0.0,
    eta: float = 2.0,
    eta_growth: float = 1.0,
    lam: float = 0.3,
    lam_growth: float = 1.0,
    gamma: float = 0.1,
    gamma_growth: float = 1.02,
    require_center: bool = False,
) -> Algorithm:
    """Binary replicated SGD (robust ensemble) of the binary perceptron, the published rule.

    y binary replicas w_a = sign(H_a), started equal; per minibatch of their own
    random order each replica takes a perceptron step on its errors,
    H_a += eta sum_errors xi_mu, then the kick H_a += lambda (tanh(gamma y H_c) - w_a)
    with H_c = (1/y) sum_a w_a (full rule in the module docstring). One step =
    one epoch of every replica = y sweeps. Solved when the centre or any
    replica is a solution. Baldassi et al., PNAS 113, E7655 (2016), SI;
    BinaryCommitteeMachineRSGD.jl.

    Defaults: eta = 2 and batch = 5 are the reference code's; y = 7,
    lambda = 0.3 (constant) and gamma 0.1 -> x1.02 per epoch were tuned here for
    a budget of 142 epochs (1000 sweeps) at n = 401 (samples solved of 16 at
    alpha = 0.7 for (lambda, gamma, gamma_growth)):
    (0.1, 0.1, 1.05) 1; (0.1, inf, -) 0; (0.3, 0.1, 1.05) 5; (0.6, 0.1, 1.05) 3;
    (1.0, 0.1, 1.05) 0; (0.3, 0.1, 1.03) 7; (0.3, 0.05, 1.03) 7; (0.3, 0.1, 1.02) 8;
    y = 5, lambda = 0.5: 2. At alpha = 0.6 (0.3, 0.1, 1.03) solved 16/16 and
    the reference code's own defaults (lambda = 0.1, gamma = inf from the start)
    8/8 with y = 7, 5/8 with y = 3 and 0/8 with y = 1 (no coupling partner).
    Scale gamma_growth with the budget (the algorithmic-threshold study does).

    ``algo.init(key, weights=None)``: y equal replicas at a random +-1 vector
    (or at ``weights``); data: absorbed patterns (P, n) (`binary_patterns`),
    (sample, P, n) with ``samples=True`` in `landscape.algorithms.solve`.

    Args:
        n: number of weights, odd.
        y: number of replicas >= 1.
        batch: minibatch size >= 1.
        kappa: margin >= 0 of the criterion Delta > kappa sqrt(n) (also the
            error criterion of the gradient step).
        eta, eta_growth: learning rate and its growth per epoch.
        lam, lam_growth: the kick strength lambda and its growth per epoch.
        gamma, gamma_growth: the coupling's schedule (gamma may be inf).
        require_center: count only the centre as a solution.

    Example:
        >>> import jax
        >>> from landscape.algorithms import binary
        >>> xi = binary.random_binary_patterns(jax.random.key(0), 51, 0.3)
        >>> out = binary.solve(binary_replicated_sgd(51, y=3), jax.random.key(1), xi, 100)
        >>> bool(out.solved)
        True
    """
    n = check_odd(n)
    y = check_positive_int(y, "y")
    batch = check_positive_int(batch, "batch")
    eta = _check_nonnegative(eta, "eta")
    lam = _check_nonnegative(lam, "lam")
    gamma = _check_nonnegative(gamma, "gamma", allow_inf=True)
    eta_growth = _check_growth(eta_growth, "eta_growth")
    lam_growth = _check_growth(lam_growth, "lam_growth")
    gamma_growth = _check_growth(gamma_growth, "gamma_growth")
    step = build_step(y, batch=batch, kappa=kappa, require_center=bool(require_center))

    def init_fn(key, weights=None):
        return init(key, n, y, weights)

    def step_fn(key, state, data):
        e = schedule(eta, eta_growth, state.sweeps)
        lm = schedule(lam, lam_growth, state.sweeps)
        g = schedule(gamma, gamma_growth, state.sweeps)
        return step(key, state, data, e, lm, g)

    def solved(state, data):  # noqa: ARG001
        return state.solved

    return Algorithm(init_fn, step_fn, solved)
