"""Flatness of minima: local energy and local entropy.

- `local_energy`: training error under weight perturbations of growing size
  (multiplicative, additive per layer, or sign flips), with standard errors.
- `local_entropy_enumerated`: exact Franz-Parisi counting of binary solutions
  at every Hamming distance from a reference (`landscape.exact.enumerate_signs`,
  the same enumerator as `landscape.exact.binary_enumeration`).
- `local_entropy`: the replica (elastic coupling) estimate for any model, by
  Monte Carlo chains and thermodynamic integration in gamma.
"""

from landscape.flatness.local_energy import NOISE_KINDS, LocalEnergy, local_energy, perturb
from landscape.flatness.local_entropy import (
    LocalEntropy,
    local_entropy,
    local_entropy_enumerated,
)
from landscape.flatness.local_entropy_bp import LocalEntropyBP, local_entropy_bp

__all__ = [
    "NOISE_KINDS",
    "LocalEnergy",
    "LocalEntropy",
    "LocalEntropyBP",
    "local_energy",
    "local_entropy",
    "local_entropy_bp",
    "local_entropy_enumerated",
    "perturb",
]
