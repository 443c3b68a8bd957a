"""Algorithms as ``Algorithm(init, step, solved)`` over NamedTuple states, and one driver.

- `gradient`: GD/SGD through any optax optimizer (with optional norm reduction).
- `run`: the chunked, jitted driver (also over a leading sample axis).
"""

from landscape.algorithms.base import Algorithm, never_solved
from landscape.algorithms.driver import run
from landscape.algorithms.gradient import (
    GradientInfo,
    GradientState,
    gradient,
    minibatch,
    norm_reduction,
)

__all__ = [
    "Algorithm",
    "GradientInfo",
    "GradientState",
    "gradient",
    "minibatch",
    "never_solved",
    "norm_reduction",
    "run",
]
