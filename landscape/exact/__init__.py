"""Exact answers: what the tests and the stochastic algorithms are judged against.

- `maximal_stability`, `decide`: the certified spherical-perceptron solver
  (Gardner's maximal stability with SAT and UNSAT witnesses) and the
  SAT / UNSAT / undecided decision at any margin kappa >= 0.
- `enumerate_signs`: the one enumerator of all 2^n binary weight vectors
  (n <= 24), by Hamming distance from a reference; `binary_enumeration`
  (SAT/UNSAT and maximal stability of the binary perceptron) and
  `landscape.flatness.local_entropy_enumerated` are built on it.
- `solution_set`, `neighbour_counts`, `margins`, `codes`: every solution of a
  small binary perceptron (meet in the middle) and, for each, the number
  N_k of solutions at exact Hamming distance k (the dense-regions study).
- `minimize_sphere`: minima of the quadratic hinge on the sphere |w|^2 = n to
  machine precision (L-BFGS in float64, several starts).
"""

from landscape.exact.enumeration import (
    BLOCK_ELEMENTS,
    MAX_ENUMERATION_N,
    Enumeration,
    SignCounts,
    binary_enumeration,
    enumerate_signs,
)
from landscape.exact.solutions import codes, margins, neighbour_counts, solution_set
from landscape.exact.sphere import SphereMinimum, minimize_sphere
from landscape.exact.spherical import Decision, MaximalStability, decide, maximal_stability

__all__ = [
    "BLOCK_ELEMENTS",
    "MAX_ENUMERATION_N",
    "Decision",
    "Enumeration",
    "MaximalStability",
    "SignCounts",
    "SphereMinimum",
    "binary_enumeration",
    "codes",
    "decide",
    "enumerate_signs",
    "margins",
    "maximal_stability",
    "minimize_sphere",
    "neighbour_counts",
    "solution_set",
]
