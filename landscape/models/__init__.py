"""Models as ``Model(init, apply)`` pairs: solvable models and ordinary networks.

- `perceptron`: spherical (w.x/|w|) or binary (sign(w).x/sqrt(n)).
- `committee_machine`: tree or fully connected, k hidden units, erf/tanh units.
- `mlp`, `cnn`: flax networks wrapped into the same pair.
"""

from landscape.models.committee import committee_machine
from landscape.models.networks import cnn, mlp
from landscape.models.perceptron import perceptron

__all__ = ["cnn", "committee_machine", "mlp", "perceptron"]
