"""Entropy-SGD: SGD on the local entropy, its gradient estimated by an inner Langevin loop.

Chaudhari et al., "Entropy-SGD: biasing gradient descent into wide valleys",
ICLR 2017, Algorithm 1.

The local free energy F_gamma(w) = -log integral dw' exp(-L(w') - (gamma/2)|w - w'|^2)
has gradient gamma (w - <w'>), the average taken under the Gibbs measure around
w. The inner loop samples w' by stochastic gradient Langevin dynamics and keeps
an exponential moving average mu of <w'>; the outer step hands gamma (w - mu) to
any optax optimizer, i.e. w <- w - lr g (w - mu) for plain SGD. (The original
public code drops the gamma factor in the outer step; the paper and the code of
Pittorino et al., ICLR 2021, keep it, as here.)

Defaults and where each comes from:

- ``langevin_steps=20``: L = 20 inner steps (Chaudhari et al. 2017, Sec. 5).
- ``langevin_lr=0.1``: eta' = 0.1 (``sgld_lr`` / the Langevin ``lr`` of both
  authors' codes).
- ``langevin_beta=1e8``: inner noise eps sqrt(2 eta') xi with eps = 1e-4 (both
  codes add ``eps / sqrt(eta' / 2)`` xi to the gradient before the step eta'),
  which is sqrt(2 eta' / beta) xi with beta = 1 / eps^2 = 1e8.
- ``ema=0.75``: mu <- alpha mu + (1 - alpha) w' with alpha = 0.75 (both codes;
  the paper writes the same average with alpha on the other term).
- ``langevin_weight_decay=0.0``: the inner gradient gets + wd w' (Pittorino et
  al.'s code: ``weight_decay_sgld``, 1e-4 by default there; pass it explicitly).
- Scoping: gamma_t = gamma0 (1 + gamma1)^t per outer step t (``gamma_growth`` =
  1 + gamma1, capped at ``gamma_max``; the paper's schedule), or with
  ``num_steps`` geometric from gamma to gamma_max over the run (Pittorino et
  al. set gamma1 = gmax^(1 / steps) - 1, the same thing).

Budget: each outer step consumes L minibatches (L gradient evaluations), so at
an equal number of epochs as SGD with nb = `batches_per_epoch` steps per epoch,
Entropy-SGD takes ``epochs * nb // L`` outer steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from landscape._util import check_positive_int
from landscape.algorithms.base import Algorithm
from landscape.algorithms.gradient import check_sampling, epoch_batch, minibatch, order_key
from landscape.algorithms.replicated import check_schedule, geometric_gamma
from landscape.problem import Batch, Problem


class EntropySGDState(NamedTuple):
    """Parameters, the outer optimizer state, the coupling, the step counter and order key.

    Attributes:
        params: the parameters w.
        opt_state: the outer optimizer state.
        gamma: the coupling the next outer step uses.
        step: outer steps taken (int32 scalar).
        order_key: the epoch-permutation key (``sampling="epoch"``), else None.
    """

    params: Any
    opt_state: Any
    gamma: jax.Array
    step: Any = None
    order_key: Any = None


class EntropySGDInfo(NamedTuple):
    """Diagnostics of one outer step, measured before the update.

    Attributes:
        loss: loss of w on the first inner minibatch.
        errors: training error of w on that minibatch.
        distance: |w - mu|^2, the squared distance to the Langevin average.
        gamma: the coupling used by this step.
    """

    loss: jax.Array
    errors: jax.Array
    distance: jax.Array
    gamma: jax.Array


def tree_normal(key: jax.Array, tree: Any) -> Any:
    """Standard normal noise shaped like `tree`; leaf i uses ``fold_in(key, i)``."""
    leaves, treedef = jax.tree.flatten(tree)
    noise = [
        jax.random.normal(jax.random.fold_in(key, i), jnp.shape(x), jnp.result_type(x))
        for i, x in enumerate(leaves)
    ]
    return jax.tree.unflatten(treedef, noise)


def _inner_batch(key_k, data, batch_size, order, start, k):
    if order is None:
        return minibatch(key_k, data, batch_size)
    return epoch_batch(order, start + k, data, batch_size)


def langevin_average(
    key: jax.Array,
    problem: Problem,
    params: Any,
    data: Batch,
    gamma: jax.Array,
    *,
    langevin_steps: int,
    langevin_lr: float,
    langevin_beta: float,
    ema: float,
    batch_size: int | None,
    weight_decay: float = 0.0,
    order_key: jax.Array | None = None,
    start: Any = 0,
) -> Any:
    """The inner loop of Entropy-SGD: the moving average mu of Langevin samples around w.

    Starting from w' = mu = w, for k = 0..L-1 with ``key_k = fold_in(key, k)``,
    minibatch from ``split(key_k)[0]`` (or, given ``order_key``, batch
    ``start + k`` of its epoch-wise stream), noise xi from ``split(key_k)[1]``:

        w' <- w' - eta' [grad L_B(w') + wd w' + gamma (w' - w)] + sqrt(2 eta' / beta) xi
        mu <- ema mu + (1 - ema) w'

    Chaudhari et al., ICLR 2017, Algorithm 1 (wd: the inner weight decay of
    Pittorino et al.'s code). Shapes: params pytree -> mu same pytree.
    """
    grad_fn = jax.grad(problem.loss)
    if isinstance(langevin_beta, (int, float)) and isinstance(langevin_lr, (int, float)):
        noise_scale = (
            0.0 if math.isinf(langevin_beta) else math.sqrt(2.0 * langevin_lr / langevin_beta)
        )
    else:  # traced hyperparameters (a scanned or vmapped schedule)
        noise_scale = jnp.where(
            jnp.isinf(langevin_beta), 0.0, jnp.sqrt(2.0 * langevin_lr / langevin_beta)
        )

    def body(carry, k):
        wp, mu = carry
        kb, kn = jax.random.split(jax.random.fold_in(key, k))
        batch = _inner_batch(kb, data, batch_size, order_key, start, k)
        grads = grad_fn(wp, batch)
        xi = tree_normal(kn, wp)
        wp = jax.tree.map(
            lambda a, g, w, z: (
                a - langevin_lr * (g + weight_decay * a + gamma * (a - w)) + noise_scale * z
            ),
            wp,
            grads,
            params,
            xi,
        )
        mu = jax.tree.map(lambda m, a: ema * m + (1.0 - ema) * a, mu, wp)
        return (wp, mu), None

    (_, mu), _ = jax.lax.scan(body, (params, params), jnp.arange(langevin_steps))
    return mu


def init(
    params: Any,
    optimizer: optax.GradientTransformation,
    *,
    gamma: float,
    key: jax.Array | None = None,
    sampling: str = "replacement",
) -> EntropySGDState:
    """The initial `EntropySGDState`: parameters, outer optimizer state, gamma, step 0.

    ``sampling="epoch"`` needs ``key`` (the init key); the order key is
    ``order_key(key, 0)``, the same stream as SGD's from that key.
    """
    check_sampling(sampling)
    okey = None
    if sampling == "epoch":
        if key is None:
            raise ValueError("key=None with sampling='epoch'; expected the init key")
        okey = order_key(key, 0)
    dtype = jnp.result_type(*jax.tree.leaves(params))
    return EntropySGDState(
        params, optimizer.init(params), jnp.asarray(gamma, dtype), jnp.zeros((), jnp.int32), okey
    )


def build_step(
    problem: Problem,
    optimizer: optax.GradientTransformation,
    *,
    langevin_steps: int = 20,
    ema: float = 0.75,
    batch_size: int | None = None,
    langevin_weight_decay: float = 0.0,
    sampling: str = "replacement",
) -> Callable[..., tuple[EntropySGDState, EntropySGDInfo]]:
    """The Entropy-SGD step ``step(key, state, data, gamma, langevin_lr, langevin_beta)``.

    The coupling, the Langevin step size and the inverse temperature are
    arguments (Python floats or traced scalars), so schedules of them can be
    scanned or vmapped; the step leaves ``state.gamma`` as it was (the
    constructor `entropy_sgd` keeps its scoping schedule there) and advances
    ``state.step``. One outer step: `langevin_average` from the key (with
    ``sampling="epoch"`` on minibatches ``step L .. step L + L - 1`` of the
    epoch-wise stream), then ``optimizer`` on gamma (w - mu).
    """
    langevin_steps = check_positive_int(langevin_steps, "langevin_steps")
    if not 0 <= ema < 1:
        raise ValueError(f"ema={ema!r}; expected 0 <= ema < 1")
    if batch_size is not None:
        check_positive_int(batch_size, "batch_size")
    if not langevin_weight_decay >= 0:
        raise ValueError(
            f"langevin_weight_decay={langevin_weight_decay!r}; expected a non-negative number"
        )
    check_sampling(sampling)

    def step(key, state: EntropySGDState, data: Batch, gamma, langevin_lr, langevin_beta):
        w, g = state.params, gamma
        order = state.order_key if sampling == "epoch" else None
        t = jnp.zeros((), jnp.int32) if state.step is None else state.step
        start = t * langevin_steps
        k0 = jax.random.split(jax.random.fold_in(key, 0))[0]
        first = _inner_batch(k0, data, batch_size, order, start, 0)
        loss = problem.loss(w, first)
        errors = problem.errors(w, first)
        mu = langevin_average(
            key,
            problem,
            w,
            data,
            g,
            langevin_steps=langevin_steps,
            langevin_lr=langevin_lr,
            langevin_beta=langevin_beta,
            ema=ema,
            batch_size=batch_size,
            weight_decay=langevin_weight_decay,
            order_key=order,
            start=start,
        )
        diff = jax.tree.map(jnp.subtract, w, mu)
        grads = jax.tree.map(lambda d: g * d, diff)
        updates, opt_state = optimizer.update(grads, state.opt_state, w)
        params = optax.apply_updates(w, updates)
        distance = sum(jnp.sum(jnp.square(d)) for d in jax.tree.leaves(diff))
        new_state = state._replace(
            params=params,
            opt_state=opt_state,
            step=None if state.step is None else state.step + 1,
        )
        return new_state, EntropySGDInfo(loss, errors, distance, jnp.asarray(g))

    return step


def entropy_sgd(
    problem: Problem,
    optimizer: optax.GradientTransformation,
    *,
    gamma: float,
    gamma_growth: float = 1.0,
    gamma_max: float = math.inf,
    num_steps: int | None = None,
    langevin_steps: int = 20,
    langevin_lr: float = 0.1,
    langevin_beta: float = 1e8,
    ema: float = 0.75,
    langevin_weight_decay: float = 0.0,
    batch_size: int | None = None,
    sampling: str = "replacement",
) -> Algorithm:
    """Entropy-SGD: an inner Langevin loop estimates <w'>, the outer step follows gamma (w - mu).

    Each outer step runs `langevin_average` (``langevin_steps`` steps of size
    ``langevin_lr`` at inverse temperature ``langevin_beta``, noise
    sqrt(2 eta' / beta) = eps sqrt(2 eta') with eps = beta^(-1/2); ``inf`` = no
    noise; inner weight decay ``langevin_weight_decay``) from the step key,
    hands the local-entropy gradient gamma (w - mu) to ``optimizer`` (e.g.
    `sgd`; plain SGD gives w <- w - lr gamma (w - mu)), and scopes gamma:
    gamma_t = gamma * gamma_growth^t capped at ``gamma_max`` (the paper's
    gamma0 (1 + gamma1)^t), or with ``num_steps`` (outer steps of the run)
    geometric from gamma to gamma_max (`geometric_gamma`). Chaudhari et al.,
    ICLR 2017, Algorithm 1, with the gamma factor of the paper in the outer
    gradient; the defaults and their sources are in the module docstring.
    ``sampling="epoch"``: the inner steps walk through epoch-wise passes
    without replacement (order key ``order_key(init key, 0)``), outer step t
    using minibatches t L .. t L + L - 1; an epoch is ``nb // L`` outer steps.
    ``solved``: zero training error of w.

    Shapes: params any pytree; data a Batch (P, ...).

    Example:
        >>> import jax, optax
        >>> from landscape import data, losses, models, Problem
        >>> batch = data.random_patterns(jax.random.key(0), n=20, p=10)
        >>> problem = Problem(models.perceptron(20), losses.hinge(0.1))
        >>> algo = entropy_sgd(problem, optax.sgd(1.0), gamma=1.0, langevin_steps=5)
        >>> state = algo.init(jax.random.key(1), problem.model.init(jax.random.key(2)))
        >>> state, info = algo.step(jax.random.key(3), state, batch)
        >>> info.loss.shape
        ()
    """
    if isinstance(gamma, str):
        raise ValueError(f"gamma={gamma!r}; expected a number >= 0")
    check_schedule(gamma, gamma_growth, gamma_max, num_steps)
    langevin_steps = check_positive_int(langevin_steps, "langevin_steps")
    if not langevin_lr > 0:
        raise ValueError(f"langevin_lr={langevin_lr!r}; expected a positive step size")
    if not langevin_beta > 0:
        raise ValueError(f"langevin_beta={langevin_beta!r}; expected beta > 0 (inf: no noise)")
    kernel = build_step(
        problem,
        optimizer,
        langevin_steps=langevin_steps,
        ema=ema,
        batch_size=batch_size,
        langevin_weight_decay=langevin_weight_decay,
        sampling=sampling,
    )
    lr, beta = float(langevin_lr), float(langevin_beta)

    def init_fn(key, params):
        return init(params, optimizer, gamma=gamma, key=key, sampling=sampling)

    def step(key, state: EntropySGDState, data: Batch):
        if num_steps is not None:
            g = geometric_gamma(
                jnp.asarray(gamma, state.gamma.dtype), gamma_max, state.step, num_steps
            )
        else:
            g = state.gamma
        new_state, info = kernel(key, state, data, g, lr, beta)
        if num_steps is not None:
            nxt = geometric_gamma(jnp.asarray(gamma, g.dtype), gamma_max, state.step + 1, num_steps)
        else:
            nxt = jnp.minimum(g * gamma_growth, gamma_max)
        return new_state._replace(gamma=nxt.astype(state.gamma.dtype)), info

    def solved(state, data):
        return problem.errors(state.params, data) == 0

    return Algorithm(init_fn, step, solved)
