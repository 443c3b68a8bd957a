"""Gradient descent and SGD on a problem's loss, through any optax optimizer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import optax

from landscape._util import check_positive_int
from landscape.algorithms.base import Algorithm
from landscape.problem import Batch, Problem


class GradientState(NamedTuple):
    """Parameters and optimizer state."""

    params: Any
    opt_state: Any


class GradientInfo(NamedTuple):
    """Loss and training error of the (mini)batch the step used, before the update."""

    loss: jax.Array
    errors: jax.Array


def minibatch(key: jax.Array, data: Batch, batch_size: int | None) -> Batch:
    """A minibatch of ``batch_size`` examples drawn without replacement inside compiled code.

    ``batch_size=None`` (or >= P) returns the full batch.
    """
    p = data.y.shape[0]
    if batch_size is None or batch_size >= p:
        return data
    idx = jax.random.choice(key, p, (batch_size,), replace=False)
    return jax.tree.map(lambda a: a[idx], data)


def norm_reduction(rate: float) -> optax.GradientTransformation:
    """Shrink the weights by a factor (1 - rate) every step: update += -rate * params.

    Chained after the optimizer (``optax.chain(optax.sgd(lr), norm_reduction(1e-4))``)
    it slowly reduces the norm of the weights during training, the protocol of
    "SGD with norm reduction" for cross-entropy (Baldassi, Pittorino & Zecchina,
    PNAS 2020): a smaller norm is a higher effective temperature of the
    cross-entropy, which drives the search towards wide flat minima. It is
    decoupled weight decay with coefficient ``rate`` per step.
    """
    if not rate >= 0:
        raise ValueError(f"rate={rate}; expected a non-negative shrink rate")

    def init_fn(params):  # noqa: ARG001
        return optax.EmptyState()

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("norm_reduction needs params: call update(grads, state, params)")
        updates = jax.tree.map(lambda u, p: u - rate * p, updates, params)
        return updates, state

    return optax.GradientTransformation(init_fn, update_fn)


def init(params: Any, optimizer: optax.GradientTransformation) -> GradientState:
    """The initial `GradientState`: the parameters and the optimizer's state at them."""
    return GradientState(params, optimizer.init(params))


def build_step(
    problem: Problem, optimizer: optax.GradientTransformation, *, batch_size: int | None = None
) -> Callable[[jax.Array, GradientState, Batch], tuple[GradientState, GradientInfo]]:
    """The (S)GD step ``step(key, state, data) -> (state, info)``.

    Draws a minibatch of ``batch_size`` examples from the key (`minibatch`),
    computes grad L_B and applies ``optimizer``; the learning rate and its
    schedule live in the optax optimizer (``optax.sgd(schedule)``).
    """
    if batch_size is not None:
        check_positive_int(batch_size, "batch_size")

    def step(key, state, data):
        batch = minibatch(key, data, batch_size)
        loss, grads = jax.value_and_grad(problem.loss)(state.params, batch)
        errors = problem.errors(state.params, batch)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return GradientState(params, opt_state), GradientInfo(loss, errors)

    return step


def gradient(
    problem: Problem,
    optimizer: optax.GradientTransformation,
    *,
    batch_size: int | None = None,
    norm_reduction_rate: float = 0.0,
) -> Algorithm:
    """(Stochastic) gradient descent on ``problem.loss`` with any optax optimizer.

    Each step draws a minibatch of ``batch_size`` examples from its key (full
    batch when None), computes the loss gradient and applies the optimizer;
    ``norm_reduction_rate > 0`` chains `norm_reduction` after it. ``solved``
    is true when the parameters have zero training error on the full data
    (`Problem.errors`), the one meaning of ``solved`` for every algorithm.
    The layers: `init`, `build_step` and this constructor.

    Example:
        >>> import jax, optax
        >>> from landscape import data, losses, models, Problem
        >>> batch = data.random_patterns(jax.random.key(0), n=20, p=10)
        >>> problem = Problem(models.perceptron(20), losses.hinge(0.1))
        >>> algo = gradient(problem, optax.sgd(0.5))
        >>> state = algo.init(jax.random.key(1), problem.model.init(jax.random.key(2)))
        >>> state, info = algo.step(jax.random.key(3), state, batch)
        >>> info.loss.shape
        ()
    """
    if norm_reduction_rate:
        optimizer = optax.chain(optimizer, norm_reduction(norm_reduction_rate))
    step = build_step(problem, optimizer, batch_size=batch_size)

    def init_fn(key, params):  # noqa: ARG001
        return init(params, optimizer)

    def solved(state, data):
        return problem.errors(state.params, data) == 0

    return Algorithm(init_fn, step, solved)
