"""Replica-symmetric predictions to draw beside simulations, solved in JAX (float64).

Every public function runs in a scoped ``jax.enable_x64`` (never switched on globally),
checks concrete inputs (``ValueError`` naming the argument), returns NaN with
``converged=False`` for invalid traced inputs, and is differentiable in its parameters
(implicit differentiation at the saddle point). Solvers return NamedTuples with
``value``, the order parameters, ``converged`` and ``steps`` (iterations taken). To vmap, grad or
jit them from outside, run with x64 switched on in the process (a scoped switch does not
reach into an enclosing float32 transformation).

- :func:`gardner_capacity`, :func:`maximal_margin`, :func:`spherical_volume`: the
  spherical perceptron (Gardner 1988).
- :func:`binary_perceptron_entropy`, :func:`binary_capacity`: the binary perceptron
  (Gardner & Derrida 1988; Krauth & Mezard 1989).
- :func:`franz_parisi`: local entropy around a reference solution (Franz & Parisi 1995;
  Huang & Kabashima 2014; Baldassi et al. 2021).
- :func:`teacher_student_generalization`: Gibbs learning of a teacher perceptron
  (Gyorgyi & Tishby 1990; Gyorgyi 1990; Seung, Sompolinsky & Tishby 1992).
- :func:`rs_energy`, :func:`rs_unsatisfied`: the RS jamming lines of the quadratic hinge
  past capacity (Franz & Parisi 2016).
- :func:`activation_kernel`, :func:`committee_entropy`, :func:`committee_capacity`,
  :func:`committee_generalization`: the tree committee machine at K = inf (sign, ReLU,
  erf, linear units; perceptron formulas with overlaps through the unit's kernel) and the
  finite-K RS capacity of sign units (Barkai, Hansel & Sompolinsky 1992; Baldassi,
  Malatesta & Zecchina 2019).
- :func:`cover_probability`: exact finite-size probability that random patterns are
  linearly separable (Cover 1965).
"""

from landscape.theory.binary import (
    BinaryCapacity,
    BinaryEntropy,
    binary_capacity,
    binary_perceptron_entropy,
)
from landscape.theory.committee import (
    CommitteeCapacity,
    CommitteeEntropy,
    CommitteeGeneralization,
    committee_capacity,
    committee_entropy,
    committee_generalization,
)
from landscape.theory.finite_size import cover_probability
from landscape.theory.franz_parisi import FranzParisi, franz_parisi
from landscape.theory.jamming import rs_energy, rs_unsatisfied
from landscape.theory.kernels import ActivationKernel, activation_kernel
from landscape.theory.spherical import (
    MaximalMargin,
    SphericalVolume,
    gardner_capacity,
    maximal_margin,
    spherical_volume,
)
from landscape.theory.teacher_student import (
    BinaryGeneralization,
    SphericalGeneralization,
    teacher_student_generalization,
)

__all__ = [
    "ActivationKernel",
    "BinaryCapacity",
    "BinaryEntropy",
    "BinaryGeneralization",
    "CommitteeCapacity",
    "CommitteeEntropy",
    "CommitteeGeneralization",
    "FranzParisi",
    "MaximalMargin",
    "SphericalGeneralization",
    "SphericalVolume",
    "activation_kernel",
    "binary_capacity",
    "binary_perceptron_entropy",
    "committee_capacity",
    "committee_entropy",
    "committee_generalization",
    "cover_probability",
    "franz_parisi",
    "gardner_capacity",
    "maximal_margin",
    "rs_energy",
    "rs_unsatisfied",
    "spherical_volume",
    "teacher_student_generalization",
]
