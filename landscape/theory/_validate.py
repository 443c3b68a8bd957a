"""Input checks and the scoped float64 switch shared by the public theory functions."""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from landscape._util import is_concrete, x64


def check_range(
    name: str,
    value,
    *,
    lower: float = -np.inf,
    upper: float = np.inf,
    lower_open: bool = False,
    upper_open: bool = False,
    what: str = "",
) -> None:
    """Raise ValueError if a concrete ``value`` is NaN or outside the given interval."""
    if not is_concrete(value):
        return
    arr = np.asarray(value, dtype=np.float64)
    bad = ~np.isfinite(arr) & ~((arr == np.inf) & (upper == np.inf) & (not upper_open))
    bad |= (arr <= lower) if lower_open else (arr < lower)
    bad |= (arr >= upper) if upper_open else (arr > upper)
    if np.any(bad):
        left = "(" if lower_open else "["
        right = ")" if upper_open else "]"
        shown = arr if arr.ndim == 0 else arr[bad]
        raise ValueError(f"{name} must lie in {left}{lower}, {upper}{right}{what}; got {shown!r}")


def in_range(
    value: jax.Array,
    *,
    lower: float = -np.inf,
    upper: float = np.inf,
    lower_open: bool = False,
    upper_open: bool = False,
) -> jax.Array:
    """Traced counterpart of :func:`check_range`: a boolean mask of valid entries."""
    ok = ~jnp.isnan(value)
    ok &= (value > lower) if lower_open else (value >= lower)
    ok &= (value < upper) if upper_open else (value <= upper)
    return ok


def float64(fn: Callable) -> Callable:
    """Run ``fn`` under a scoped ``jax.enable_x64(True)`` (never switched on globally).

    A scoped switch does not reach into an enclosing float32 ``vmap``/``grad``/``jit``:
    transform these functions in a process with x64 on (the ``x64`` tests do).
    """

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with x64():
            return fn(*args, **kwargs)

    return wrapped


def as_float64(*values):
    """Convert each value to a float64 array (inside the x64 scope)."""
    return tuple(jnp.asarray(v, dtype=jnp.float64) for v in values)
