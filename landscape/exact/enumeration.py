"""Exact enumeration of binary weights: the one enumerator of {-1,+1}^n, n <= 24.

`enumerate_signs` visits every w in {-1,+1}^n once, as the flip sets of a
reference (an n-bit integer per w: bit i set flips weight i), in blocks of
sign vectors: each block is one call of the user's (batched) function, the
blocks are mapped over devices by `landscape.parallel`, and each block reduces
to a histogram of solutions over the Hamming distance d from the reference
and the maximum of a score, so memory is that of one block. Both exact counts
of the package are this enumerator:

- `binary_enumeration`: SAT/UNSAT and the maximal stability of the binary
  perceptron (Gardner & Derrida 1988; Krauth & Mezard 1989), one sample or
  many (``samples=True``). It enumerates the first n // 2 weights and
  completes each of them by all 2^(n - n//2) settings of the others at once
  (meet in the middle: the stabilities are sums of two precomputed halves),
  so its cost is O(2^n P) additions;
- `landscape.flatness.local_entropy_enumerated`: Franz-Parisi counting of
  solutions at every distance from a reference (Huang & Kabashima 2014;
  Baldassi et al., PRL 2015).

``block_elements``: the number of weight vectors of the enumeration held at
once (a block; a power of two, at most 2^n). A block of the perceptron holds
``block_elements`` stabilities per pattern.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape import parallel
from landscape._util import check_positive_int, is_concrete
from landscape.exact.spherical import _check_patterns

#: Largest n enumerated exactly (2^24 = 16.8 million weight vectors).
MAX_ENUMERATION_N = 24
#: Default number of weight vectors per block.
BLOCK_ELEMENTS = 2**16


class SignCounts(NamedTuple):
    """What `enumerate_signs` counts over the 2^n sign vectors.

    Attributes:
        counts: (n + 1,) int32, the number of solutions at Hamming distance
            d = 0..n from the reference.
        max_score: the maximum of the score over all 2^n sign vectors (scalar).
    """

    counts: jax.Array
    max_score: jax.Array


class Enumeration(NamedTuple):
    """Exact counts over the 2^n binary weight vectors, shapes (...,) (leading sample axis).

    Attributes:
        num_solutions: number of w in {-1,+1}^n with every stability > kappa.
        kappa_max: ``max_w min_mu a_mu.w / sqrt(n)`` (the binary maximal stability).
    """

    num_solutions: np.ndarray
    kappa_max: np.ndarray


def check_size(n: Any, name: str = "n") -> int:
    """``n`` as an int if 1 <= n <= MAX_ENUMERATION_N, else ValueError naming ``name``."""
    n = check_positive_int(n, name)
    if n > MAX_ENUMERATION_N:
        raise ValueError(
            f"{name}={n}; exact enumeration needs {name} <= {MAX_ENUMERATION_N} "
            "(2^n weight vectors)"
        )
    return n


def block_size(block_elements: Any, n: int) -> int:
    """Vectors per block: ``block_elements`` rounded down to a power of two, at most 2^n."""
    block_elements = check_positive_int(block_elements, "block_elements")
    return min(1 << (block_elements.bit_length() - 1), 1 << n)


def _one_block(fn, flat, data, c, block):
    n = flat.shape[0]
    bits = jnp.arange(n, dtype=jnp.int32)
    idx = c * block + jnp.arange(block, dtype=jnp.int32)
    flips = (idx[:, None] >> bits[None, :]) & 1  # (block, n)
    w = flat[None, :] * (1 - 2 * flips).astype(flat.dtype)
    solutions, score = fn(w, data)
    d = jnp.sum(flips, axis=1)
    hist = jnp.zeros(n + 1, jnp.int32).at[d].add(solutions.astype(jnp.int32))
    return hist, jnp.max(score)


def _count(fn, flat, data, block: int, *, shard: bool) -> SignCounts:
    """The enumeration proper (traceable): blocks mapped by `parallel.sharded_vmap`."""
    num_blocks = (1 << flat.shape[0]) // block
    hists, maxima = parallel.sharded_vmap(
        lambda c, f, x: _one_block(fn, f, x, c, block),
        in_axes=(0, None, None),
        per_device=1,
        shard=shard,
    )(jnp.arange(num_blocks, dtype=jnp.int32), flat, data)
    return SignCounts(jnp.sum(hists, axis=0), jnp.max(maxima))


def enumerate_signs(
    fn: Callable[[jax.Array, Any], tuple[jax.Array, jax.Array]],
    reference: jax.Array,
    data: Any = None,
    *,
    block_elements: int = BLOCK_ELEMENTS,
) -> SignCounts:
    """Count solutions among all w in {-1,+1}^n by Hamming distance from a reference.

    ``counts[d] = sum_{w : Hamming(w, reference) = d} solutions(w)`` and
    ``max_score = max_w score(w)`` with ``(solutions, score) = fn(w, data)``,
    exactly, over the 2^n flip sets of ``reference`` in blocks of
    ``block_elements`` sign vectors (memory of one block), the blocks split
    over devices. ``fn`` sees a whole block at once, so it can batch its work
    (one matrix product for a perceptron; ``jax.vmap`` of a per-vector
    function otherwise). ``solutions`` is a boolean (w is a solution) or a
    count (the solutions w stands for, when fn completes w over further
    weights, as `binary_enumeration` does). Jitted per call.

    Args:
        fn: ``fn(w, data) -> (solutions, score)`` for a block w (B, n) of sign
            vectors in the reference's dtype: booleans or integers (B,) and
            reals (B,) (return constant scores when only the count matters).
        reference: the +-1 vector (n,) the distances are measured from, 1 <= n <= 24.
        data: passed to ``fn`` (any pytree, never closed over).
        block_elements: sign vectors per block (rounded down to a power of two).

    Returns:
        `SignCounts` with ``counts`` (n + 1,) int32 and ``max_score`` (scalar).

    Example:
        >>> import jax.numpy as jnp
        >>> majority = lambda w, _: (jnp.sum(w, axis=1) > 0, jnp.sum(w, axis=1))
        >>> res = enumerate_signs(majority, jnp.ones(3))
        >>> res.counts.tolist(), float(res.max_score)
        ([1, 3, 0, 0], 3.0)
    """
    flat = jnp.asarray(reference)
    if flat.ndim != 1:
        raise ValueError(f"reference has shape {flat.shape}; expected a vector (n,)")
    n = check_size(flat.shape[0], "n")
    if is_concrete(flat) and not bool(np.all(np.abs(np.asarray(flat)) == 1)):
        raise ValueError("reference is not binary; expected every entry in {-1, +1}")
    block = block_size(block_elements, n)
    count = jax.jit(lambda f, x: _count(fn, f, x, block, shard=True))
    return count(flat, data)


def _all_signs(bits: int, dtype) -> jax.Array:
    """Every vector of {-1,+1}^bits, (2^bits, bits): bit i of the row index set means +1."""
    idx = jnp.arange(2**bits, dtype=jnp.int32)[:, None]
    shifts = jnp.arange(bits, dtype=jnp.int32)[None, :]
    return jnp.where((idx >> shifts) & 1, 1.0, -1.0).astype(dtype)


def _perceptron_half(w, data):
    """Complete a block w (B, n1) of first halves by every second half at once.

    ``data = (a1 (P, n1), s2 (2^n2, P), threshold)`` with ``s2`` the second
    halves' partial stabilities. The stabilities of (w, v) are
    ``(w a1^T)_mu + s2[v, mu]``; returns, per w, the number of completions v
    with every stability > threshold, and the largest minimum stability.
    """
    a1, s2, threshold = data
    s1 = w @ a1.T  # (B, P)
    m = jnp.min(s1[:, None, :] + s2[None, :, :], axis=-1)  # (B, 2^n2)
    return jnp.sum(m > threshold, axis=1, dtype=jnp.int32), jnp.max(m, axis=1)


@functools.lru_cache(maxsize=32)
def _compiled_enumeration(samples: bool, n: int, block: int, per_device: int | None):
    n1 = n // 2

    def one(xi, y, threshold):
        a = y[:, None] * xi
        s2 = _all_signs(n - n1, a.dtype) @ a[:, n1:].T  # (2^n2, P)
        data = (a[:, :n1], s2, threshold)
        res = _count(_perceptron_half, jnp.ones((n1,), a.dtype), data, block, shard=not samples)
        return jnp.sum(res.counts), res.max_score

    if samples:
        return jax.jit(parallel.sharded_vmap(one, in_axes=(0, 0, None), per_device=per_device))
    return jax.jit(one)


def binary_enumeration(
    xi,
    y,
    kappa: float = 0.0,
    *,
    samples: bool = False,
    per_device: int | None = None,
    block_elements: int = BLOCK_ELEMENTS,
) -> Enumeration:
    """Exact SAT/UNSAT of the binary perceptron by enumerating all 2^n weight vectors.

    Stabilities ``Delta_mu = y_mu w.xi_mu / sqrt(n)`` for every w in
    {-1,+1}^n; ``num_solutions = #{w : min_mu Delta_mu > kappa}`` and
    ``kappa_max = max_w min_mu Delta_mu``, so SAT at kappa iff
    ``num_solutions > 0`` iff ``kappa_max > kappa``. `enumerate_signs` runs
    over the first n1 = n // 2 weights; each is completed by all 2^(n - n1)
    second halves at once, the stabilities being sums ``S1[i] + S2[j]`` of the
    two halves' partial sums (meet in the middle), ``block_elements`` weight
    vectors at a time (memory O(block_elements P)). Use Gaussian patterns, or
    +-1 patterns with odd n, so no stability is exactly 0 (+-1 patterns give
    exact integer sums). Gardner & Derrida 1988; Krauth & Mezard 1989
    (capacity 0.833 at kappa = 0). In the default float dtype.

    Args:
        xi: patterns (P, n), or (sample, P, n) with ``samples=True``; n <= 24.
        y: labels (P,) or (sample, P).
        kappa: the margin.
        samples: xi and y carry a leading ``sample`` axis (samples sharded
            over devices, each one's blocks one after another).
        per_device: samples vmapped at once per device (None: backend policy;
            1: a compiled scan).
        block_elements: weight vectors per block.

    Returns:
        `Enumeration` (NumPy), leading sample axis if ``samples``.

    Example:
        >>> import numpy as np
        >>> res = binary_enumeration(np.array([[1.0, 1.0, 1.0]]), np.array([1.0]))
        >>> int(res.num_solutions), round(float(res.kappa_max), 4)
        (4, 1.7321)
    """
    _check_patterns(xi, y, samples)
    n = check_size(np.shape(xi)[-1], "n")
    if not np.isfinite(kappa):
        raise ValueError(f"kappa={kappa}; expected a finite margin")
    parallel.resolve_per_device(per_device, 1)  # ValueError now for a bad value
    n2 = n - n // 2
    block = block_size(max(1, block_size(block_elements, n) >> n2), n // 2)
    solver = _compiled_enumeration(bool(samples), n, block, per_device)
    dtype = jnp.result_type(float)
    threshold = jnp.asarray(kappa * np.sqrt(n), dtype)
    counts, maxima = solver(jnp.asarray(xi, dtype), jnp.asarray(y, dtype), threshold)
    return Enumeration(np.asarray(counts), np.asarray(maxima) / np.sqrt(n))
