"""Extreme eigenpairs by thick-restart Lanczos (Wu & Simon 2000).

A basis of ``m`` vectors (``num_basis``) is extended by Lanczos steps with
full reorthogonalisation (twice); the Rayleigh-Ritz pairs of the projected
matrix ``T (m, m)`` give residual estimates ``|beta_m s_{m,i}|``; while some
wanted pair is above ``tol * ||A||``, the basis is compressed to ``p`` Ritz
vectors nearest the wanted end (plus the residual direction) and extended
again. Memory is ``(m + 1) x D``, so ``k ~ 100`` pairs fit where a plain
Lanczos run to convergence would need hundreds of vectors. At the end the
Ritz vectors' true residuals ``|A x - theta x|`` are computed with ``k``
extra products (counted).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape._util import as_key
from landscape.curvature.lanczos import _orthogonalize, breakdown_tolerance

WHICH = ("largest", "smallest", "both")


class Eigenpairs(NamedTuple):
    """Result of :func:`thick_restart_lanczos` and ``top_eigenpairs``.

    Attributes:
        eigenvalues: ``(k,)`` Ritz values; descending for ``largest`` and ``both``
            (the largest first, then the smallest), ascending for ``smallest``.
        eigenvectors: ``(k, D)`` unit Ritz vectors as rows (a pytree with leading
            axis ``k`` at the pytree level).
        residual_norms: ``(k,)`` true residuals ``|A x - theta x|`` (extra products).
        converged: ``(k,)`` whether ``residual_norms <= tol * norm_estimate``.
        num_matvecs: all products, restarts and residual checks included.
        norm_estimate: ``max |theta|`` over every Ritz value seen, a lower bound on
            ``||A||_2``.
        num_restarts: number of thick restarts.
    """

    eigenvalues: jax.Array
    eigenvectors: jax.Array
    residual_norms: jax.Array
    converged: jax.Array
    num_matvecs: jax.Array
    norm_estimate: jax.Array
    num_restarts: jax.Array


def default_tol(dtype) -> float:
    """Default relative residual tolerance ``1e3 * eps(dtype)``."""
    return 1e3 * float(jnp.finfo(dtype).eps)


def default_num_basis(k: int, dim: int) -> int:
    """Default basis size ``min(D, max(30, 2 k + 10))``."""
    return min(dim, max(30, 2 * k + 10))


def _index_sets(which: str, k: int, m: int, p: int) -> tuple[np.ndarray, np.ndarray]:
    """Static positions (in ascending Ritz order) of the wanted and the kept Ritz values."""
    if which == "largest":
        wanted = np.arange(m - 1, m - 1 - k, -1)
        keep = np.arange(m - p, m)
    elif which == "smallest":
        wanted = np.arange(k)
        keep = np.arange(p)
    else:  # both: ceil(k/2) from the top, floor(k/2) from the bottom (ARPACK "BE")
        k_top, k_bot = (k + 1) // 2, k // 2
        wanted = np.concatenate([np.arange(m - 1, m - 1 - k_top, -1), np.arange(k_bot)])
        p_top = k_top + (p - k) // 2
        keep = np.concatenate([np.arange(p - p_top), np.arange(m - p_top, m)])
    return wanted, keep


def check_which(which: str) -> None:
    """ValueError for an unknown ``which``."""
    if which not in WHICH:
        raise ValueError(f"which={which!r}; expected one of {WHICH}")


def thick_restart_lanczos(
    matvec: Callable[[jax.Array], jax.Array],
    v0: jax.Array,
    k: int,
    *,
    which: str = "largest",
    tol: float | None = None,
    max_steps: int | None = None,
    num_basis: int | None = None,
    key: jax.Array | None = None,
) -> Eigenpairs:
    """The `k` extreme eigenpairs of a symmetric ``matvec`` by thick-restart Lanczos.

    Stops when every wanted residual estimate is ``<= tol * ||A||`` (``||A||``
    estimated by the largest ``|theta|``) or after ``max_steps`` Lanczos
    products; then computes true residuals. ``tol`` defaults to
    ``1e3 eps(dtype)``, ``num_basis`` (``m``) to ``min(D, max(30, 2k + 10))``,
    ``max_steps`` to ``max(1000, 10 m)``. ``p = k + (m - k) // 2`` Ritz vectors
    are kept at a restart. Breakdowns restart from a random vector
    orthogonal to the basis (drawn from `key`).

    Shapes: ``v0 (D,)`` sets the working dtype; result rows ``(k, D)``.
    Call inside ``jax.jit`` (the restarts are a ``lax.while_loop``).
    """
    check_which(which)
    dim = v0.shape[0]
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k={k!r}; expected a positive integer")
    if k > dim:
        raise ValueError(f"k={k} exceeds the dimension D={dim}; expected k <= D")
    m = default_num_basis(k, dim) if num_basis is None else num_basis
    if m < k or m > dim or (m == k and m < dim):
        raise ValueError(
            f"num_basis={m} for k={k}, D={dim}; expected k < num_basis <= D (or num_basis = D)"
        )
    max_steps = max(1000, 10 * m) if max_steps is None else max_steps
    if max_steps < k:
        raise ValueError(f"max_steps={max_steps} < k={k}; expected at least k Lanczos steps")
    max_steps = max(max_steps, m)
    dtype = v0.dtype
    tol = default_tol(dtype) if tol is None else float(tol)
    key = jax.random.key(0) if key is None else as_key(key)
    full_space = m == dim
    p = min(m - 1, k + (m - k) // 2)
    wanted, keep = _index_sets(which, k, m, max(p, 1))
    btol = breakdown_tolerance(dtype)
    rows = jnp.arange(m + 1)

    early = which != "both"
    pad_sign = -1.0 if which == "largest" else 1.0

    def ritz(t, beta, active, scale):
        """Ritz pairs of the leading ``active`` block; padded rows sit beyond the wanted end."""
        pad = jnp.where(jnp.arange(m) >= active, pad_sign * (scale + 1), 0).astype(dtype)
        theta, s = jnp.linalg.eigh(t + jnp.diag(pad))
        est = jnp.abs(beta * s[active - 1])
        real = jnp.arange(m) < active
        order_real = real if which == "both" else (real[::-1] if which == "largest" else real)
        norm = jnp.max(jnp.where(order_real, jnp.abs(theta), 0))
        return theta, s, norm, est

    def extend(carry):
        j, basis, t, beta, scale, count, norm_est, _ = carry
        w = matvec(basis[j]).astype(dtype)
        mask = (rows <= j).astype(dtype)
        h = (basis @ w) * mask
        w = w - basis.T @ h
        h2 = (basis @ w) * mask
        w = w - basis.T @ h2
        h = h + h2
        col = h[:m]
        t = t.at[:, j].set(col).at[j, :].set(col)
        beta = jnp.linalg.norm(w)
        scale = jnp.maximum(scale, jnp.sum(jnp.abs(col)) + beta)
        broke = beta <= btol * scale

        def fresh():
            r = jax.random.normal(jax.random.fold_in(key, count), (dim,), dtype)
            r = _orthogonalize(basis * mask[:, None], r)
            nr = jnp.linalg.norm(r)
            ok = nr > btol * jnp.sqrt(jnp.asarray(dim, dtype))
            return jnp.where(ok, r / jnp.where(ok, nr, 1), 0)

        v_next = jax.lax.cond(broke, fresh, lambda: w / jnp.where(broke, 1, beta))
        basis = basis.at[j + 1].set(v_next)
        converged = jnp.asarray(False)
        if early:
            # Check the wanted Ritz pairs of the active block after every step (an m x m eigh,
            # negligible next to a product), so a run stops as soon as it can.
            _, _, norm, est = ritz(t, beta, j + 1, scale)
            norm_est = jnp.maximum(norm_est, norm)
            converged = (j + 1 >= k) & jnp.all(est[wanted] <= tol * norm_est)
        return j + 1, basis, t, beta, scale, count + 1, norm_est, converged

    def body(state):
        basis, t, start, beta, scale, norm_est, count, restarts, _, _ = state
        carry = (start, basis, t, beta, scale, count, norm_est, jnp.asarray(False))
        active, basis, t, beta, scale, count, norm_est, _ = jax.lax.while_loop(
            lambda c: (c[0] < m) & ~c[-1], extend, carry
        )
        theta, s, norm, est = ritz(t, beta, active, scale)
        norm_est = jnp.maximum(norm_est, norm)
        ok = jnp.all(est[wanted] <= tol * norm_est)
        stop = ok | (count + (m - p) > max_steps) | full_space

        def restart():
            y = s[:, keep]
            new = jnp.zeros_like(basis)
            new = new.at[:p].set(y.T @ basis[:m]).at[p].set(basis[m])
            t_new = jnp.zeros_like(t).at[jnp.arange(p), jnp.arange(p)].set(theta[keep])
            return new, t_new

        basis, t = jax.lax.cond(stop, lambda: (basis, t), restart)
        restarts = restarts + jnp.where(stop, 0, 1)
        start = jnp.where(stop, active, p)
        return basis, t, start, beta, scale, norm_est, count, restarts, stop, active

    v = (v0 / jnp.linalg.norm(v0)).astype(dtype)
    basis = jnp.zeros((m + 1, dim), dtype).at[0].set(v)
    zero = jnp.zeros((), dtype)
    state = (
        basis,
        jnp.zeros((m, m), dtype),
        jnp.asarray(0),
        zero,
        zero,
        zero,
        jnp.asarray(0),
        jnp.asarray(0),
        jnp.asarray(False),
        jnp.asarray(m),
    )
    state = jax.lax.while_loop(lambda s: ~s[-2], body, state)
    basis, t, _, beta, scale, norm_est, count, restarts, _, active = state
    theta, s, norm, _ = ritz(t, beta, active, scale)
    norm_est = jnp.maximum(norm_est, norm)
    values = theta[wanted]
    vectors = s[:, wanted].T @ basis[:m]
    vectors = vectors / jnp.linalg.norm(vectors, axis=1, keepdims=True)
    products = jax.lax.map(lambda x: matvec(x).astype(dtype), vectors)
    residuals = jnp.linalg.norm(products - values[:, None] * vectors, axis=1)
    converged = residuals <= tol * norm_est
    return Eigenpairs(values, vectors, residuals, converged, count + k, norm_est, restarts)


def _eig(operator, key, k, which, tol, max_steps, num_basis):
    from landscape.curvature.trace import work_dtype

    dtype = work_dtype(operator.dtype)
    k_start, k_restart = jax.random.split(key)
    v0 = jax.random.normal(k_start, (operator.dim,), dtype)
    return thick_restart_lanczos(
        operator.prepare(),
        v0,
        k,
        which=which,
        tol=tol,
        max_steps=max_steps,
        num_basis=num_basis,
        key=k_restart,
    )


_eig_jit = jax.jit(_eig, static_argnames=("k", "which", "tol", "max_steps", "num_basis"))


def top_eigenpairs_of(
    key: jax.Array,
    operator,
    k: int = 1,
    *,
    which: str = "largest",
    tol: float | None = None,
    max_steps: int | None = None,
    num_basis: int | None = None,
) -> Eigenpairs:
    """The `k` extreme eigenpairs of a :class:`~landscape.curvature.LinearOperator` (jitted).

    Thick-restart Lanczos (:func:`thick_restart_lanczos`) on ``operator.prepare()``
    from a Gaussian start drawn from `key`; eigenvectors are flat rows ``(k, D)``.
    The working dtype is float64 under x64, else the operator's dtype.
    """
    check_which(which)
    dim = operator.dim
    if not isinstance(k, int) or k < 1 or k > dim:
        raise ValueError(f"k={k!r}; expected an integer with 1 <= k <= D={dim}")
    if max_steps is not None and max_steps < k:
        raise ValueError(f"max_steps={max_steps} < k={k}; expected at least k Lanczos steps")
    if num_basis is not None and num_basis < k:
        raise ValueError(f"num_basis={num_basis} < k={k}; expected k < num_basis <= D")
    return _eig_jit(operator, as_key(key), k, which, tol, max_steps, num_basis)


def top_eigenpairs(
    key: jax.Array,
    loss_fn: Callable,
    params,
    batch,
    k: int = 1,
    *,
    which: str = "largest",
    tol: float | None = None,
    max_steps: int | None = None,
    num_basis: int | None = None,
    examples_per_chunk: int | None = None,
    params_filter: Callable[[str], bool] | None = None,
    shard_data: bool = False,
) -> Eigenpairs:
    """The `k` extreme Hessian eigenpairs of ``loss_fn(params, batch)``.

    ``H x_i = lambda_i x_i`` for the ``k`` largest (``which="largest"``), most
    negative (``"smallest"``: negative curvature at saddles) or both ends
    (``"both"``: ``ceil(k/2)`` largest then ``floor(k/2)`` smallest) eigenvalues,
    by thick-restart Lanczos with full reorthogonalisation (Wu & Simon 2000)
    on forward-over-reverse products. Stops when every residual is
    ``<= tol * ||H||_2`` (estimate), ``tol`` defaulting to ``1e3 eps(dtype)``;
    the returned ``residual_norms`` are true residuals ``|H x - lambda x|``
    from ``k`` extra products, all counted in ``num_matvecs``.
    ``examples_per_chunk``, ``params_filter`` and ``shard_data`` (every product
    data-parallel over the devices, for any number of examples) are those of
    :func:`~landscape.curvature.hessian_operator`.

    Shapes: ``eigenvalues (k,)``, ``eigenvectors`` a pytree like `params` with a
    leading axis ``k`` (zeros outside the ``params_filter`` block),
    ``residual_norms (k,)``, ``converged (k,)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> loss = lambda p, b: 0.5 * jnp.sum(b * p["w"] ** 2)
        >>> res = top_eigenpairs(jax.random.key(0), loss, {"w": jnp.zeros(40)},
        ...                      jnp.arange(40.0), 2)
        >>> [round(float(x), 3) for x in res.eigenvalues]
        [39.0, 38.0]
    """
    from landscape.curvature.operators import hessian_operator

    check_which(which)
    op = hessian_operator(
        loss_fn,
        params,
        batch,
        examples_per_chunk=examples_per_chunk,
        params_filter=params_filter,
        shard_data=shard_data,
    )
    res = top_eigenpairs_of(
        key, op, k, which=which, tol=tol, max_steps=max_steps, num_basis=num_basis
    )
    vectors = jax.vmap(op.unflatten)(res.eigenvectors)
    return res._replace(eigenvectors=vectors)
