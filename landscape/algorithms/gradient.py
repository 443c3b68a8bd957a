"""Gradient descent and SGD on a problem's loss, through any optax optimizer.

Minibatches are drawn in one of two ways (``sampling``, shared by every
algorithm built on this module: `landscape.algorithms.replicated_sgd`,
`landscape.algorithms.entropy_sgd`):

- ``"replacement"`` (the default): every step draws B distinct examples afresh
  from its key (`minibatch`); examples recur across steps at random.
- ``"epoch"``: epoch-wise passes without replacement, as every deep-learning
  data loader does. A network's state holds a fixed order key and a step
  counter; batch i of epoch e is ``perm_e[i B:(i + 1) B]`` with
  ``perm_e = permutation(fold_in(order_key, e), P)``, the incomplete last batch
  dropped, so an epoch has ``batches_per_epoch(P, B) = P // B`` steps and
  visits each of its ``(P // B) B`` examples exactly once (`epoch_indices`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from landscape._util import as_key, check_positive_int
from landscape.algorithms.base import Algorithm
from landscape.problem import Batch, Problem

SAMPLINGS = ("replacement", "epoch")
_ORDER_TAG = 0x6F72  # separates order streams from the other uses of an init key


class GradientState(NamedTuple):
    """Parameters, optimizer state, the step counter and the minibatch order.

    Attributes:
        params: the parameters.
        opt_state: the optimizer state.
        step: steps taken (int32 scalar); picks the epoch and batch for
            ``sampling="epoch"``. None in states made by hand (no counter).
        order_key: the epoch-permutation key (``sampling="epoch"``), else None.
    """

    params: Any
    opt_state: Any
    step: Any = None
    order_key: Any = None


class GradientInfo(NamedTuple):
    """Loss and training error of the (mini)batch the step used, before the update."""

    loss: jax.Array
    errors: jax.Array


def check_sampling(sampling: str) -> str:
    """Return ``sampling`` if it is one of `SAMPLINGS`, else raise ValueError."""
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling={sampling!r}; expected one of {SAMPLINGS}")
    return sampling


def minibatch(key: jax.Array, data: Batch, batch_size: int | None) -> Batch:
    """A minibatch of ``batch_size`` examples drawn without replacement inside compiled code.

    ``batch_size=None`` (or >= P) returns the full batch.
    """
    p = data.y.shape[0]
    if batch_size is None or batch_size >= p:
        return data
    idx = jax.random.choice(key, p, (batch_size,), replace=False)
    return jax.tree.map(lambda a: a[idx], data)


def batches_per_epoch(num_examples: int, batch_size: int | None) -> int:
    """Steps per epoch of epoch-wise sampling: ``P // B`` (1 for the full batch).

    The incomplete last batch is dropped. ``batch_size=None`` or ``>= P`` is one
    full-batch step per epoch.

    Example:
        >>> batches_per_epoch(1437, 32), batches_per_epoch(10, None)
        (44, 1)
    """
    num_examples = check_positive_int(num_examples, "num_examples")
    if batch_size is None or batch_size >= num_examples:
        return 1
    return num_examples // check_positive_int(batch_size, "batch_size")


def order_key(key: jax.Array, index: int = 0) -> jax.Array:
    """The minibatch-order key of network ``index`` derived from an algorithm's init key.

    ``fold_in(fold_in(key, tag), index)``: SGD and Entropy-SGD use index 0 and
    replica a of replicated SGD index a, so with one init key replica 0 sees
    the same epoch permutations as SGD.
    """
    return jax.random.fold_in(jax.random.fold_in(as_key(key), _ORDER_TAG), index)


def epoch_indices(
    order_key: jax.Array, step: jax.Array, num_examples: int, batch_size: int
) -> jax.Array:
    """Indices (B,) of minibatch ``step`` of the epoch-wise stream of ``order_key``.

    With nb = P // B: epoch e = step // nb, batch i = step % nb, indices
    ``permutation(fold_in(order_key, e), P)[i B:(i + 1) B]``. ``step`` may be traced.
    """
    nb = batches_per_epoch(num_examples, batch_size)
    size = min(batch_size, num_examples)
    step = jnp.asarray(step, jnp.int32)
    perm = jax.random.permutation(jax.random.fold_in(order_key, step // nb), num_examples)
    return jax.lax.dynamic_slice_in_dim(perm, (step % nb) * size, size)


def epoch_batch(
    order_key: jax.Array, step: jax.Array, data: Batch, batch_size: int | None
) -> Batch:
    """Minibatch ``step`` of the epoch-wise stream (`epoch_indices`); the full batch for None."""
    p = data.y.shape[0]
    if batch_size is None or batch_size >= p:
        return data
    idx = epoch_indices(order_key, step, p, batch_size)
    return jax.tree.map(lambda a: a[idx], data)


def sgd(
    learning_rate: float,
    *,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    lr_drops: Sequence[float] = (),
    drop_factor: float = 0.1,
    steps_per_epoch: int = 1,
) -> optax.GradientTransformation:
    """SGD with heavy-ball or Nesterov momentum, L2 weight decay and learning-rate drops.

    ``optax.chain(optax.add_decayed_weights(weight_decay), optax.sgd(schedule,
    momentum, nesterov))``: the update of gradient g at weights w is
    v <- mu v + (g + lambda w), step -lr_t v (Nesterov: -lr_t (g + lambda w + mu v)),
    the PyTorch ``SGD(weight_decay=...)`` convention used by the authors' code
    (Pittorino et al., ICLR 2021; Chaudhari et al., ICLR 2017); the decay acts
    on every leaf, biases included. The learning rate is piecewise constant
    (``optax.piecewise_constant_schedule``): multiplied by ``drop_factor`` at the
    start of each epoch in ``lr_drops``, epoch e being optimizer step
    ``round(e * steps_per_epoch)`` (``steps_per_epoch=1``: ``lr_drops`` counts
    optimizer steps). For Entropy-SGD an optimizer step is an outer step:
    ``steps_per_epoch = batches_per_epoch(P, B) / langevin_steps``.

    Example:
        >>> import jax.numpy as jnp
        >>> opt = sgd(0.1, momentum=0.9, lr_drops=(2,), steps_per_epoch=3)
        >>> state = opt.init(jnp.zeros(2))
        >>> upd, state = opt.update(jnp.ones(2), state, jnp.zeros(2))
        >>> [round(float(u), 6) for u in upd]
        [-0.1, -0.1]
    """
    if not (isinstance(learning_rate, (int, float)) and learning_rate > 0):
        raise ValueError(f"learning_rate={learning_rate!r}; expected a positive number")
    if not (isinstance(momentum, (int, float)) and 0 <= momentum < 1):
        raise ValueError(f"momentum={momentum!r}; expected 0 <= momentum < 1")
    if nesterov and momentum == 0:
        raise ValueError("nesterov=True with momentum=0; expected a momentum > 0 for Nesterov")
    if not (isinstance(weight_decay, (int, float)) and weight_decay >= 0):
        raise ValueError(f"weight_decay={weight_decay!r}; expected a non-negative number")
    if not (isinstance(drop_factor, (int, float)) and drop_factor > 0):
        raise ValueError(f"drop_factor={drop_factor!r}; expected a positive factor")
    if not (isinstance(steps_per_epoch, (int, float)) and steps_per_epoch > 0):
        raise ValueError(f"steps_per_epoch={steps_per_epoch!r}; expected a positive number")
    drops = list(lr_drops)
    if any(not (isinstance(e, (int, float)) and e > 0 and math.isfinite(e)) for e in drops):
        raise ValueError(f"lr_drops={lr_drops!r}; expected epochs > 0")
    schedule: Any = float(learning_rate)
    if drops:
        scales: dict[int, float] = {}
        for e in drops:
            b = int(round(e * steps_per_epoch))
            scales[b] = scales.get(b, 1.0) * float(drop_factor)
        schedule = optax.piecewise_constant_schedule(float(learning_rate), scales)
    opt = optax.sgd(schedule, momentum=float(momentum) or None, nesterov=bool(nesterov))
    if weight_decay:
        return optax.chain(optax.add_decayed_weights(float(weight_decay)), opt)
    return opt


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


def init(
    params: Any,
    optimizer: optax.GradientTransformation,
    *,
    key: jax.Array | None = None,
    sampling: str = "replacement",
) -> GradientState:
    """The initial `GradientState`: parameters, optimizer state, step 0, the order key.

    ``sampling="epoch"`` needs ``key`` (the algorithm's init key); the order key
    is ``order_key(key, 0)``.
    """
    check_sampling(sampling)
    okey = None
    if sampling == "epoch":
        if key is None:
            raise ValueError("key=None with sampling='epoch'; expected the init key")
        okey = order_key(key, 0)
    return GradientState(params, optimizer.init(params), jnp.zeros((), jnp.int32), okey)


def _next_step(step):
    return None if step is None else step + 1


def build_step(
    problem: Problem,
    optimizer: optax.GradientTransformation,
    *,
    batch_size: int | None = None,
    sampling: str = "replacement",
) -> Callable[[jax.Array, GradientState, Batch], tuple[GradientState, GradientInfo]]:
    """The (S)GD step ``step(key, state, data) -> (state, info)``.

    Takes a minibatch of ``batch_size`` examples (``sampling="replacement"``:
    drawn from the key by `minibatch`; ``"epoch"``: batch ``state.step`` of the
    epoch-wise stream of ``state.order_key``, `epoch_batch`), computes grad L_B
    and applies ``optimizer``; the learning rate and its schedule live in the
    optax optimizer (`sgd`).
    """
    if batch_size is not None:
        check_positive_int(batch_size, "batch_size")
    check_sampling(sampling)

    def step(key, state, data):
        if sampling == "epoch":
            batch = epoch_batch(state.order_key, state.step, data, batch_size)
        else:
            batch = minibatch(key, data, batch_size)
        loss, grads = jax.value_and_grad(problem.loss)(state.params, batch)
        errors = problem.errors(state.params, batch)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        new_state = GradientState(params, opt_state, _next_step(state.step), state.order_key)
        return new_state, GradientInfo(loss, errors)

    return step


def gradient(
    problem: Problem,
    optimizer: optax.GradientTransformation,
    *,
    batch_size: int | None = None,
    norm_reduction_rate: float = 0.0,
    sampling: str = "replacement",
) -> Algorithm:
    """(Stochastic) gradient descent on ``problem.loss`` with any optax optimizer.

    Each step takes a minibatch of ``batch_size`` examples (full batch when
    None): drawn afresh from the step key (``sampling="replacement"``) or the
    next batch of an epoch-wise pass without replacement (``"epoch"``, order
    key ``order_key(init key, 0)``; an epoch is `batches_per_epoch` steps),
    computes the loss gradient and applies the optimizer (e.g. `sgd`);
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
    check_sampling(sampling)
    if norm_reduction_rate:
        optimizer = optax.chain(optimizer, norm_reduction(norm_reduction_rate))
    step = build_step(problem, optimizer, batch_size=batch_size, sampling=sampling)

    def init_fn(key, params):
        return init(params, optimizer, key=key, sampling=sampling)

    def solved(state, data):
        return problem.errors(state.params, data) == 0

    return Algorithm(init_fn, step, solved)
