"""Adam on the quadratic hinge of the unsatisfied patterns: Geiger et al.'s jamming protocol.

Geiger, Spigler, d'Ascoli, Sagun, Baity-Jesi, Biroli & Wyart, "Jamming
transition as a paradigm to understand the loss landscape of deep neural
networks", PRE 100, 012115 (2019): a network is trained on a fixed data set by
Adam on the quadratic hinge ``(1/2)(margin - Delta_mu)^2`` of the patterns
with stability ``Delta_mu = y_mu f(x_mu) < margin``, with a learning rate
divided by 10 every ``decay_every`` steps, until no pattern is unsatisfied or
the loss is negligible. Below the jamming size N* a run ends with N_Delta ~ N/2
unsatisfied patterns (jammed); above it, with none. Run it with
`landscape.algorithms.run` (``stop_when_solved=True``; ``samples=True`` for
several initialisations at once) for `jamming_budget` steps.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from landscape._util import check_positive_int
from landscape.algorithms.base import Algorithm
from landscape.problem import Batch, Model


class JammingState(NamedTuple):
    """Parameters, Adam's state (its step count drives the schedule), and steps taken.

    Attributes:
        params: the network's parameters.
        opt_state: the optax state of Adam with the staircase schedule.
        steps: Adam steps taken (int32); no step is taken once `solved` holds.
    """

    params: Any
    opt_state: Any
    steps: jax.Array


class JammingInfo(NamedTuple):
    """Before the step: the loss over the unsatisfied patterns and their number N_Delta."""

    loss: jax.Array
    num_unsatisfied: jax.Array


class UnsatisfiedHinge(NamedTuple):
    """The protocol's loss and N_Delta at some parameters (scalars)."""

    loss: jax.Array
    num_unsatisfied: jax.Array


def unsatisfied_hinge(model: Model, params: Any, batch: Batch, margin: float) -> UnsatisfiedHinge:
    """``L = (1/N_Delta) sum_{mu: Delta_mu < margin} (1/2)(margin - Delta_mu)^2`` and N_Delta.

    ``Delta_mu = y_mu model.apply(params, x_mu)``; L = 0 when N_Delta = 0.
    Shapes: batch x (P, ...), y (P,); both results scalars.
    """
    delta = batch.y * model.apply(params, batch.x)
    unsat = delta < margin
    count = jnp.sum(unsat)
    loss = 0.5 * jnp.sum(jnp.where(unsat, (margin - delta) ** 2, 0.0))
    return UnsatisfiedHinge(loss / jnp.maximum(count, 1), count)


def jamming_budget(learning_rate: float, min_learning_rate: float, decay_every: int) -> int:
    """The protocol's step budget: one ``decay_every`` period past the last decay.

    ``decay_every * (D + 1)`` with ``D = round(log10(learning_rate / min_learning_rate))``
    the number of tenfold decays.
    """
    decay_every = check_positive_int(decay_every, "decay_every")
    decades = max(0, round(math.log10(learning_rate / min_learning_rate)))
    return decay_every * (decades + 1)


def jamming_descent(
    model: Model,
    *,
    margin: float = 1.0,
    learning_rate: float = 1e-4,
    min_learning_rate: float = 1e-7,
    decay_every: int = 10_000,
    loss_threshold: float = 1e-10,
) -> Algorithm:
    """Geiger et al. (2019)'s protocol as an `Algorithm`: Adam on the unsatisfied hinge.

    ``step`` takes one Adam step on `unsatisfied_hinge` with learning rate
    ``learning_rate * 0.1^floor(t / decay_every)``, floored at
    ``min_learning_rate`` (optax's staircase ``exponential_decay``), unless
    ``solved`` already holds, in which case the state is returned unchanged
    (so a run stops at the first solved step whatever the driver's chunks).
    ``solved``: N_Delta = 0 or L < ``loss_threshold``. The key is unused
    (full-batch, deterministic). The dtype is that of the parameters and data:
    run it under x64 for the paper's float64.

    Shapes: params any pytree; data a Batch x (P, ...), y (P,).

    Example:
        >>> import jax
        >>> from landscape import algorithms, data, models
        >>> batch = data.random_patterns(jax.random.key(0), n=5, p=20)
        >>> model = models.mlp([5, 8, 1])
        >>> algo = jamming_descent(model, learning_rate=1e-2, min_learning_rate=1e-3)
        >>> state = algo.init(jax.random.key(1), model.init(jax.random.key(2)))
        >>> state, infos = algorithms.run(algo, jax.random.key(3), state, batch, 200)
        >>> int(state.steps) <= 200
        True
    """
    check_positive_int(decay_every, "decay_every")
    if not 0 < min_learning_rate <= learning_rate:
        raise ValueError(
            f"learning_rate={learning_rate}, min_learning_rate={min_learning_rate}; "
            "expected 0 < min_learning_rate <= learning_rate"
        )
    schedule = optax.exponential_decay(
        learning_rate,
        transition_steps=decay_every,
        decay_rate=0.1,
        staircase=True,
        end_value=min_learning_rate,
    )
    optimizer = optax.adam(schedule)

    def init(key, params):  # noqa: ARG001
        return JammingState(params, optimizer.init(params), jnp.zeros((), jnp.int32))

    def is_solved(hinge):
        return (hinge.num_unsatisfied == 0) | (hinge.loss < loss_threshold)

    def step(key, state, data):  # noqa: ARG001
        hinge = unsatisfied_hinge(model, state.params, data, margin)

        def adam_step(state):
            grads = jax.grad(lambda p: unsatisfied_hinge(model, p, data, margin).loss)(state.params)
            updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
            params = optax.apply_updates(state.params, updates)
            return JammingState(params, opt_state, state.steps + 1)

        state = jax.lax.cond(is_solved(hinge), lambda s: s, adam_step, state)
        return state, JammingInfo(hinge.loss, hinge.num_unsatisfied)

    def solved(state, data):
        return is_solved(unsatisfied_hinge(model, state.params, data, margin))

    return Algorithm(init, step, solved)
