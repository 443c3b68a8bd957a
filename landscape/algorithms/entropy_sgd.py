"""Entropy-SGD: SGD on the local entropy, its gradient estimated by an inner Langevin loop.

Chaudhari et al., "Entropy-SGD: biasing gradient descent into wide valleys",
ICLR 2017, Algorithm 1.

The local free energy F_gamma(w) = -log integral dw' exp(-L(w') - (gamma/2)|w - w'|^2)
has gradient gamma (w - <w'>), the average taken under the Gibbs measure around
w. The inner loop samples w' by stochastic gradient Langevin dynamics and keeps
an exponential moving average mu of <w'>; the outer step hands gamma (w - mu) to
any optax optimizer. (The authors' public code drops the gamma factor in the
outer step; this follows the paper.)
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
from landscape.algorithms.gradient import minibatch
from landscape.algorithms.replicated import check_gamma
from landscape.problem import Batch, Problem


class EntropySGDState(NamedTuple):
    """Parameters, the outer optimizer state and the current coupling gamma."""

    params: Any
    opt_state: Any
    gamma: jax.Array


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
) -> Any:
    """The inner loop of Entropy-SGD: the moving average mu of Langevin samples around w.

    Starting from w' = mu = w, for k = 0..L-1 with ``key_k = fold_in(key, k)``,
    minibatch from ``split(key_k)[0]``, noise xi from ``split(key_k)[1]``:

        w' <- w' - eta' [grad L_B(w') + gamma (w' - w)] + sqrt(2 eta' / beta) xi
        mu <- ema mu + (1 - ema) w'

    Chaudhari et al., ICLR 2017, Algorithm 1. Shapes: params pytree -> mu same pytree.
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
        batch = minibatch(kb, data, batch_size)
        grads = grad_fn(wp, batch)
        xi = tree_normal(kn, wp)
        wp = jax.tree.map(
            lambda a, g, w, z: a - langevin_lr * (g + gamma * (a - w)) + noise_scale * z,
            wp,
            grads,
            params,
            xi,
        )
        mu = jax.tree.map(lambda m, a: ema * m + (1.0 - ema) * a, mu, wp)
        return (wp, mu), None

    (_, mu), _ = jax.lax.scan(body, (params, params), jnp.arange(langevin_steps))
    return mu


def init(params: Any, optimizer: optax.GradientTransformation, *, gamma: float) -> EntropySGDState:
    """The initial `EntropySGDState`: the parameters, the outer optimizer state and gamma."""
    dtype = jnp.result_type(*jax.tree.leaves(params))
    return EntropySGDState(params, optimizer.init(params), jnp.asarray(gamma, dtype))


def build_step(
    problem: Problem,
    optimizer: optax.GradientTransformation,
    *,
    langevin_steps: int = 20,
    ema: float = 0.75,
    batch_size: int | None = None,
) -> Callable[..., tuple[EntropySGDState, EntropySGDInfo]]:
    """The Entropy-SGD step ``step(key, state, data, gamma, langevin_lr, langevin_beta)``.

    The coupling, the Langevin step size and the inverse temperature are
    arguments (Python floats or traced scalars), so schedules of them can be
    scanned or vmapped; the step leaves ``state.gamma`` as it was (the
    constructor `entropy_sgd` keeps its scoping schedule there). One outer
    step: `langevin_average` from the key, then ``optimizer`` on gamma (w - mu).
    """
    langevin_steps = check_positive_int(langevin_steps, "langevin_steps")
    if not 0 <= ema < 1:
        raise ValueError(f"ema={ema!r}; expected 0 <= ema < 1")
    if batch_size is not None:
        check_positive_int(batch_size, "batch_size")

    def step(key, state: EntropySGDState, data: Batch, gamma, langevin_lr, langevin_beta):
        w, g = state.params, gamma
        first = minibatch(jax.random.split(jax.random.fold_in(key, 0))[0], data, batch_size)
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
        )
        diff = jax.tree.map(jnp.subtract, w, mu)
        grads = jax.tree.map(lambda d: g * d, diff)
        updates, opt_state = optimizer.update(grads, state.opt_state, w)
        params = optax.apply_updates(w, updates)
        distance = sum(jnp.sum(jnp.square(d)) for d in jax.tree.leaves(diff))
        new_state = EntropySGDState(params, opt_state, state.gamma)
        return new_state, EntropySGDInfo(loss, errors, distance, g)

    return step


def entropy_sgd(
    problem: Problem,
    optimizer: optax.GradientTransformation,
    *,
    gamma: float,
    gamma_growth: float = 1.0,
    gamma_max: float = math.inf,
    langevin_steps: int = 20,
    langevin_lr: float = 0.1,
    langevin_beta: float = math.inf,
    ema: float = 0.75,
    batch_size: int | None = None,
) -> Algorithm:
    """Entropy-SGD: an inner Langevin loop estimates <w'>, the outer step follows gamma (w - mu).

    Each outer step runs `langevin_average` (``langevin_steps`` steps of size
    ``langevin_lr`` at inverse temperature ``langevin_beta``; ``inf`` = no
    noise) from the step key, hands the local-entropy gradient gamma (w - mu)
    to ``optimizer``, and grows gamma <- min(gamma * gamma_growth, gamma_max)
    (scoping). Chaudhari et al., ICLR 2017, Algorithm 1, with the gamma factor
    of the paper in the outer gradient. ``solved``: zero training error of w.

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
    check_gamma(gamma, gamma_growth)
    if not gamma_max >= gamma:
        raise ValueError(f"gamma_max={gamma_max!r}; expected gamma_max >= gamma={gamma}")
    langevin_steps = check_positive_int(langevin_steps, "langevin_steps")
    if not langevin_lr > 0:
        raise ValueError(f"langevin_lr={langevin_lr!r}; expected a positive step size")
    if not langevin_beta > 0:
        raise ValueError(f"langevin_beta={langevin_beta!r}; expected beta > 0 (inf: no noise)")
    kernel = build_step(
        problem, optimizer, langevin_steps=langevin_steps, ema=ema, batch_size=batch_size
    )
    lr, beta = float(langevin_lr), float(langevin_beta)

    def init_fn(key, params):  # noqa: ARG001
        return init(params, optimizer, gamma=gamma)

    def step(key, state: EntropySGDState, data: Batch):
        new_state, info = kernel(key, state, data, state.gamma, lr, beta)
        g = state.gamma
        new_gamma = jnp.minimum(g * gamma_growth, gamma_max).astype(g.dtype)
        return new_state._replace(gamma=new_gamma), info

    def solved(state, data):
        return problem.errors(state.params, data) == 0

    return Algorithm(init_fn, step, solved)
