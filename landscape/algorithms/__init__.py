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
from landscape.algorithms.entropy_sgd import (  # noqa: E402
    EntropySGDInfo,
    EntropySGDState,
    entropy_sgd,
    langevin_average,
)
from landscape.algorithms.replicated import (  # noqa: E402
    CenterReport,
    ReplicatedInfo,
    ReplicatedState,
    center_report,
    replicated_sgd,
)

__all__ += [
    "CenterReport",
    "EntropySGDInfo",
    "EntropySGDState",
    "ReplicatedInfo",
    "ReplicatedState",
    "center_report",
    "entropy_sgd",
    "langevin_average",
    "replicated_sgd",
]
