"""Data sets: random patterns, teacher-student, Gaussian mixtures, noisy XOR, digits, files.

Every generator returns a `landscape.problem.Batch` of arrays, passed to compiled
functions as arguments. Binary tasks have labels in {-1, +1}; multi-class tasks
integer labels. The load alpha = P/N is a first-class parameter: see
`num_patterns`.
"""

from landscape.data._digits import reduced_digits
from landscape.data.files import load
from landscape.data.synthetic import (
    gaussian_mixture,
    noisy_xor,
    num_patterns,
    random_patterns,
    teacher_student,
)

__all__ = [
    "digits",
    "gaussian_mixture",
    "load",
    "noisy_xor",
    "num_patterns",
    "random_patterns",
    "reduced_digits",
    "teacher_student",
]


def digits(test_fraction: float = 0.2, seed: int = 0):
    """scikit-learn's bundled 8x8 digits: a fixed train/test split, standardised.

    1797 images of 64 pixels, labels 0..9. The split is a fixed permutation
    (``seed``); pixels are standardised with the training mean and standard
    deviation (constant pixels are left centred). Needs scikit-learn
    (``pip install "landscape[data]"``).

    Returns:
        ``(train, test)``: Batches with x float32 (P, 64) and y int32 (P,).
    """
    from landscape.data._digits import digits as _digits

    return _digits(test_fraction=test_fraction, seed=seed)
