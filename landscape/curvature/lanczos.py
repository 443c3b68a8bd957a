"""Lanczos tridiagonalisation of a symmetric matvec, in one ``lax.scan``.

Precision: the recurrence runs in the dtype of ``v0``; products are cast to
it. The pytree-level functions of this package start from a vector in
``promote(operator dtype, default float)``, i.e. float64 whenever x64 is
enabled (``jax.config.update("jax_enable_x64", True)`` or the scoped
``jax.enable_x64()``) even for float32 models, and float32 otherwise. Full
reorthogonalisation (classical Gram-Schmidt applied twice, "twice is
enough", Giraud et al. 2005) keeps the basis orthonormal to rounding in
either precision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from landscape._util import as_key


class Tridiagonal(NamedTuple):
    """Result of :func:`lanczos`.

    Attributes:
        alphas: ``(steps,)`` diagonal of ``T = Q^T A Q``.
        betas: ``(steps,)``; ``betas[i]`` couples steps ``i`` and ``i + 1`` (the
            off-diagonal is ``betas[:-1]``), ``betas[-1]`` is the norm of the
            final residual. A zero marks a breakdown followed by a restart.
        basis: ``(steps, D)`` Lanczos vectors as rows, or ``None``.
        num_matvecs: number of products (``steps``).
    """

    alphas: jax.Array
    betas: jax.Array
    basis: jax.Array | None
    num_matvecs: int


def breakdown_tolerance(dtype) -> float:
    """Relative size of ``beta`` below which Lanczos restarts: ``1e3 * eps``."""
    return 1e3 * float(jnp.finfo(dtype).eps)


def _orthogonalize(basis: jax.Array, w: jax.Array) -> jax.Array:
    """Remove the span of the rows of `basis` from `w`, twice (CGS2)."""
    w = w - basis.T @ (basis @ w)
    return w - basis.T @ (basis @ w)


def lanczos(
    matvec: Callable[[jax.Array], jax.Array],
    v0: jax.Array,
    num_steps: int,
    *,
    reorthogonalize: bool = True,
    return_basis: bool = True,
    key: jax.Array | None = None,
) -> Tridiagonal:
    """Run `num_steps` Lanczos steps on a symmetric ``matvec`` from ``v0`` (Lanczos 1950).

    ``A Q^T = Q^T T + beta_k q_{k+1} e_k^T`` with ``Q`` the ``(steps, D)`` basis
    (rows orthonormal) and ``T`` tridiagonal (``alphas``, ``betas[:-1]``).
    With ``reorthogonalize`` every new vector is orthogonalised against the
    whole basis twice (memory ``steps x D``); without it only the three-term
    recurrence is used (memory ``O(D)`` unless the basis is returned), which
    is cheap but lets Ritz values repeat ("ghosts", Paige 1976).

    On breakdown (``beta <= 1e3 eps ||T||``, an invariant subspace: common
    for the low-rank Hessians of small models) the coupling is set to 0 and
    the recurrence restarts from a random vector orthogonal to the basis
    (drawn from `key`, default ``key(0)``), so ``T`` becomes block diagonal
    and every Ritz value stays a Rayleigh-Ritz value of ``A``. If the whole
    space is exhausted the next vector is zero.

    The loop is one jitted ``lax.scan`` (`matvec` is a static argument: pass
    data as operands of a :class:`~landscape.curvature.LinearOperator`, or
    call this inside your own ``jax.jit`` so a closure sees tracers, not
    constants). Shapes: ``v0 (D,)`` (normalised here); the dtype of ``v0`` is
    the working dtype.
    """
    if v0.ndim != 1:
        raise ValueError(f"v0 has shape {v0.shape}; expected a flat vector (D,)")
    dim = v0.shape[0]
    if not isinstance(num_steps, int) or num_steps < 1:
        raise ValueError(f"num_steps={num_steps!r}; expected a positive integer")
    if num_steps > dim:
        raise ValueError(f"num_steps={num_steps} exceeds the dimension D={dim}; expected <= D")
    key = jax.random.key(0) if key is None else as_key(key)
    return _lanczos_jit(matvec, v0, num_steps, reorthogonalize, return_basis, key)


def _lanczos(matvec, v0, num_steps, reorthogonalize, return_basis, key):
    dim = v0.shape[0]
    dtype = v0.dtype
    tol = breakdown_tolerance(dtype)
    keep = reorthogonalize or return_basis
    v = v0 / jnp.linalg.norm(v0)
    basis0 = jnp.zeros((num_steps, dim), dtype) if keep else jnp.zeros((0, dim), dtype)

    def restart_vector(i, basis, v_prev, v_cur):
        r = jax.random.normal(jax.random.fold_in(key, i), (dim,), dtype)
        if reorthogonalize:
            r = _orthogonalize(basis, r)
        else:
            local = jnp.stack([v_prev, v_cur])
            r = _orthogonalize(local, r)
        nr = jnp.linalg.norm(r)
        ok = nr > tol * jnp.sqrt(jnp.asarray(dim, dtype))
        return jnp.where(ok, r / jnp.where(ok, nr, 1), 0)

    def step(carry, i):
        basis, v_prev, v_cur, beta_prev, scale = carry
        if keep:
            basis = basis.at[i].set(v_cur)
        w = matvec(v_cur).astype(dtype)
        alpha = jnp.dot(v_cur, w)
        w = w - alpha * v_cur - beta_prev * v_prev
        if reorthogonalize:
            w = _orthogonalize(basis, w)
        beta = jnp.linalg.norm(w)
        scale = jnp.maximum(scale, jnp.abs(alpha) + beta_prev + beta)
        broke = beta <= tol * scale
        v_next = jax.lax.cond(
            broke,
            lambda: restart_vector(i, basis, v_prev, v_cur),
            lambda: w / jnp.where(broke, 1, beta),
        )
        beta_out = jnp.where(broke, jnp.zeros_like(beta), beta)
        return (basis, v_cur, v_next, beta_out, scale), (alpha, beta_out)

    zero = jnp.zeros((), dtype)
    init = (basis0, jnp.zeros_like(v), v, zero, zero)
    (basis, *_), (alphas, betas) = jax.lax.scan(step, init, jnp.arange(num_steps))
    return Tridiagonal(alphas, betas, basis if return_basis else None, num_steps)


_lanczos_jit = jax.jit(_lanczos, static_argnums=(0, 2, 3, 4))


def tridiagonal_matrix(alphas: jax.Array, betas: jax.Array) -> jax.Array:
    """Dense ``T (steps, steps)`` from ``alphas (steps,)`` and off-diagonal ``betas (steps-1,)``."""
    return jnp.diag(alphas) + jnp.diag(betas, 1) + jnp.diag(betas, -1)


def ritz_nodes_weights(result: Tridiagonal) -> tuple[jax.Array, jax.Array]:
    """Gauss quadrature of the spectral measure of ``v0``: nodes ``theta`` and weights ``(steps,)``.

    ``theta`` are the eigenvalues of ``T`` and the weights the squared first
    components of its eigenvectors (Golub & Meurant 2010), so
    ``sum_j w_j theta_j^m = v0^T A^m v0 / |v0|^2`` for ``m <= 2 steps - 1``.
    """
    t = tridiagonal_matrix(result.alphas, result.betas[:-1])
    theta, vecs = jnp.linalg.eigh(t)
    return theta, vecs[0] ** 2
