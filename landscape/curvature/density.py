"""Spectral density by stochastic Lanczos quadrature (SLQ).

For each random unit probe ``v``, ``num_steps`` Lanczos steps give the Gauss
quadrature nodes ``theta_j`` (Ritz values) and weights ``w_j`` (squared first
components of the Ritz vectors of ``T``) of the spectral measure of ``v``:
``sum_j w_j f(theta_j) ~ v^T f(A) v``, exact for polynomials of degree
``<= 2 num_steps - 1``. Averaging over probes estimates the spectral density
``(1/D) sum_i delta(lambda - lambda_i)`` (Lin, Saad & Yang 2016; Ghorbani,
Krishnan & Xiao 2019 for neural-network Hessians).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from landscape import parallel
from landscape._util import as_key
from landscape.curvature.lanczos import lanczos, ritz_nodes_weights
from landscape.curvature.operators import LinearOperator, hessian_operator
from landscape.curvature.trace import work_dtype
from landscape.parallel import sharded_vmap
from landscape.stats import estimate

DEFAULT_RELATIVE_SIGMA = 0.01


class SpectralDensity(NamedTuple):
    """Result of :func:`spectral_density`.

    Attributes:
        nodes: ``(probe, step)`` Ritz values per probe.
        weights: ``(probe, step)`` quadrature weights; each probe's sum to 1.
        grid: ``(grid,)`` points where the density is evaluated.
        density: ``(grid,)`` probe mean of the Gaussian-broadened quadratures;
            integrates to 1 when the grid covers the nodes (the default grid does).
        density_stderr: ``(grid,)`` standard error of ``density`` over probes.
        sigma: the broadening width.
    """

    nodes: jax.Array
    weights: jax.Array
    grid: jax.Array
    density: jax.Array
    density_stderr: jax.Array
    sigma: jax.Array


def broaden(nodes, weights, grid, sigma):
    """Gaussian broadening ``sum_j w_j N(grid; theta_j, sigma^2)`` per probe: ``(probe, grid)``."""
    z = (grid[None, None, :] - nodes[:, :, None]) / sigma
    g = jnp.exp(-0.5 * z**2) / (sigma * jnp.sqrt(2 * jnp.pi))
    return jnp.sum(weights[:, :, None] * g, axis=1)


def _density(
    operator, key, grid, sigma, num_steps, num_probes, per_device, num_grid, reorth, shard
):
    dim = operator.dim
    dtype = work_dtype(operator.dtype)
    k_probe, k_restart = jax.random.split(key)
    probes = jax.random.rademacher(k_probe, (num_probes, dim), dtype=dtype)

    def one(v, op, restart_key):
        matvec = op.prepare()
        result = lanczos(
            matvec, v, num_steps, reorthogonalize=reorth, return_basis=False, key=restart_key
        )
        return ritz_nodes_weights(result)

    # per_device = 1 runs the probes one after another without vmap (a batch of one
    # turns every matmul of the product into a batched one, several times slower on CPU).
    nodes, weights = sharded_vmap(one, in_axes=(0, None, None), per_device=per_device, shard=shard)(
        probes, operator, k_restart
    )
    lo, hi = jnp.min(nodes), jnp.max(nodes)
    if sigma is None:
        span = hi - lo
        sigma = DEFAULT_RELATIVE_SIGMA * jnp.where(span > 0, span, jnp.maximum(jnp.abs(hi), 1))
    sigma = jnp.asarray(sigma, dtype)
    if grid is None:
        grid = jnp.linspace(lo - 6 * sigma, hi + 6 * sigma, num_grid)
    grid = jnp.asarray(grid, dtype)
    per_probe = broaden(nodes, weights, grid, sigma)
    est = estimate(per_probe)
    return SpectralDensity(nodes, weights, grid, est.mean, est.stderr, sigma)


_density_jit = jax.jit(
    _density,
    static_argnames=("num_steps", "num_probes", "per_device", "num_grid", "reorth", "shard"),
)


def spectral_density_of(
    key: jax.Array,
    operator: LinearOperator,
    *,
    num_steps: int,
    num_probes: int,
    per_device: int | None = 1,
    grid: jax.Array | None = None,
    sigma: float | None = None,
    num_grid: int = 1000,
    reorthogonalize: bool = True,
    shard: bool = True,
) -> SpectralDensity:
    """SLQ spectral density of a :class:`LinearOperator` (jitted).

    ``rho(t) ~ (1/n_v) sum_v sum_j w_{vj} N(t; theta_{vj}, sigma^2)`` over ``num_probes``
    Rademacher probes, ``num_steps`` Lanczos steps each (full reorthogonalisation by default:
    memory ``per_device x num_steps x D`` per device; without it ``O(per_device x D)`` but Ritz
    values may repeat). Probes run vmapped ``per_device`` at a time (``1``, the default: one
    after another, unbatched, the fastest per probe on CPU; ``None``: the backend policy of
    `landscape.parallel.local_chunk`), the probe axis sharded over devices (``shard=False``: one
    device; an operator with ``shard_data=True`` shards its examples instead, and its probes
    stay unsharded). ``sigma`` defaults to ``0.01 (theta_max - theta_min)``; the default grid is
    ``num_grid`` points over ``[theta_min - 6 sigma, theta_max + 6 sigma]``. The working dtype
    is float64 under x64.
    """
    if not isinstance(num_probes, int) or num_probes < 1:
        raise ValueError(f"num_probes={num_probes!r}; expected a positive integer")
    if not isinstance(num_steps, int) or num_steps < 1 or num_steps > operator.dim:
        raise ValueError(f"num_steps={num_steps!r}; expected an integer in [1, D={operator.dim}]")
    parallel.resolve_per_device(per_device, num_probes)  # ValueError for a bad value
    if sigma is not None and not sigma > 0:
        raise ValueError(f"sigma={sigma!r}; expected a positive width or None")
    shard = shard and not operator.shards_data
    return _density_jit(
        operator,
        as_key(key),
        grid,
        sigma,
        num_steps,
        num_probes,
        per_device,
        num_grid,
        reorthogonalize,
        shard,
    )


def spectral_density(
    key: jax.Array,
    loss_fn: Callable,
    params: Any,
    batch: Any,
    *,
    num_steps: int,
    num_probes: int,
    per_device: int | None = 1,
    grid: jax.Array | None = None,
    sigma: float | None = None,
    examples_per_chunk: int | None = None,
    params_filter: Callable[[str], bool] | None = None,
    num_grid: int = 1000,
    shard_data: bool = False,
) -> SpectralDensity:
    """Hessian spectral density of ``loss_fn`` at `params` by stochastic Lanczos quadrature.

    See :func:`spectral_density_of` (estimator, memory, defaults) and
    :func:`~landscape.curvature.hessian_operator` (``examples_per_chunk``,
    ``params_filter`` for a per-layer density, ``shard_data`` to split the
    examples over the devices, for any number of examples, instead of the
    probes). Shapes: ``nodes``,
    ``weights`` ``(num_probes, num_steps)``; ``grid``, ``density`` ``(num_grid,)``.
    """
    op = hessian_operator(
        loss_fn,
        params,
        batch,
        examples_per_chunk=examples_per_chunk,
        params_filter=params_filter,
        shard_data=shard_data,
    )
    return spectral_density_of(
        key,
        op,
        num_steps=num_steps,
        num_probes=num_probes,
        per_device=per_device,
        grid=grid,
        sigma=sigma,
        num_grid=num_grid,
    )
