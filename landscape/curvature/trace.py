"""Stochastic trace estimation: Hutchinson and Hutch++, each with its standard error.

Hutchinson (1989): ``tr A ~ mean_i z_i^T A z_i`` with Rademacher ``z``.
Hutch++ (Meyer, Musco, Musco & Woodruff 2021): with a budget of ``M``
products, sketch ``Q = orth(A S)`` with ``s = M // 3`` random columns, take
``tr(Q^T A Q)`` exactly and Hutchinson on the deflated ``(I - QQ^T) A (I - QQ^T)``
with the remaining products: error ``O(1 / M)`` instead of ``O(1 / sqrt M)``
for matrices with decaying spectra (Hessians: a few outliers and a bulk).

The rescaling-invariant trace ``tr(diag(w) H diag(w)) = sum_i w_i^2 H_ii``
(`invariant_trace`) is the trace of the Hessian in log-weight coordinates: it
is unchanged when a ReLU layer is multiplied by a and the next by 1/a (which
rescales ``H`` by 1/a^2 and a^2 on those blocks), and it is the curvature that
multiplicative weight noise feels,
``E_z[L(w (1 + sigma z))] - L(w) = (sigma^2 / 2) tr(diag(w) H diag(w)) + O(sigma^4)``
for z ~ N(0, I) (the first-order term sigma g.(w z) has mean zero), i.e. the
small-sigma limit of the local energy of `landscape.flatness.local_energy`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from landscape import parallel
from landscape._util import as_key
from landscape.curvature.operators import (
    LinearOperator,
    hessian_operator,
    structure,
)
from landscape.parallel import sharded_vmap
from landscape.stats import Estimate, estimate

METHODS = ("hutchinson", "hutch++")


def work_dtype(dtype: Any) -> Any:
    """The working dtype: ``dtype`` promoted with the default float (float64 under x64)."""
    return jnp.promote_types(dtype, jnp.result_type(float))


def _apply_rows(operator, rows, per_device, shard):
    """``A`` applied to each row of ``rows (n, D)``, probe axis sharded; returns ``(n, D)``."""
    dtype = rows.dtype
    fn = lambda r, op: op.matvec(r).astype(dtype)
    return sharded_vmap(fn, in_axes=(0, None), per_device=per_device, shard=shard)(rows, operator)


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


def _trace(operator, key, num_matvecs, method, per_device, shard):
    dim = operator.dim
    dtype = work_dtype(operator.dtype)
    k_sketch, k_probe = jax.random.split(key)
    if method == "hutchinson":
        z = _rademacher(k_probe, (num_matvecs, dim), dtype)
        return estimate(jnp.sum(z * _apply_rows(operator, z, per_device, shard), axis=1))
    s = min(num_matvecs // 3, dim)
    n = num_matvecs - 2 * s
    sketch = _rademacher(k_sketch, (s, dim), dtype)
    q, _ = jnp.linalg.qr(_apply_rows(operator, sketch, per_device, shard).T)  # (D, s)
    aq = _apply_rows(operator, q.T, per_device, shard)  # (s, D)
    exact = jnp.sum(q.T * aq)
    g = _rademacher(k_probe, (n, dim), dtype)
    g = g - (g @ q) @ q.T
    est = estimate(jnp.sum(g * _apply_rows(operator, g, per_device, shard), axis=1))
    return Estimate(exact + est.mean, est.stderr, est.num_samples)


_trace_jit = jax.jit(_trace, static_argnames=("num_matvecs", "method", "per_device", "shard"))


def trace_of(
    key: jax.Array,
    operator: LinearOperator,
    *,
    num_matvecs: int,
    method: str = "hutch++",
    per_device: int | None = 8,
    shard: bool = True,
) -> Estimate:
    """Estimate ``tr A`` of a :class:`LinearOperator` with `num_matvecs` products (jitted).

    ``method="hutchinson"``: ``mean_i z_i^T A z_i`` over Rademacher ``z`` (Hutchinson 1989).
    ``method="hutch++"``: ``tr(Q^T A Q) + mean_i g_i^T (I - QQ^T) A (I - QQ^T) g_i`` with ``Q =
    orth(A S)``, ``S`` of ``min(M // 3, D)`` columns (Meyer et al. 2021); exact to rounding once
    the sketch spans the range of ``A`` (e.g. ``M // 3 >= D``). Returns a
    `landscape.stats.Estimate` whose ``num_samples`` counts the Hutchinson probes (for Hutch++
    those of the deflated part, whose standard error it is; NaN with fewer than two). Probes are
    applied ``per_device`` at a time per device, the probe axis sharded over devices
    (``shard=False`` keeps one device). An operator that shards its data (``shard_data=True``,
    :attr:`LinearOperator.shards_data`) already spans the mesh, so its probes are not sharded.
    The working dtype is float64 under x64.
    """
    _check(method, num_matvecs)
    parallel.resolve_per_device(per_device, num_matvecs)  # ValueError for a bad value
    shard = shard and not operator.shards_data
    return _trace_jit(operator, as_key(key), num_matvecs, method, per_device, shard)


def trace(
    key: jax.Array,
    loss_fn: Callable,
    params: Any,
    batch: Any,
    *,
    num_matvecs: int,
    method: str = "hutch++",
    examples_per_chunk: int | None = None,
    params_filter: Callable[[str], bool] | None = None,
    per_device: int | None = 8,
    shard_data: bool = False,
) -> Estimate:
    """Estimate the Hessian trace ``tr H = sum_i lambda_i`` of ``loss_fn`` at `params`.

    A flatness measure (the sum of curvatures); see :func:`trace_of` for the
    estimators and :func:`~landscape.curvature.hessian_operator` for
    ``examples_per_chunk``, ``params_filter`` (a per-layer trace) and ``shard_data``
    (examples split over the devices instead of the probes, for any number of
    examples). Returns ``Estimate(mean, stderr, num_samples)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> loss = lambda p, b: 0.5 * jnp.mean(b @ p["w"] ** 2)
        >>> est = trace(jax.random.key(0), loss, {"w": jnp.ones(3)}, jnp.ones((4, 3)),
        ...             num_matvecs=12)
        >>> round(float(est.mean), 4)
        3.0
    """
    _check(method, num_matvecs)
    op = hessian_operator(
        loss_fn,
        params,
        batch,
        examples_per_chunk=examples_per_chunk,
        params_filter=params_filter,
        shard_data=shard_data,
    )
    return trace_of(key, op, num_matvecs=num_matvecs, method=method, per_device=per_device)


@dataclasses.dataclass(frozen=True)
class _ScaledSpec:
    inner: Any  # the spec of the operator A

    @property
    def dim(self):
        return self.inner.dim

    @property
    def dtype(self):
        return self.inner.dtype

    @property
    def shard_data(self):
        return bool(getattr(self.inner, "shard_data", False))

    @property
    def structure(self):
        return self.inner.structure

    def matvec(self, v, scale, *operands):
        return scale * self.inner.matvec(scale * v, *operands)

    def prepare(self, scale, *operands):
        prep = getattr(self.inner, "prepare", None)
        inner = prep(*operands) if prep is not None else lambda u: self.inner.matvec(u, *operands)
        return lambda v: scale * inner(scale * v)


def scaled_operator(operator: LinearOperator, scale: jax.Array) -> LinearOperator:
    """The operator ``D A D`` with ``D = diag(scale)``, for a symmetric ``A`` and ``scale (D,)``.

    Products cost one product of ``A``; the result is a pytree operator like
    ``A`` (it keeps ``A``'s data sharding). With ``scale`` the flat weights
    (``operator.flatten(params)``) and ``A`` the Hessian it is the Hessian in
    log-weight coordinates (see `invariant_trace`).
    """
    scale = jnp.asarray(scale)
    if scale.shape != (operator.dim,):
        raise ValueError(
            f"scale has shape {scale.shape}; expected ({operator.dim},), the operator's dimension"
        )
    return LinearOperator(
        _ScaledSpec(operator.spec), (scale.astype(operator.dtype), *operator.operands)
    )


def invariant_trace(
    key: jax.Array,
    loss_fn: Callable,
    params: Any,
    batch: Any,
    *,
    num_matvecs: int,
    method: str = "hutch++",
    examples_per_chunk: int | None = None,
    params_filter: Callable[[str], bool] | None = None,
    per_device: int | None = 8,
    shard_data: bool = False,
) -> Estimate:
    """Estimate the rescaling-invariant Hessian trace ``tr(diag(w) H diag(w)) = sum_i w_i^2 H_ii``.

    Hutchinson's estimator of it is ``mean_i (z_i w)^T H (z_i w)`` with
    Rademacher ``z`` (probes z * w, elementwise); ``method="hutch++"`` (the
    default) applies Hutch++ to ``D H D``, ``D = diag(w)`` (`scaled_operator`).
    Invariant under the rescaling of consecutive ReLU layers (``H`` changes
    there, ``D H D`` does not), and
    ``E_z[L(w (1 + sigma z))] - L(w) = (sigma^2 / 2) tr(D H D) + O(sigma^4)``
    for z ~ N(0, I): the small-sigma local energy under multiplicative noise
    (Baldassi, Pittorino & Zecchina, PNAS 2020; the log-weight Hessian trace of
    the rescaling-invariant flatness measures, e.g. Tsuzuku, Sato & Sugiyama,
    ICML 2020). Arguments as in :func:`trace` (``params_filter`` selects the
    block and its weights). Returns ``Estimate(mean, stderr, num_samples)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> loss = lambda p, b: 0.5 * jnp.mean(b @ p["w"] ** 2)
        >>> est = invariant_trace(jax.random.key(0), loss, {"w": jnp.full(3, 2.0)},
        ...                       jnp.ones((4, 3)), num_matvecs=12)
        >>> round(float(est.mean), 4)
        12.0
    """
    _check(method, num_matvecs)
    op = hessian_operator(
        loss_fn,
        params,
        batch,
        examples_per_chunk=examples_per_chunk,
        params_filter=params_filter,
        shard_data=shard_data,
    )
    scaled = scaled_operator(op, op.flatten(params))
    return trace_of(key, scaled, num_matvecs=num_matvecs, method=method, per_device=per_device)


def weight_norms(params: Any) -> dict[str, jax.Array]:
    """The Euclidean norm |w| of every leaf (layer kernel, bias) keyed by its ``/``-joined path.

    E.g. ``{"Dense_0/bias": ..., "Dense_0/kernel": ...}`` for `landscape.models.mlp`;
    the paths are those ``params_filter`` sees. Scalars, jit-able.

    Example:
        >>> import jax.numpy as jnp
        >>> {k: float(v) for k, v in weight_norms({"a": {"w": jnp.array([3.0, 4.0])}}).items()}
        {'a/w': 5.0}
    """
    struct = structure(params)
    return {
        path: jnp.sqrt(jnp.sum(jnp.square(leaf)))
        for path, leaf in zip(struct.paths, jax.tree.leaves(params), strict=True)
    }
