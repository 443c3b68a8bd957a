"""Private helpers shared by every module: argument checks, keys, float64, chunked means.

One home for each of these, so that every public entry point checks its input
the same way and says what it expected:

- `is_concrete`, `check_positive_int`, `check_params`, `check_same_structure`,
  `leading_size`: checks that raise ``ValueError`` naming the argument, the
  value and what was expected (traced values are not checked);
- `as_key`: the one rule for keys: typed keys (``jax.random.key``) and the
  legacy uint32 keys (``jax.random.PRNGKey``, shape (..., 2)) are both
  accepted and become typed keys, so key arrays tile, split and fold the same
  way whichever a user wrote;
- `x64`: the scoped float64 switch (a no-op when x64 is already on);
- `chunked_mean`: the example-weighted mean of a function of a batch, in
  chunks of examples (memory of one chunk).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

PyTree = Any


def is_concrete(value: Any) -> bool:
    """True when ``value`` (any pytree) holds no JAX tracer, so it can be checked in Python."""
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(value))


def check_positive_int(value: Any, name: str) -> int:
    """Return value as int if it is a positive integer, else raise ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}={value!r}; expected a positive integer")
    return int(value)


def check_params(params: PyTree, name: str = "params") -> PyTree:
    """Raise ValueError if concrete parameters contain NaN or inf; return them unchanged."""
    for path, leaf in jax.tree_util.tree_leaves_with_path(params):
        if is_concrete(leaf) and not bool(np.all(np.isfinite(np.asarray(leaf)))):
            where = jax.tree_util.keystr(path)
            raise ValueError(f"{name}{where} contains NaN or inf; expected finite values")
    return params


def check_same_structure(a: PyTree, b: PyTree, names: tuple[str, str] = ("params_a", "params_b")):
    """Raise ValueError unless two pytrees have the same structure and leaf shapes."""
    sa, sb = jax.tree.structure(a), jax.tree.structure(b)
    if sa != sb:
        raise ValueError(
            f"{names[0]} and {names[1]} have different structures ({sa} vs {sb}); "
            "expected the parameters of the same model"
        )
    for (path, x), y in zip(jax.tree_util.tree_leaves_with_path(a), jax.tree.leaves(b)):
        if np.shape(x) != np.shape(y):
            where = jax.tree_util.keystr(path)
            raise ValueError(
                f"{names[0]}{where} has shape {np.shape(x)} and {names[1]}{where} has shape "
                f"{np.shape(y)}; expected equal shapes"
            )


def leading_size(batch: PyTree) -> int:
    """Common leading (example) size of every leaf of `batch`; ValueError if they disagree."""
    leaves = jax.tree.leaves(batch)
    if not leaves:
        raise ValueError("batch has no leaves; expected arrays with a leading example axis")
    sizes = {jnp.shape(x)[0] if jnp.ndim(x) else None for x in leaves}
    if None in sizes:
        raise ValueError("batch has a scalar leaf; expected arrays with a leading example axis")
    if len(sizes) != 1:
        raise ValueError(
            f"batch leading sizes {sorted(sizes)} disagree; expected one example count for "
            "every leaf"
        )
    return sizes.pop()


def as_key(key: Any, name: str = "key") -> jax.Array:
    """A typed key array from a typed key or a legacy uint32 key (array), same random stream.

    ``jax.random.key(s)`` (shape (...,), a key dtype) is returned unchanged;
    ``jax.random.PRNGKey(s)`` (uint32, shape (..., 2)) is wrapped with
    ``jax.random.wrap_key_data``, which draws the same numbers. Anything else is
    a ValueError naming the argument.

    Example:
        >>> import jax
        >>> a = jax.random.normal(as_key(jax.random.PRNGKey(0)), ())
        >>> b = jax.random.normal(as_key(jax.random.key(0)), ())
        >>> bool(a == b)
        True
    """
    if isinstance(key, jax.Array) and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    dtype = getattr(key, "dtype", None)
    if dtype is not None and np.dtype(dtype) == np.uint32 and np.shape(key)[-1:] == (2,):
        return jax.random.wrap_key_data(key)
    raise ValueError(
        f"{name} has dtype {dtype} and shape {np.shape(key)}; expected a jax.random.key "
        "or a jax.random.PRNGKey (uint32, last axis 2)"
    )


def x64() -> contextlib.AbstractContextManager:
    """The scoped float64 switch, used as a context manager (a no-op when x64 is on).

    A scoped switch does not reach into an enclosing float32 ``vmap``/``grad``/``jit``:
    transform float64 functions in a process with x64 on (the ``x64`` tests do).
    """
    return contextlib.nullcontext() if jax.config.jax_enable_x64 else jax.enable_x64(True)


def chunked_mean(
    fn: Callable[[PyTree], PyTree], batch: PyTree, examples_per_chunk: int | None
) -> PyTree:
    """Example-weighted mean of ``fn(chunk)`` over chunks of ``examples_per_chunk`` examples.

    ``fn(chunk)`` must be a mean over the chunk's examples (or linear in one:
    a gradient, a Hessian-vector product); then ``sum_c (n_c / N) fn(chunk_c)``
    equals ``fn(batch)``. Full chunks run in a ``lax.scan`` with an
    accumulator (memory of one chunk); a remainder chunk, if any, runs once
    after it, so no example is padded. ``None`` (or a size >= N) is one call.
    """
    n = leading_size(batch)
    if examples_per_chunk is None or examples_per_chunk >= n:
        return fn(batch)
    size = examples_per_chunk
    num_full = n // size
    rem = n - num_full * size
    head = jax.tree.map(lambda x: x[: num_full * size].reshape(num_full, size, *x.shape[1:]), batch)
    first = jax.tree.map(lambda x: x[0], head)
    zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), jax.eval_shape(fn, first))

    def body(acc, chunk):
        return jax.tree.map(jnp.add, acc, fn(chunk)), None

    acc, _ = jax.lax.scan(body, zeros, head)
    acc = jax.tree.map(lambda a: a * (size / n), acc)
    if rem:
        tail = jax.tree.map(lambda x: x[num_full * size :], batch)
        acc = jax.tree.map(lambda a, t: a + t * (rem / n), acc, fn(tail))
    return acc
