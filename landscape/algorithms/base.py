"""The algorithm contract: two pure functions over a NamedTuple state (blackjax, optax).

``init(key, params) -> State`` and ``step(key, state, data) -> (State, Info)``.
The state holds only what the next step needs; diagnostics go in Info.
``solved(state, data) -> bool`` means one thing for every algorithm: the
minimum the algorithm reports (its parameters; the centre for replicated SGD)
has zero training error on the full data (`Problem.errors`), so that
``algorithms.run(..., stop_when_solved=True)`` stops there. Procedures with no
such notion (curve fitting) use `never_solved`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp


def never_solved(state: Any, data: Any) -> jax.Array:  # noqa: ARG001
    """A `solved` for algorithms with no stopping criterion: always False."""
    return jnp.array(False)


class Algorithm(NamedTuple):
    """``init(key, params) -> State``, ``step(key, state, data) -> (State, Info)``, ``solved``."""

    init: Callable[[jax.Array, Any], Any]
    step: Callable[[jax.Array, Any, Any], tuple[Any, Any]]
    solved: Callable[[Any, Any], jax.Array] = never_solved
