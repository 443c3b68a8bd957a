"""Every stochastic estimate is an `Estimate`: mean, standard error and sample count.

- `estimate(values, axis=0)`: the sample mean over an axis and its standard
  error ``std(ddof=1) / sqrt(S)``; NaN (unknown, never 0) with one sample. The
  one place where mean +- standard error is computed: NumPy input is reduced
  in float64 by NumPy, JAX input (also traced, inside ``jit``) by ``jax.numpy``
  in its own dtype.
- `proportion(successes)`: a fraction of Bernoulli outcomes with the binomial
  standard error ``sqrt(p (1 - p) / S)``.
- `mean_stderr(values)`: `estimate` as two Python floats, for result rows.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class Estimate(NamedTuple):
    """A stochastic estimate.

    Attributes:
        mean: the estimate (the sample mean, or an exact part plus one).
        stderr: its standard error; NaN when fewer than two samples.
        num_samples: the number of independent samples it averages.
    """

    mean: Any
    stderr: Any
    num_samples: int


def estimate(values: Any, axis: int = 0) -> Estimate:
    """Mean of ``values`` over ``axis`` and its standard error std(ddof=1)/sqrt(S).

    ``values`` (..., S, ...) with the samples along ``axis``; ``mean`` and
    ``stderr`` have that axis removed. With S = 1 the standard error is NaN.
    NumPy input (or lists) is reduced in float64; a JAX array (traced or not)
    by ``jax.numpy`` in its dtype.

    Example:
        >>> est = estimate([1.0, 2.0, 3.0])
        >>> float(est.mean), round(float(est.stderr), 6), est.num_samples
        (2.0, 0.57735, 3)
    """
    if isinstance(values, jax.Array):
        x, xp = values, jnp
    else:
        x, xp = np.asarray(values, dtype=np.float64), np
    if x.ndim == 0 or x.shape[axis] == 0:
        raise ValueError(f"values has shape {x.shape}; expected at least one sample on axis {axis}")
    size = x.shape[axis]
    mean = xp.mean(x, axis=axis)
    if size > 1:
        stderr = xp.std(x, axis=axis, ddof=1) / xp.sqrt(xp.asarray(size).astype(mean.dtype))
    else:
        stderr = xp.full_like(mean, xp.nan)
    return Estimate(mean, stderr, size)


def proportion(successes: Any) -> Estimate:
    """The fraction of true outcomes and its binomial standard error sqrt(p(1-p)/S).

    Example:
        >>> est = proportion([True, False, True, True])
        >>> float(est.mean), round(float(est.stderr), 4)
        (0.75, 0.2165)
    """
    s = np.asarray(successes, dtype=np.float64).ravel()
    if s.size == 0:
        raise ValueError("successes is empty; expected at least one sample")
    frac = float(s.mean())
    return Estimate(frac, float(np.sqrt(frac * (1 - frac) / s.size)), int(s.size))


def mean_stderr(values: Any) -> tuple[float, float]:
    """`estimate` over the leading axis as two Python floats (mean, stderr), for rows.

    Example:
        >>> mean_stderr([1.0, 2.0, 3.0])
        (2.0, 0.5773502691896258)
    """
    est = estimate(np.asarray(values, dtype=np.float64).ravel())
    return float(est.mean), float(est.stderr)
