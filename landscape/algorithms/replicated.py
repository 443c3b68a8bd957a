"""Replicated SGD (the robust ensemble): replicas coupled elastically to a centre.

Baldassi, Ingrosso, Lucibello, Saglietti & Zecchina, "Unreasonable effectiveness
of learning neural networks: from accessible states and robust ensembles to
basic algorithmic schemes", PNAS 2016; Pittorino et al., "Entropic gradient
descent algorithms and wide flat minima", ICLR 2021. Each replica a minimises

    L_a(w_a) + (gamma / 2) |w_a - c|^2

on its own minibatch, with c the replica mean or a separate centre variable,
and gamma grows geometrically (scoping) so that the replicas collapse onto the
centre. The centre is the minimum that is measured afterwards.

Convention: the gradient of replica a is grad L_a + gamma (w_a - c). The
authors' code (Pittorino et al. 2021, ``RobustNet``) adds the coupling loss
g * mean_a |w_a - c|^2 to the mean replica loss, whose gradient per replica is
2 g (w_a - c): their g is gamma / 2 here (gamma = 2 g).

Stability: with heavy-ball momentum mu a quadratic direction of curvature h is
stable only for lr * h < 2 (1 + mu) (Nesterov: lr * h < 2 (1 + mu) / (1 + 2 mu),
earlier). The coupling adds curvature gamma to every direction of a replica
(2 gamma to the mode where the replicas move against an explicit centre), so a
run with lr * gamma_max above about 1 can diverge late, when gamma is largest;
keep lr * gamma_max <= 1 unless the learning rate is decayed.

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
from landscape.algorithms.gradient import (
    batches_per_epoch,
    check_sampling,
    epoch_batch,
    minibatch,
    order_key,
)
from landscape.problem import Batch, Problem

_CENTERS = ("mean", "explicit")
GAMMA_EVERY = ("step", "epoch")


class ReplicatedState(NamedTuple):
    """Replicas (leading ``replica`` axis), their optimizer states, the centre and gamma.

    Attributes:
        params: replica parameters, every leaf (R, ...).
        opt_state: the optimizer state of every replica, leading axis R.
        center: the centre c (no replica axis): the replica mean, or the
            explicit centre variable.
        center_opt_state: the optimizer state of the explicit centre (the
            initial state, unused, for ``center="mean"``).
        gamma: the coupling the next step uses (scalar; NaN before the first
            step with ``gamma="auto"``).
        step: steps taken (int32 scalar).
        gamma0: the coupling at step 0 (set by the first step with ``gamma="auto"``).
        order_key: one epoch-permutation key per replica (R,) for
            ``sampling="epoch"``, else None.
    """

    params: Any
    opt_state: Any
    center: Any
    center_opt_state: Any
    gamma: jax.Array
    step: Any = None
    gamma0: Any = None
    order_key: Any = None


class ReplicatedInfo(NamedTuple):
    """Diagnostics of one step, measured before the update.

    Attributes:
        center_loss: loss of the centre on a minibatch of ``batch_size`` examples.
        center_errors: training error of the centre on that minibatch.
        replica_loss: mean over replicas of each replica's minibatch loss.
        replica_errors: mean over replicas of each replica's minibatch error.
        distance: mean squared replica-centre distance (1/R) sum_a |w_a - c|^2.
        gamma: the coupling used by this step.
        spread: the relative spread sqrt(distance) / |c|.
    """

    center_loss: jax.Array
    center_errors: jax.Array
    replica_loss: jax.Array
    replica_errors: jax.Array
    distance: jax.Array
    gamma: jax.Array
    spread: jax.Array


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


def check_schedule(
    gamma: Any, gamma_growth: float, gamma_max: float, num_steps: int | None, name: str = "gamma"
) -> None:
    """ValueError for an inconsistent coupling schedule (see `geometric_gamma`).

    With ``num_steps`` the schedule is geometric from gamma to a finite
    gamma_max (gamma > 0, or "auto", and gamma_growth 1); without it gamma
    grows by gamma_growth up to gamma_max >= gamma.
    """
    auto = isinstance(gamma, str)
    if auto and gamma != "auto":
        raise ValueError(f"{name}={gamma!r}; expected a number >= 0 or 'auto'")
    check_gamma(1.0 if auto else gamma, gamma_growth, name)
    if num_steps is None:
        if not auto and not gamma_max >= gamma:
            raise ValueError(f"{name}_max={gamma_max!r}; expected {name}_max >= {name}={gamma}")
        return
    check_positive_int(num_steps, "num_steps")
    if gamma_growth != 1:
        raise ValueError(
            f"{name}_growth={gamma_growth!r} with num_steps={num_steps}; expected one schedule: "
            f"a growth factor, or num_steps (geometric from {name} to {name}_max)"
        )
    if not (isinstance(gamma_max, (int, float, np.floating)) and 0 < gamma_max < math.inf):
        raise ValueError(f"{name}_max={gamma_max!r}; expected a finite {name}_max > 0")
    if not auto and not gamma > 0:
        raise ValueError(f"{name}={gamma!r}; expected {name} > 0 for a geometric schedule")
    if not auto and not gamma_max >= gamma:
        raise ValueError(f"{name}_max={gamma_max!r}; expected {name}_max >= {name}={gamma}")


def geometric_gamma(gamma0: Any, gamma_max: Any, update: Any, num_updates: int) -> jax.Array:
    """The geometric coupling schedule: gamma0 (gamma_max / gamma0)^(u / (U - 1)).

    Update u = 0 gives gamma0, u = U - 1 (and later) gives gamma_max; U = 1 is
    constant gamma0. ``update`` may be traced; gamma_max / gamma0 < 1 decays.

    Example:
        >>> [round(float(geometric_gamma(0.1, 10.0, u, 3)), 4) for u in range(4)]
        [0.1, 1.0, 10.0, 10.0]
    """
    gamma0 = jnp.asarray(gamma0)
    if num_updates <= 1:
        return gamma0
    frac = jnp.minimum(jnp.asarray(update, gamma0.dtype), num_updates - 1) / (num_updates - 1)
    return gamma0 * (jnp.asarray(gamma_max, gamma0.dtype) / gamma0) ** frac


def _sq_norm(tree) -> jax.Array:
    return sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(tree))


def replica_spread(state: ReplicatedState) -> jax.Array:
    """Relative spread of the replicas around the centre, sqrt((1/R) sum_a |w_a - c|^2) / |c|.

    A scalar from a state with leaves (R, ...) and centre c = ``state.center``;
    vmap it over a leading sample axis. The replicas have collapsed onto the
    centre when it is small (e.g. below 1e-2).
    """
    diff = jax.tree.map(lambda w, c: w - c[None], state.params, state.center)
    num = jax.tree.leaves(state.params)[0].shape[0]
    return jnp.sqrt(_sq_norm(diff) / num) / jnp.sqrt(_sq_norm(state.center))


def init(
    key: jax.Array,
    params: Any,
    optimizer: optax.GradientTransformation,
    num_replicas: int,
    *,
    gamma: float,
    center_optimizer: optax.GradientTransformation | None = None,
    model_init: Callable[[jax.Array], Any] | None = None,
    first_replica: str = "draw",
    sampling: str = "replacement",
) -> ReplicatedState:
    """The initial `ReplicatedState`: replicas at ``params``, or independent starts.

    With ``model_init=None`` every replica starts at ``params`` (one network, no
    replica axis) and the centre is ``params``. With a model's ``init``
    function and ``first_replica="draw"``, replica a starts at
    ``model_init(split(fold_in(key, 1), R)[a])`` (``params`` only fixes the
    structure); with ``first_replica="params"``, replica 0 starts at ``params``
    and replica a >= 1 at ``model_init(fold_in(fold_in(key, 1), a))``. The
    centre starts at the replica mean. Each replica's optimizer state is
    initialised at its start. ``gamma`` may be NaN (set by the first step).
    ``sampling="epoch"``: replica a's order key is ``order_key(key, a)``.

    Shapes: params any pytree; state.params leaves (replica, ...).
    """
    num_replicas = check_positive_int(num_replicas, "num_replicas")
    check_sampling(sampling)
    key = as_key(key)
    center_opt = center_optimizer if center_optimizer is not None else optimizer
    if model_init is None:
        replicas = jax.tree.map(
            lambda x: jnp.broadcast_to(x, (num_replicas, *jnp.shape(x))), params
        )
        c = jax.tree.map(jnp.asarray, params)
    else:
        if first_replica == "draw":
            keys = jax.random.split(jax.random.fold_in(key, 1), num_replicas)
            replicas = jax.vmap(model_init)(keys)
        elif first_replica == "params":
            base = jax.random.fold_in(key, 1)
            keys = jax.vmap(lambda a: jax.random.fold_in(base, a))(jnp.arange(1, num_replicas))
            others = jax.vmap(model_init)(keys)
            replicas = jax.tree.map(
                lambda p, o: jnp.concatenate([jnp.asarray(p)[None], o.astype(p.dtype)]),
                params,
                others,
            )
        else:
            raise ValueError(f"first_replica={first_replica!r}; expected 'draw' or 'params'")
        c = jax.tree.map(lambda a: jnp.mean(a, axis=0), replicas)
    opt_state = jax.vmap(optimizer.init)(replicas)
    dtype = jnp.result_type(*jax.tree.leaves(params))
    g = jnp.asarray(gamma, dtype)
    okeys = None
    if sampling == "epoch":
        okeys = jax.vmap(lambda a: order_key(key, a))(jnp.arange(num_replicas))
    return ReplicatedState(
        replicas, opt_state, c, center_opt.init(c), g, jnp.zeros((), jnp.int32), g, okeys
    )


def _build_kernel(
    problem, optimizer, num_replicas, center, center_optimizer, batch_size, shard, sampling
):
    """The step with ``(key, state, data, gamma, auto)``; ``auto`` sets gamma by the formula."""
    center_opt = center_optimizer if center_optimizer is not None else optimizer

    def per_replica(k, okey, params, opt_state, c, g, auto, step, data, mean):
        if sampling == "epoch":
            batch = epoch_batch(okey, step, data, batch_size)
        else:
            batch = minibatch(k, data, batch_size)
        loss, grads = jax.value_and_grad(problem.loss)(params, batch)
        errors = problem.errors(params, batch)
        diff = jax.tree.map(jnp.subtract, params, c)
        stats = mean((loss, errors, _sq_norm(diff)))
        # gamma="auto": gamma0 = 2 L / mean_a |w_a - c|^2 (Pittorino et al. 2021)
        g = jnp.where(auto, 2.0 * stats[0] / stats[2], g).astype(g.dtype)
        grads = jax.tree.map(lambda gr, d: gr + g * d, grads, diff)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        new_params = optax.apply_updates(params, updates)
        mean_old = mean(params) if center == "explicit" else None
        new_center = mean(new_params) if center == "mean" else None
        return new_params, opt_state, stats, mean_old, new_center, g

    mapped = parallel.replica_map(
        per_replica, in_axes=(0, 0, 0, 0, None, None, None, None, None), shard=shard
    )

    def kernel(key, state: ReplicatedState, data: Batch, gamma, auto):
        k_rep, k_center = jax.random.split(key)
        keys = jax.vmap(lambda a: jax.random.fold_in(k_rep, a))(jnp.arange(num_replicas))
        okeys = keys if state.order_key is None else state.order_key
        step = jnp.zeros((), jnp.int32) if state.step is None else state.step
        c = state.center
        center_batch = minibatch(k_center, data, batch_size)
        center_loss = problem.loss(c, center_batch)
        center_errors = problem.errors(c, center_batch)
        dtype = jnp.result_type(*jax.tree.leaves(c))
        g_in = jnp.asarray(gamma, dtype)
        params, opt_state, stats, mean_old, new_center, g_used = mapped(
            keys, okeys, state.params, state.opt_state, c, g_in, jnp.asarray(auto), step, data
        )
        first = lambda tree: jax.tree.map(lambda x: x[0], tree)
        loss, errors, distance = first(stats)
        g_used = g_used[0]
        center_opt_state = state.center_opt_state
        if center == "mean":
            new_center = first(new_center)
        else:
            mean_old = first(mean_old)
            grad_c = jax.tree.map(lambda ci, mi: g_used * (ci - mi), c, mean_old)
            updates, center_opt_state = center_opt.update(grad_c, center_opt_state, c)
            new_center = optax.apply_updates(c, updates)
        spread = jnp.sqrt(distance) / jnp.sqrt(_sq_norm(c))
        info = ReplicatedInfo(center_loss, center_errors, loss, errors, distance, g_used, spread)
        new_state = state._replace(
            params=params,
            opt_state=opt_state,
            center=new_center,
            center_opt_state=center_opt_state,
            step=None if state.step is None else state.step + 1,
        )
        return new_state, info

    return kernel


def build_step(
    problem: Problem,
    optimizer: optax.GradientTransformation,
    num_replicas: int,
    *,
    center: str = "mean",
    center_optimizer: optax.GradientTransformation | None = None,
    batch_size: int | None = None,
    shard: bool = True,
    sampling: str = "replacement",
) -> Callable[..., tuple[ReplicatedState, ReplicatedInfo]]:
    """The replicated-SGD step ``step(key, state, data, gamma) -> (state, info)``.

    The coupling ``gamma`` is an argument (a scalar, traced or not), so a
    schedule can be scanned or vmapped; the step leaves ``state.gamma`` as it
    was (the constructor `replicated_sgd` keeps its scoping schedule there) and
    advances ``state.step``. Replica a follows ``optimizer`` on
    grad L_B(w_a) + gamma (w_a - c), its minibatch B drawn from
    ``fold_in(key_replicas, a)`` (``sampling="replacement"``) or batch
    ``state.step`` of its own epoch-wise stream ``state.order_key[a]``
    (``"epoch"``); see `replicated_sgd`.
    """
    num_replicas = check_positive_int(num_replicas, "num_replicas")
    if center not in _CENTERS:
        raise ValueError(f"center={center!r}; expected one of {_CENTERS}")
    if batch_size is not None:
        check_positive_int(batch_size, "batch_size")
    check_sampling(sampling)
    kernel = _build_kernel(
        problem, optimizer, num_replicas, center, center_optimizer, batch_size, shard, sampling
    )

    def step(key, state, data, gamma):
        return kernel(key, state, data, gamma, False)

    return step


def replicated_sgd(
    problem: Problem,
    optimizer: optax.GradientTransformation,
    num_replicas: int,
    *,
    gamma: float | str,
    gamma_growth: float = 1.0,
    gamma_max: float = math.inf,
    num_steps: int | None = None,
    gamma_every: str = "step",
    center: str = "mean",
    center_optimizer: optax.GradientTransformation | None = None,
    batch_size: int | None = None,
    shard: bool = True,
    independent_starts: bool = False,
    independent_replicas: bool = False,
    sampling: str = "replacement",
) -> Algorithm:
    """Replicated SGD: R replicas, each on its own minibatch, coupled elastically to a centre.

    Replica a follows ``optimizer`` on grad L_B(w_a) + gamma (w_a - c) (the
    authors' coupling g * mean_a |w_a - c|^2 is gamma = 2 g), its minibatch
    drawn from ``fold_in(key_replicas, a)`` or, with ``sampling="epoch"``, the
    next batch of its own epoch-wise pass (order key ``order_key(init key, a)``).
    ``center="mean"``: c = (1/R) sum_a w_a, a collective mean over the replica
    axis. ``center="explicit"``: c is its own variable, starting at the replica
    mean and moved by the coupling, grad_c = gamma (c - (1/R) sum_a w_a) (the
    gradient of (gamma/2) sum_a |w_a - c|^2 divided by R, so its step does not
    grow with R; the authors' code moves it R times faster), through
    ``center_optimizer`` (default: ``optimizer``). ``gamma=0`` gives R
    independent SGD runs, the control.

    The coupling schedule (``info.gamma`` is the value each step used):

    - ``num_steps`` given (the run's total steps, as passed to `run`):
      geometric from ``gamma`` to ``gamma_max`` (`geometric_gamma`).
      ``gamma_every="step"``: step t uses gamma (gamma_max/gamma)^(t/(T-1));
      ``"epoch"``: constant within an epoch of nb = `batches_per_epoch` steps,
      epoch e = t // nb uses gamma (gamma_max/gamma)^(e/(E-1)) with
      E = ceil(T / nb). The first step uses gamma, the last gamma_max. The
      authors (Pittorino et al. 2021) grow g per epoch by a total factor
      ``gmax`` (1e4 in their defaults): gamma_max = gmax * gamma here.
    - ``num_steps=None``: gamma <- min(gamma * gamma_growth, gamma_max) after
      every step (``gamma_every="epoch"``: after every epoch).
    - ``gamma="auto"``: gamma0 = 2 L / ((1/R) sum_a |w_a - c|^2) at the start
      (the authors' choice g0 = L / mean distance, balancing the data and
      coupling losses), L the mean over replicas of each replica's loss on its
      first minibatch (the authors take the full training loss; at the start
      the minibatch mean estimates it). Set by the first step
      (``state.gamma0``); needs distinct starts.

    Starts, ``init(key, params)`` (`init`): every replica at ``params`` (one
    network, no replica axis); ``independent_replicas=True``: replica 0 at
    ``params`` (so when ``params`` is the network SGD starts from, replica 0
    starts exactly there) and replica a >= 1 at its own draw
    ``problem.model.init(fold_in(fold_in(key, 1), a))``;
    ``independent_starts=True``: every replica its own draw
    ``problem.model.init(split(fold_in(key, 1), R)[a])``. The centre starts at
    the replica mean. ``solved`` holds when the centre has zero training error
    on the full data (the centre is the minimum that is measured; see
    `center_report`, and `replica_spread` for how far the replicas are from it).

    Stability (see the module docstring): the coupling adds curvature gamma
    (2 gamma with an explicit centre); heavy-ball momentum mu diverges for
    lr * curvature > 2 (1 + mu), Nesterov earlier; keep lr * gamma_max <= 1
    unless the learning rate decays. Baldassi et al., PNAS 2016; Pittorino et
    al., ICLR 2021.

    Shapes: state.params leaves (replica, ...); data a shared Batch (P, ...).

    Args:
        problem: the model and loss.
        optimizer: any optax optimizer (e.g. `sgd`), one copy of its state per replica.
        num_replicas: R >= 1.
        gamma: the initial coupling, >= 0 (> 0 with ``num_steps``), or "auto".
        gamma_growth: factor applied to gamma after every step or epoch (> 0; 1 =
            fixed), without ``num_steps``.
        gamma_max: the final coupling with ``num_steps``; else a cap on gamma.
        num_steps: the number of steps of the run, for the geometric schedule.
        gamma_every: "step" or "epoch": when gamma changes.
        center: "mean" or "explicit".
        center_optimizer: the explicit centre's optimizer (default ``optimizer``).
        batch_size: minibatch size per replica (None: full batch).
        shard: split the replica axis over devices (`parallel.replica_map`).
        independent_starts: every replica its own draw from the model's init.
        independent_replicas: replica 0 at ``params``, the others own draws.
        sampling: "replacement" or "epoch" (see `landscape.algorithms.gradient`).

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
    check_schedule(gamma, gamma_growth, gamma_max, num_steps)
    if gamma_every not in GAMMA_EVERY:
        raise ValueError(f"gamma_every={gamma_every!r}; expected one of {GAMMA_EVERY}")
    if independent_starts and independent_replicas:
        raise ValueError(
            "independent_starts=True and independent_replicas=True; expected at most one"
        )
    auto = gamma == "auto"
    if auto and not (independent_starts or independent_replicas):
        raise ValueError(
            "gamma='auto' with every replica at one point (zero distance); expected "
            "independent_replicas=True or independent_starts=True"
        )
    if batch_size is not None:
        check_positive_int(batch_size, "batch_size")
    if center not in _CENTERS:
        raise ValueError(f"center={center!r}; expected one of {_CENTERS}")
    check_sampling(sampling)
    kernel = _build_kernel(
        problem, optimizer, num_replicas, center, center_optimizer, batch_size, shard, sampling
    )
    model_init = problem.model.init if (independent_starts or independent_replicas) else None

    def init_fn(key, params):
        return init(
            key,
            params,
            optimizer,
            num_replicas,
            gamma=math.nan if auto else gamma,
            center_optimizer=center_optimizer,
            model_init=model_init,
            first_replica="params" if independent_replicas else "draw",
            sampling=sampling,
        )

    def step(key, state: ReplicatedState, data: Batch):
        nb = batches_per_epoch(data.y.shape[0], batch_size)
        t = state.step
        per_epoch = gamma_every == "epoch"
        if num_steps is not None:
            updates = -(-num_steps // nb) if per_epoch else num_steps
            update = lambda s: s // nb if per_epoch else s
            g = geometric_gamma(state.gamma0, gamma_max, update(t), updates)
        else:
            g = state.gamma
        auto_now = (t == 0) if auto else False
        new_state, info = kernel(key, state, data, g, auto_now)
        gamma0 = jnp.where(auto_now, info.gamma, state.gamma0) if auto else state.gamma0
        if num_steps is not None:
            nxt = geometric_gamma(gamma0, gamma_max, update(t + 1), updates)
        else:
            grown = jnp.minimum(info.gamma * gamma_growth, gamma_max)
            nxt = jnp.where((t + 1) % nb == 0, grown, info.gamma) if per_epoch else grown
        dtype = state.gamma.dtype
        return new_state._replace(gamma=nxt.astype(dtype), gamma0=gamma0.astype(dtype)), info

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
