"""Stochastic trace estimation: Hutchinson and Hutch++, each with its standard error.

Hutchinson (1989): ``tr A ~ mean_i z_i^T A z_i`` with Rademacher ``z``.
Hutch++ (Meyer, Musco, Musco & Woodruff 2021): with a budget of ``M``
products, sketch ``Q = orth(A S)`` with ``s = M // 3`` random columns, take
``tr(Q^T A Q)`` exactly and Hutchinson on the deflated ``(I - QQ^T) A (I - QQ^T)``
with the remaining products: error ``O(1 / M)`` instead of ``O(1 / sqrt M)``
for matrices with decaying spectra (Hessians: a few outliers and a bulk).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from landscape.curvature.operators import LinearOperator, hessian_operator
from landscape.parallel import sharded_vmap

METHODS = ("hutchinson", "hutch++")


class Estimate(NamedTuple):
    """A stochastic estimate.

    Attributes:
        mean: the estimate.
        stderr: its standard error (of the stochastic part; for Hutch++ the sketched
            part ``tr(Q^T A Q)`` is exact given ``Q``).
        num_matvecs: products used.
    """

    mean: jax.Array
    stderr: jax.Array
    num_matvecs: int


def work_dtype(dtype: Any) -> Any:
    """The working dtype: ``dtype`` promoted with the default float (float64 under x64)."""
    return jnp.promote_types(dtype, jnp.result_type(float))


def _apply_rows(operator, rows, chunk, shard):
    """``A`` applied to each row of ``rows (n, D)``, probe axis sharded; returns ``(n, D)``."""
    dtype = rows.dtype
    fn = lambda r, op: op.matvec(r).astype(dtype)
    return sharded_vmap(fn, in_axes=(0, None), chunk_size=chunk, shard=shard)(rows, operator)


def _rademacher(key, shape, dtype):
    return jax.random.rademacher(key, shape, dtype=dtype)


def _check(method: str, num_matvecs: int) -> None:
    if method not in METHODS:
        raise ValueError(f"method={method!r}; expected one of {METHODS}")
    least = 2 if method == "hutchinson" else 4
    if not isinstance(num_matvecs, int) or num_matvecs < least:
        raise ValueError(
            f"num_matvecs={num_matvecs!r}; expected an integer >= {least} for method {method!r}"
        )


def _trace(operator, key, num_matvecs, method, probe_chunk, shard):
    dim = operator.dim
    dtype = work_dtype(operator.dtype)
    k_sketch, k_probe = jax.random.split(key)
    if method == "hutchinson":
        z = _rademacher(k_probe, (num_matvecs, dim), dtype)
        samples = jnp.sum(z * _apply_rows(operator, z, probe_chunk, shard), axis=1)
        n = num_matvecs
        return Estimate(jnp.mean(samples), jnp.std(samples, ddof=1) / jnp.sqrt(n), num_matvecs)
    s = min(num_matvecs // 3, dim)
    n = num_matvecs - 2 * s
    sketch = _rademacher(k_sketch, (s, dim), dtype)
    q, _ = jnp.linalg.qr(_apply_rows(operator, sketch, probe_chunk, shard).T)  # (D, s)
    aq = _apply_rows(operator, q.T, probe_chunk, shard)  # (s, D)
    exact = jnp.sum(q.T * aq)
    g = _rademacher(k_probe, (n, dim), dtype)
    g = g - (g @ q) @ q.T
    samples = jnp.sum(g * _apply_rows(operator, g, probe_chunk, shard), axis=1)
    stderr = jnp.std(samples, ddof=1) / jnp.sqrt(n) if n > 1 else jnp.zeros((), dtype)
    return Estimate(exact + jnp.mean(samples), stderr, num_matvecs)


_trace_jit = jax.jit(_trace, static_argnames=("num_matvecs", "method", "probe_chunk", "shard"))


def trace_of(
    operator: LinearOperator,
    *,
    key: jax.Array,
    num_matvecs: int,
    method: str = "hutch++",
    probe_chunk: int | None = 8,
    shard: bool = True,
) -> Estimate:
    """Estimate ``tr A`` of a :class:`LinearOperator` with `num_matvecs` products (jitted).

    ``method="hutchinson"``: ``mean_i z_i^T A z_i`` over Rademacher ``z``
    (Hutchinson 1989). ``method="hutch++"``: ``tr(Q^T A Q) + mean_i g_i^T
    (I - QQ^T) A (I - QQ^T) g_i`` with ``Q = orth(A S)``, ``S`` of
    ``min(M // 3, D)`` columns (Meyer et al. 2021); exact to rounding once
    the sketch spans the range of ``A`` (e.g. ``M // 3 >= D``). Probes are
    applied ``probe_chunk`` at a time per device, the probe axis sharded over
    devices (``shard=False`` keeps one device). An operator that shards its
    data (``shard_data=True``, :attr:`LinearOperator.shards_data`) already
    spans the mesh, so its probes are not sharded. The working dtype is
    float64 under x64.
    """
    _check(method, num_matvecs)
    shard = shard and not operator.shards_data
    est = _trace_jit(operator, key, num_matvecs, method, probe_chunk, shard)
    return est._replace(num_matvecs=num_matvecs)


def trace(
    loss_fn: Callable,
    params: Any,
    batch: Any,
    *,
    key: jax.Array,
    num_matvecs: int,
    method: str = "hutch++",
    batch_size: int | None = None,
    params_filter: Callable[[str], bool] | None = None,
    probe_chunk: int | None = 8,
    shard_data: bool = False,
) -> Estimate:
    """Estimate the Hessian trace ``tr H = sum_i lambda_i`` of ``loss_fn`` at `params`.

    A flatness measure (the sum of curvatures); see :func:`trace_of` for the
    estimators and :func:`~landscape.curvature.hessian_operator` for
    ``batch_size``, ``params_filter`` (a per-layer trace) and ``shard_data``
    (examples split over the devices instead of the probes, for any number of
    examples). Returns ``Estimate(mean, stderr, num_matvecs)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> loss = lambda p, b: 0.5 * jnp.mean(b @ p["w"] ** 2)
        >>> est = trace(loss, {"w": jnp.ones(3)}, jnp.ones((4, 3)), key=jax.random.key(0),
        ...             num_matvecs=12)
        >>> round(float(est.mean), 4)
        3.0
    """
    _check(method, num_matvecs)
    op = hessian_operator(
        loss_fn,
        params,
        batch,
        batch_size=batch_size,
        params_filter=params_filter,
        shard_data=shard_data,
    )
    return trace_of(op, key=key, num_matvecs=num_matvecs, method=method, probe_chunk=probe_chunk)
