"""Every solution of a small binary perceptron, and the neighbour counts N_k of each solution.

SOL = {w in {-1,+1}^n : Delta_mu = w . xi_mu > kappa sqrt(n) for all mu} (labels
absorbed, the library's strict criterion, Delta_mu >= floor(kappa sqrt n) + 1 in
integers) listed exactly for n <= `MAX_ENUMERATION_N`, by meet in the middle: the
partial stabilities of all 2^(n//2) first halves and all 2^(n - n//2) second
halves, summed pairwise in blocks. For every solution s, N_k(s) = #{s' in SOL :
d(s, s') = k} counts the solutions at exact Hamming distance k, from all
pairwise distances (popcount of xor of the integer codes). The local-entropy
picture of Baldassi et al., PRL 115, 128101 (2015) at sizes where nothing is
approximated; `experiments/dense_regions.py` is built on it. NumPy, int64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from landscape._util import check_positive_int
from landscape.algorithms.binary import check_kappa, threshold
from landscape.exact.enumeration import MAX_ENUMERATION_N

#: Rows of the pairwise-distance block in `neighbour_counts` (memory: block x |SOL| x 8 bytes).
DISTANCE_BLOCK = 512


def _all_signs(bits: int) -> np.ndarray:
    """Every vector of {-1,+1}^bits as rows (2^bits, bits) int64, bit i of the row index -> +1."""
    idx = np.arange(2**bits, dtype=np.int64)[:, None]
    return np.where((idx >> np.arange(bits)) & 1, 1, -1).astype(np.int64)


def _check_signs(values: Any, name: str, *, allow_empty: bool = False) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 2 or arr.shape[1] == 0 or (arr.shape[0] == 0 and not allow_empty):
        rows = "rows >= 0" if allow_empty else "rows >= 1"
        raise ValueError(f"{name} has shape {arr.shape}; expected a (rows, n) array, {rows}")
    if not np.all((arr == 1) | (arr == -1)):
        raise ValueError(f"{name} has entries outside {{-1, +1}}; expected +-1 vectors")
    return arr.astype(np.int64)


def codes(weights: Any) -> np.ndarray:
    """The integer code of +-1 vectors: sum_i 2^i [w_i = +1]; (..., n) -> (...,) int64.

    Example:
        >>> codes([[1, -1, 1], [-1, -1, -1]]).tolist()
        [5, 0]
    """
    w = np.asarray(weights)
    return np.sum((w > 0).astype(np.int64) << np.arange(w.shape[-1], dtype=np.int64), axis=-1)


def solution_set(xi: Any, kappa: float = 0.0) -> np.ndarray:
    """Every solution of the binary perceptron, exactly: (M, n) int8 +-1, sorted by `codes`.

    Args:
        xi: absorbed +-1 patterns (P, n), n odd, n <= `MAX_ENUMERATION_N`.
        kappa: margin >= 0 (solution iff every Delta_mu > kappa sqrt(n)).

    Returns:
        (M, n) int8, M = |SOL| (0 rows for an UNSAT instance).

    Example:
        >>> solution_set([[1, 1, 1]]).tolist()  # a majority of +1
        [[1, 1, -1], [1, -1, 1], [-1, 1, 1], [1, 1, 1]]
    """
    x = _check_signs(xi, "xi")
    p, n = x.shape
    if n % 2 == 0:
        raise ValueError(f"xi has n={n}; expected odd n (no stability is then 0)")
    if n > MAX_ENUMERATION_N:
        raise ValueError(f"xi has n={n}; expected n <= {MAX_ENUMERATION_N} to enumerate")
    t = threshold(check_kappa(kappa, nonnegative=True), n)
    n1 = n // 2
    first, second = _all_signs(n1), _all_signs(n - n1)
    s1, s2 = first @ x[:, :n1].T, second @ x[:, n1:].T  # (2^n1, P), (2^n2, P)
    found = [np.zeros((0, n), np.int64)]
    block = max(1, 2**22 // (s2.shape[0] * p))
    for start in range(0, s1.shape[0], block):
        ok = np.all(s1[start : start + block, None, :] + s2[None, :, :] >= t, axis=-1)
        i, j = np.nonzero(ok)
        found.append(np.concatenate([first[start + i], second[j]], axis=1))
    sol = np.concatenate(found, axis=0).astype(np.int8)
    return sol[np.argsort(codes(sol), kind="stable")]


def neighbour_counts(solutions: Any, max_k: int) -> np.ndarray:
    """N_k(s) for k = 1..max_k from all pairwise Hamming distances: (M, n) -> (M, max_k) int64.

    d(s, s') = popcount(code(s) xor code(s')), in blocks of `DISTANCE_BLOCK` rows
    (O(M^2) time, O(DISTANCE_BLOCK M) memory).

    Example:
        >>> neighbour_counts(solution_set([[1, 1, 1]]), 2).tolist()
        [[1, 2], [1, 2], [1, 2], [3, 0]]
    """
    sol = _check_signs(solutions, "solutions", allow_empty=True)
    n = sol.shape[1]
    max_k = check_positive_int(max_k, "max_k")
    if max_k > n:
        raise ValueError(f"max_k={max_k}; expected 1 <= max_k <= n = {n}")
    c = codes(sol)
    out = np.zeros((c.shape[0], n + 1), np.int64)
    for start in range(0, c.shape[0], DISTANCE_BLOCK):
        d = np.bitwise_count(c[start : start + DISTANCE_BLOCK, None] ^ c[None, :]).astype(np.int64)
        rows = np.arange(d.shape[0])[:, None] * (n + 1)
        out[start : start + d.shape[0]] = np.bincount(
            (rows + d).ravel(), minlength=d.shape[0] * (n + 1)
        ).reshape(d.shape[0], n + 1)
    return out[:, 1 : max_k + 1]


def margins(solutions: Any, xi: Any) -> np.ndarray:
    """m(s) = min_mu Delta_mu(s), the integer margin of every solution: (M, n) -> (M,) int64.

    Example:
        >>> margins([[1, 1, 1], [1, 1, -1]], [[1, 1, 1]]).tolist()
        [3, 1]
    """
    sol = _check_signs(solutions, "solutions", allow_empty=True)
    x = _check_signs(xi, "xi")
    if sol.shape[1] != x.shape[1]:
        raise ValueError(f"solutions have n={sol.shape[1]} and xi n={x.shape[1]}; expected equal")
    return np.min(sol @ x.T, axis=1)
