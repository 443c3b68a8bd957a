"""The contract everything else speaks: models, batches and problems.

- A model is ``Model(init, apply)``: ``init(key) -> params`` and
  ``apply(params, x) -> outputs``, outputs real-valued and pre-threshold, shape
  (P,) for a binary model and (P, C) for a multi-class one. The class is the
  sign (binary) or the argmax (multi-class); an example with stability exactly 0
  counts as an error.
- A batch is ``Batch(x, y)``: inputs (P, ...) and labels (P,), y in {-1, +1}
  for binary models, integer classes for multi-class ones.
- A problem bundles a model, a per-example loss (`landscape.losses`) and,
  optionally, its training data. Its methods take the batch as an argument, so
  data always reach compiled code as arguments and are never closed over.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape import losses as losses_lib
from landscape._util import chunked_mean, is_concrete

Params = Any


class Batch(NamedTuple):
    """Inputs ``x`` (P, ...) and labels ``y`` (P,)."""

    x: jax.Array
    y: jax.Array


class Model(NamedTuple):
    """A pair of pure functions: ``init(key) -> params``, ``apply(params, x) -> outputs``.

    ``classify(params, x)``, when given, is the real-valued output whose sign or
    argmax is the model's class, for models trained through a smooth surrogate
    (a committee machine trained with erf units votes with sign units). Without
    it the class is read off ``apply``.
    """

    init: Callable[[jax.Array], Params]
    apply: Callable[[Params, jax.Array], jax.Array]
    classify: Callable[[Params, jax.Array], jax.Array] | None = None


def check_batch(batch: Batch, *, name: str = "batch", binary: bool | None = None) -> Batch:
    """Validate a batch when its values are concrete; return it unchanged.

    Raises:
        ValueError: mismatched leading sizes, an empty batch, NaN/inf inputs, or
            (with ``binary=True``) labels outside {-1, +1}.
    """
    if not isinstance(batch, tuple) or len(batch) != 2:
        raise ValueError(f"{name} must be a Batch(x, y); got {type(batch).__name__}")
    x, y = batch
    if np.ndim(y) != 1:
        raise ValueError(f"{name}.y has shape {np.shape(y)}; expected one label per example (P,)")
    if np.ndim(x) < 1 or np.shape(x)[0] != np.shape(y)[0]:
        raise ValueError(
            f"{name}.x has shape {np.shape(x)} and {name}.y has shape {np.shape(y)}; "
            "expected the same number of examples P as leading size"
        )
    if np.shape(y)[0] == 0:
        raise ValueError(f"{name} has no examples; expected P >= 1")
    if is_concrete(x) and not bool(np.all(np.isfinite(np.asarray(x)))):
        raise ValueError(f"{name}.x contains NaN or inf; expected finite inputs")
    if binary and is_concrete(y):
        yy = np.asarray(y)
        if not np.all((yy == 1) | (yy == -1)):
            bad = yy[(yy != 1) & (yy != -1)][:3].tolist()
            raise ValueError(f"{name}.y has labels {bad}; expected labels in {{-1, +1}}")
    return batch


class Problem(NamedTuple):
    """A model, a per-example loss and (optionally) the training data.

    ``problem.loss(params, batch)`` is the mean loss, ``per_example_loss`` its
    per-example form (P,), ``errors`` the fraction of misclassified examples
    (stability <= 0), ``stabilities`` the margins Delta (P,).
    ``examples_per_chunk`` bounds memory: examples are processed that many at
    a time (full chunks in a ``lax.scan``, the remainder once; the mean is
    exact whatever the chunking).

    Example:
        >>> import jax
        >>> from landscape import losses, models, data
        >>> batch = data.random_patterns(jax.random.key(0), n=11, p=5)
        >>> problem = Problem(models.perceptron(11), losses.hinge(0.0))
        >>> params = problem.model.init(jax.random.key(1))
        >>> errors = float(problem.errors(params, batch))  # a multiple of 1/5
        >>> abs(5 * errors - round(5 * errors)) < 1e-6
        True
    """

    model: Model
    loss_fn: losses_lib.Loss
    data: Batch | None = None

    def stabilities(self, params: Params, batch: Batch) -> jax.Array:
        """Delta_mu for every example, (P,)."""
        return losses_lib.stability(self.model.apply(params, batch.x), batch.y)

    def per_example_loss(self, params: Params, batch: Batch) -> jax.Array:
        """Loss of every example, (P,)."""
        return self.loss_fn(self.model.apply(params, batch.x), batch.y)

    def loss(
        self, params: Params, batch: Batch, examples_per_chunk: int | None = None
    ) -> jax.Array:
        """Mean loss over the batch (scalar)."""
        mean = lambda b: jnp.mean(self.per_example_loss(params, Batch(*b)))
        return chunked_mean(mean, tuple(batch), examples_per_chunk)

    def errors(
        self, params: Params, batch: Batch, examples_per_chunk: int | None = None
    ) -> jax.Array:
        """Fraction of misclassified examples (stability <= 0), a scalar in [0, 1].

        Uses ``model.classify`` when the model has one (e.g. sign units).
        """
        classify = self.model.classify or self.model.apply

        def wrong(b):
            delta = losses_lib.stability(classify(params, b[0]), b[1])
            return jnp.mean((delta <= 0).astype(jnp.result_type(float)))

        return chunked_mean(wrong, tuple(batch), examples_per_chunk)


def num_params(params: Params) -> int:
    """Total number of scalar parameters in a pytree."""
    return int(sum(np.size(leaf) for leaf in jax.tree.leaves(params)))
