"""Per-example losses on the stability, as used in the statistical physics of learning.

Every loss here is a function of the stability (the margin of an example)

    Delta_mu = y_mu * output_mu                        (binary labels y in {-1, +1})
    Delta_mu = out_mu[y_mu] - max_{c != y_mu} out_mu[c]  (integer class labels, multi-class)

except `squared` and the multi-class `cross_entropy`, which need the whole
output vector. A `Loss` is called as ``loss(outputs, targets) -> (P,)``; the
`Problem` lifts it to ``loss(params, batch)`` (mean over examples) and its
per-example form, in the spirit of jax-md's pointwise potential plus a factory.

An example with stability exactly 0 is an error (ties count against the model).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp


class Loss(NamedTuple):
    """A per-example loss: ``per_example(outputs, targets) -> (P,)`` and its name.

    Attributes:
        per_example: ``(outputs (P,) or (P, C), targets (P,)) -> (P,)``.
        name: a readable name, e.g. ``"hinge(kappa=0.0)"``.
    """

    per_example: Callable[[jax.Array, jax.Array], jax.Array]
    name: str

    def __call__(self, outputs: jax.Array, targets: jax.Array) -> jax.Array:
        """Per-example values (P,)."""
        return self.per_example(outputs, targets)


def stability(outputs: jax.Array, targets: jax.Array) -> jax.Array:
    """The stability (margin) Delta of each example, shape (P,).

    Binary outputs (P,) with labels y in {-1, +1}: Delta = y * output.
    Multi-class outputs (P, C) with integer labels: Delta = out_y - max_{c != y} out_c.

    Example:
        >>> import jax.numpy as jnp
        >>> stability(jnp.array([0.5, -2.0]), jnp.array([1.0, 1.0])).tolist()
        [0.5, -2.0]
    """
    if outputs.ndim == 1:
        return targets.astype(outputs.dtype) * outputs
    labels = targets.astype(jnp.int32)
    correct = jnp.take_along_axis(outputs, labels[:, None], axis=1)[:, 0]
    others = jnp.where(jax.nn.one_hot(labels, outputs.shape[1], dtype=bool), -jnp.inf, outputs)
    return correct - jnp.max(others, axis=1)


def _check_kappa(kappa: float) -> None:
    if isinstance(kappa, (int, float)) and not jnp.isfinite(kappa):
        raise ValueError(f"kappa={kappa}; expected a finite margin")


def error() -> Loss:
    """The 0/1 error: 1 if Delta <= 0 else 0 (Gardner's energy, the error count).

    Its gradient is zero almost everywhere; use it to count, not to train.
    """
    return Loss(lambda out, y: (stability(out, y) <= 0).astype(out.dtype), "error")


def hinge(kappa: float = 0.0) -> Loss:
    """Hinge loss with margin kappa: max(0, kappa - Delta).

    Zero exactly on the solutions with all stabilities >= kappa (the perceptron
    learning rule's loss at margin kappa).
    """
    _check_kappa(kappa)
    return Loss(lambda out, y: jax.nn.relu(kappa - stability(out, y)), f"hinge(kappa={kappa})")


def quadratic_hinge(kappa: float = 0.0) -> Loss:
    """Quadratic hinge: (1/2) max(0, kappa - Delta)^2 — the jamming loss.

    This is the perceptron's soft-sphere potential: each unsatisfied constraint
    is a harmonic overlap (Franz & Parisi 2016; Geiger et al. 2019).
    """
    _check_kappa(kappa)
    return Loss(
        lambda out, y: 0.5 * jax.nn.relu(kappa - stability(out, y)) ** 2,
        f"quadratic_hinge(kappa={kappa})",
    )


def cross_entropy(beta: float = 1.0) -> Loss:
    """Cross-entropy with inverse temperature beta.

    Binary: (1/beta) log(1 + exp(-beta Delta)). Multi-class:
    (1/beta) [logsumexp_c(beta out_c) - beta out_y]. As beta -> infinity both
    tend to the hinge max(0, -Delta) (Baldassi, Pittorino & Zecchina, PNAS 2020).
    """
    if isinstance(beta, (int, float)) and not beta > 0:
        raise ValueError(f"beta={beta}; expected a positive inverse temperature")

    def per_example(out, y):
        if out.ndim == 1:
            return jax.nn.softplus(-beta * stability(out, y)) / beta
        labels = y.astype(jnp.int32)
        logits = beta * out
        correct = jnp.take_along_axis(logits, labels[:, None], axis=1)[:, 0]
        return (jax.nn.logsumexp(logits, axis=1) - correct) / beta

    return Loss(per_example, f"cross_entropy(beta={beta})")


def squared() -> Loss:
    """Squared error (1/2)|out - target|^2, target y (binary) or one-hot(y) (multi-class)."""

    def per_example(out, y):
        if out.ndim == 1:
            return 0.5 * (out - y.astype(out.dtype)) ** 2
        target = jax.nn.one_hot(y.astype(jnp.int32), out.shape[1], dtype=out.dtype)
        return 0.5 * jnp.sum((out - target) ** 2, axis=1)

    return Loss(per_example, "squared")


_BY_NAME = {
    "error": error,
    "hinge": hinge,
    "quadratic_hinge": quadratic_hinge,
    "cross_entropy": cross_entropy,
    "squared": squared,
}


def by_name(name: str, **kwargs) -> Loss:
    """Build a loss from its name ("hinge", "quadratic_hinge", ...) and parameters."""
    if name not in _BY_NAME:
        raise ValueError(f"loss={name!r}; expected one of {sorted(_BY_NAME)}")
    return _BY_NAME[name](**kwargs)
