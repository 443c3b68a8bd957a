"""Exact finite-size results: Cover's counting of linearly separable dichotomies."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np


def _cover_scalar(n: int, p: int) -> float:
    if p <= n:
        return 1.0
    count = sum(math.comb(p - 1, k) for k in range(n))
    return float(Fraction(count, 2 ** (p - 1)))


def cover_probability(n, p):
    """Probability that p random patterns with random labels are linearly separable.

    Patterns in general position in n dimensions, separating plane through the origin
    (Cover 1965):
    ``p_sat(n, p) = 2^(1 - p) sum_{k=0}^{n-1} C(p - 1, k)`` (1 for p <= n), evaluated with
    exact Python integers so it is exact for n, p in the hundreds or thousands. At
    ``p = 2 n`` it is exactly 1/2 for every n: the finite-size form of Gardner's
    ``alpha_c(0) = 2``.

    Args:
        n: input dimension (positive integer, or an integer array).
        p: number of patterns (non-negative integer, or an array broadcastable with n).

    Returns:
        A Python float for scalar inputs, else a float64 NumPy array of the broadcast shape.

    Example:
        >>> cover_probability(10, 20)
        0.5
    """
    n_arr, p_arr = np.asarray(n), np.asarray(p)
    for name, arr, low in (("n", n_arr, 1), ("p", p_arr, 0)):
        if arr.dtype.kind not in "iub" and not (
            arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))
        ):
            raise ValueError(f"{name} must be an integer (count); got {arr!r}")
        if np.any(arr < low):
            raise ValueError(f"{name} must be >= {low}; got {arr!r}")
    if n_arr.ndim == 0 and p_arr.ndim == 0:
        return _cover_scalar(int(n_arr), int(p_arr))
    n_b, p_b = np.broadcast_arrays(n_arr, p_arr)
    out = np.empty(n_b.shape, dtype=np.float64)
    for index in np.ndindex(n_b.shape):
        out[index] = _cover_scalar(int(n_b[index]), int(p_b[index]))
    return out


__all__ = ["cover_probability"]
