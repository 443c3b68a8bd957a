"""landscape: loss landscapes of neural networks, as the statistical physics of learning sees them.

Layers (data flows one way): a problem (`models`, `losses`, `data`, bundled by
`problem.Problem`) -> an algorithm finds parameters (`algorithms`) ->
measurements of those parameters (`curvature`, `flatness`, `paths`,
`jamming`) -> run directories (`runs`) and figures (`plots`); `theory` gives
the replica predictions drawn beside the numbers, and `exact` the exact answers
(certified SAT/UNSAT, enumeration, minima to machine precision) the tests and
the stochastic algorithms are judged against. `energy` explores a loss as an
energy landscape (minima, saddles, disconnectivity graphs). `parallel` alone
knows about devices.

Importing this package imports neither matplotlib nor scikit-learn.
"""

from landscape import (
    algorithms,
    curvature,
    data,
    energy,
    exact,
    flatness,
    jamming,
    losses,
    models,
    parallel,
    paths,
    theory,
)
from landscape.problem import Batch, Model, Problem

__version__ = "0.1.0"

__all__ = [
    "Batch",
    "Model",
    "Problem",
    "algorithms",
    "curvature",
    "data",
    "energy",
    "exact",
    "flatness",
    "jamming",
    "losses",
    "models",
    "parallel",
    "paths",
    "theory",
]
