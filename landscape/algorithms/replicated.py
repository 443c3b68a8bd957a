"""Replicated SGD (the robust ensemble): replicas coupled elastically to a centre.

Baldassi, Ingrosso, Lucibello, Saglietti & Zecchina, "Unreasonable effectiveness
of learning neural networks: from accessible states and robust ensembles to
basic algorithmic schemes", PNAS 2016; Pittorino et al., "Entropic gradient
descent algorithms and wide flat minima", ICLR 2021. Each replica a minimises

    L_a(w_a) + (gamma / 2) |w_a - c|^2

on its own minibatch, with c the replica mean or a separate centre variable,
and gamma grows geometrically (scoping) so that the replicas collapse onto the
centre. The centre is the minimum that is measured afterwards.

The replica axis is vmapped and sharded over devices by
`landscape.parallel.replica_map`; the centre is a collective mean that ignores
padded replicas, so the trajectory does not depend on the number of devices.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from landscape import parallel
from landscape._util import as_key, check_positive_int
from landscape.algorithms.base import Algorithm
from landscape.algorithms.gradient import minibatch
from landscape.problem import Batch, Problem

_CENTERS = ("mean", "explicit")


class ReplicatedState(NamedTuple):
    """Replicas (leading ``replica`` axis), their optimizer states, the centre and gamma.

    Attributes:
        params: replica parameters, every leaf (R, ...).
        opt_state: the optimizer state of every replica, leading axis R.
        center: the centre c (no replica axis): the replica mean, or the
            explicit centre variable.
        center_opt_state: the optimizer state of the explicit centre (the
            initial state, unused, for ``center="mean"``).
        gamma: the current coupling (scalar).
    """

    params: Any
    opt_state: Any
    center: Any
    center_opt_state: Any
    gamma: jax.Array


class ReplicatedInfo(NamedTuple):
    """Diagnostics of one step, measured before the update.

    Attributes:
        center_loss: loss of the centre on a minibatch of ``batch_size`` examples.
        center_errors: training error of the centre on that minibatch.
        replica_loss: mean over replicas of each replica's minibatch loss.
        replica_errors: mean over replicas of each replica's minibatch error.
        distance: mean squared replica-centre distance (1/R) sum_a |w_a - c|^2.
        gamma: the coupling used by this step.
    """

    center_loss: jax.Array
    center_errors: jax.Array
    replica_loss: jax.Array
    replica_errors: jax.Array
    distance: jax.Array
    gamma: jax.Array


class CenterReport(NamedTuple):
    """Whether the centre of a replicated run is itself a solution.

    Attributes:
        center_errors: training error of the centre on the full data.
        replica_errors: training error of every replica on the full data, (R,).
        is_solution: True if the centre has zero training error.
        message: a one-line account, saying so when the centre is not a solution.
    """

    center_errors: float
    replica_errors: np.ndarray
    is_solution: bool
    message: str


def check_gamma(gamma: float, gamma_growth: float, name: str = "gamma") -> None:
    """Raise ValueError for a negative coupling or a non-positive growth factor."""
    if not (isinstance(gamma, (int, float, np.floating)) and gamma >= 0 and math.isfinite(gamma)):
        raise ValueError(f"{name}={gamma!r}; expected a finite coupling >= 0")
    if not (isinstance(gamma_growth, (int, float, np.floating)) and gamma_growth > 0):
        raise ValueError(f"{name}_growth={gamma_growth!r}; expected a growth factor > 0")


def _sq_norm(tree) -> jax.Array:
    return sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(tree))


def init(
    key: jax.Array,
    params: Any,
    optimizer: optax.GradientTransformation,
    num_replicas: int,
    *,
    gamma: float,
    center_optimizer: optax.GradientTransformation | None = None,
    model_init: Callable[[jax.Array], Any] | None = None,
) -> ReplicatedState:
    """The initial `ReplicatedState`: replicas at ``params``, or independent starts.

    With ``model_init=None`` every replica starts at ``params`` (one network, no
    replica axis) and the centre is ``params``. With a model's ``init``
    function, replica a starts at ``model_init(split(fold_in(key, 1), R)[a])``
    (independent draws; ``params`` only fixes the structure) and the centre at
    their mean. Each replica's optimizer state is initialised at its start.

    Shapes: params any pytree; state.params leaves (replica, ...).
    """
    num_replicas = check_positive_int(num_replicas, "num_replicas")
    center_opt = center_optimizer if center_optimizer is not None else optimizer
    if model_init is None:
        replicas = jax.tree.map(
            lambda x: jnp.broadcast_to(x, (num_replicas, *jnp.shape(x))), params
        )
        c = jax.tree.map(jnp.asarray, params)
    else:
        keys = jax.random.split(jax.random.fold_in(as_key(key), 1), num_replicas)
        replicas = jax.vmap(model_init)(keys)
        c = jax.tree.map(lambda a: jnp.mean(a, axis=0), replicas)
    opt_state = jax.vmap(optimizer.init)(replicas)
    dtype = jnp.result_type(*jax.tree.leaves(params))
    return ReplicatedState(replicas, opt_state, c, center_opt.init(c), jnp.asarray(gamma, dtype))


def build_step(
    problem: Problem,
    optimizer: optax.GradientTransformation,
    num_replicas: int,
    *,
    center: str = "mean",
    center_optimizer: optax.GradientTransformation | None = None,
    batch_size: int | None = None,
    shard: bool = True,
) -> Callable[..., tuple[ReplicatedState, ReplicatedInfo]]:
    """The replicated-SGD step ``step(key, state, data, gamma) -> (state, info)``.

    The coupling ``gamma`` is an argument (a scalar, traced or not), so a
    schedule can be scanned or vmapped; the step leaves ``state.gamma`` as it
    was (the constructor `replicated_sgd` keeps its scoping schedule there).
    Replica a follows ``optimizer`` on grad L_B(w_a) + gamma (w_a - c) with
    minibatch B from ``fold_in(key_replicas, a)``; see `replicated_sgd`.
    """
    num_replicas = check_positive_int(num_replicas, "num_replicas")
    if center not in _CENTERS:
        raise ValueError(f"center={center!r}; expected one of {_CENTERS}")
    if batch_size is not None:
        check_positive_int(batch_size, "batch_size")
    center_opt = center_optimizer if center_optimizer is not None else optimizer

    def per_replica(k, params, opt_state, c, g, data, mean):
        batch = minibatch(k, data, batch_size)
        loss, grads = jax.value_and_grad(problem.loss)(params, batch)
        errors = problem.errors(params, batch)
        diff = jax.tree.map(jnp.subtract, params, c)
        grads = jax.tree.map(lambda gr, d: gr + g * d, grads, diff)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        new_params = optax.apply_updates(params, updates)
        stats = mean((loss, errors, _sq_norm(diff)))
        mean_old = mean(params) if center == "explicit" else None
        new_center = mean(new_params) if center == "mean" else None
        return new_params, opt_state, stats, mean_old, new_center

    mapped = parallel.replica_map(per_replica, in_axes=(0, 0, 0, None, None, None), shard=shard)

    def step(key, state: ReplicatedState, data: Batch, gamma):
        k_rep, k_center = jax.random.split(key)
        keys = jax.vmap(lambda a: jax.random.fold_in(k_rep, a))(jnp.arange(num_replicas))
        c = state.center
        center_batch = minibatch(k_center, data, batch_size)
        center_loss = problem.loss(c, center_batch)
        center_errors = problem.errors(c, center_batch)
        params, opt_state, stats, mean_old, new_center = mapped(
            keys, state.params, state.opt_state, c, gamma, data
        )
        first = lambda tree: jax.tree.map(lambda x: x[0], tree)
        loss, errors, distance = first(stats)
        center_opt_state = state.center_opt_state
        if center == "mean":
            new_center = first(new_center)
        else:
            mean_old = first(mean_old)
            grad_c = jax.tree.map(lambda ci, mi: gamma * (ci - mi), c, mean_old)
            updates, center_opt_state = center_opt.update(grad_c, center_opt_state, c)
            new_center = optax.apply_updates(c, updates)
        info = ReplicatedInfo(center_loss, center_errors, loss, errors, distance, gamma)
        new_state = ReplicatedState(params, opt_state, new_center, center_opt_state, state.gamma)
        return new_state, info

    return step


def replicated_sgd(
    problem: Problem,
    optimizer: optax.GradientTransformation,
    num_replicas: int,
    *,
    gamma: float,
    gamma_growth: float = 1.0,
    gamma_max: float = math.inf,
    center: str = "mean",
    center_optimizer: optax.GradientTransformation | None = None,
    batch_size: int | None = None,
    shard: bool = True,
    independent_starts: bool = False,
) -> Algorithm:
    """Replicated SGD: R replicas, each on its own minibatch, coupled elastically to a centre.

    Replica a follows ``optimizer`` on grad L_B(w_a) + gamma (w_a - c), with
    minibatch B drawn from ``fold_in(key_replicas, a)``. ``center="mean"``:
    c = (1/R) sum_a w_a, a collective mean over the replica axis.
    ``center="explicit"``: c is its own variable moved by the same coupling,
    grad_c = gamma (c - (1/R) sum_a w_a) (the gradient of
    (gamma/2) sum_a |w_a - c|^2 divided by R, so its step does not grow with
    R), through ``center_optimizer`` (default: ``optimizer``). After every step
    gamma <- min(gamma * gamma_growth, gamma_max) (scoping). ``gamma=0`` gives
    R independent SGD runs, the control.

    ``init(key, params)`` (`init`) starts every replica at ``params`` (one
    network, no replica axis), or with ``independent_starts=True`` draws
    replica a from ``problem.model.init`` (keys ``split(fold_in(key, 1), R)``)
    with the centre at their mean. ``solved`` holds when the centre has zero
    training error on the full data (the centre is the minimum that is
    measured; see `center_report`). The step is `build_step`'s with gamma
    taken from the state. Baldassi et al., PNAS 2016; Pittorino et al., ICLR
    2021.

    Shapes: state.params leaves (replica, ...); data a shared Batch (P, ...).

    Args:
        problem: the model and loss.
        optimizer: any optax optimizer, one copy of its state per replica.
        num_replicas: R >= 1.
        gamma: the initial coupling, >= 0.
        gamma_growth: factor applied to gamma after every step (> 0; 1 = fixed).
        gamma_max: a cap on gamma (keeps lr * gamma inside the stable range).
        center: "mean" or "explicit".
        center_optimizer: the explicit centre's optimizer (default ``optimizer``).
        batch_size: minibatch size per replica (None: full batch).
        shard: split the replica axis over devices (`parallel.replica_map`).
        independent_starts: draw every replica's start from the model's init.

    Example:
        >>> import jax, optax
        >>> from landscape import data, losses, models, Problem
        >>> batch = data.random_patterns(jax.random.key(0), n=20, p=10)
        >>> problem = Problem(models.perceptron(20), losses.hinge(0.1))
        >>> algo = replicated_sgd(problem, optax.sgd(0.5), 3, gamma=0.1, batch_size=5)
        >>> state = algo.init(jax.random.key(1), problem.model.init(jax.random.key(2)))
        >>> state, info = algo.step(jax.random.key(3), state, batch)
        >>> state.params["w"].shape, info.distance.shape
        ((3, 20), ())
    """
    num_replicas = check_positive_int(num_replicas, "num_replicas")
    check_gamma(gamma, gamma_growth)
    if not gamma_max >= gamma:
        raise ValueError(f"gamma_max={gamma_max!r}; expected gamma_max >= gamma={gamma}")
    kernel = build_step(
        problem,
        optimizer,
        num_replicas,
        center=center,
        center_optimizer=center_optimizer,
        batch_size=batch_size,
        shard=shard,
    )

    def init_fn(key, params):
        return init(
            key,
            params,
            optimizer,
            num_replicas,
            gamma=gamma,
            center_optimizer=center_optimizer,
            model_init=problem.model.init if independent_starts else None,
        )

    def step(key, state: ReplicatedState, data: Batch):
        new_state, info = kernel(key, state, data, state.gamma)
        new_gamma = jnp.minimum(state.gamma * gamma_growth, gamma_max).astype(state.gamma.dtype)
        return new_state._replace(gamma=new_gamma), info

    def solved(state, data):
        return problem.errors(state.center, data) == 0

    return Algorithm(init_fn, step, solved)


def center_report(problem: Problem, state: ReplicatedState, data: Batch) -> CenterReport:
    """Training errors of the centre and of every replica on the full data.

    Says whether the centre is a solution: the centre is the minimum that is
    measured afterwards, so a run whose centre keeps training errors is reported.

    Shapes: state.params leaves (replica, ...); returns replica_errors (replica,).
    """
    center_errors = float(problem.errors(state.center, data))
    replica_errors = np.asarray(
        jax.vmap(lambda p: problem.errors(p, data))(state.params), dtype=float
    )
    ok = center_errors == 0.0
    if ok:
        message = "the centre is a solution (zero training error)"
    else:
        message = (
            f"the centre is NOT a solution: training error {center_errors:.4g} "
            f"(replicas: min {replica_errors.min():.4g}, mean {replica_errors.mean():.4g})"
        )
    return CenterReport(center_errors, replica_errors, ok, message)
