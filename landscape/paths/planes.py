"""Two-dimensional slices of the loss landscape (Li et al. 2018; Garipov et al. 2018).

A `Plane` is an origin and two directions: theta(x, y) = origin + x d1 + y d2.
`random_plane` draws Gaussian directions and filter-normalises them (each
filter of a direction gets the norm of the same filter of the parameters), so
planes of networks with different weight scales can be compared;
`plane_through` spans the plane of three minima (Gram-Schmidt, unnormalised);
`hessian_plane` uses the top two Hessian eigenvectors
(`landscape.curvature.top_eigenpairs`) and `eigenvector_plane` any given
directions. `evaluate_plane` computes fn on a grid of (x, y) in one compiled
call, vmapped (in chunks) and sharded over devices.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from landscape import parallel
from landscape._util import as_key, check_same_structure
from landscape.problem import Params


class Plane(NamedTuple):
    """theta(x, y) = origin + x d1 + y d2 (pytrees of the same structure)."""

    origin: Params
    d1: Params
    d2: Params

    def __call__(self, x: jax.Array, y: jax.Array) -> Params:
        """Parameters at plane coordinates (x, y)."""
        return jax.tree.map(
            lambda o, a, b: o + jnp.asarray(x, o.dtype) * a + jnp.asarray(y, o.dtype) * b,
            self.origin,
            self.d1,
            self.d2,
        )


def _vdot(a: Params, b: Params) -> jax.Array:
    return sum(jnp.vdot(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def filter_normalize(
    direction: Params,
    params: Params,
    *,
    keep_biases: bool = False,
    filter_axis: int = -1,
) -> Params:
    """Filter normalisation of a direction (Li et al., NeurIPS 2018).

    For every leaf with ndim >= 2 and every filter f (a slice at one index of
    ``filter_axis``, the kernel's output axis in flax layout: (in, out),
    (kh, kw, in, out)): d_f <- d_f |theta_f| / |d_f|. 1-D leaves (biases) are
    set to zero, or with ``keep_biases=True`` normalised as one filter,
    d <- d |theta| / |d| (so a perceptron's ``{"w": (n,)}`` keeps its
    direction). For a committee machine's ``{"w": (k, n)}``, whose units are
    rows, pass ``filter_axis=0``.
    """
    check_same_structure(params, direction, ("params", "direction"))

    def leaf(d, p):
        if d.ndim <= 1:
            if not keep_biases:
                return jnp.zeros_like(d)
            return d * jnp.linalg.norm(p) / jnp.maximum(jnp.linalg.norm(d), jnp.finfo(d.dtype).tiny)
        axis = filter_axis % d.ndim
        others = tuple(i for i in range(d.ndim) if i != axis)
        nd = jnp.sqrt(jnp.sum(d**2, axis=others, keepdims=True))
        npar = jnp.sqrt(jnp.sum(p**2, axis=others, keepdims=True))
        return d * npar / jnp.maximum(nd, jnp.finfo(d.dtype).tiny)

    return jax.tree.map(leaf, direction, params)


_normalize = filter_normalize  # `plane` has an argument of the same name


def plane(
    params: Params,
    directions: Sequence[Params],
    *,
    filter_normalize: bool = True,
    keep_biases: bool = False,
    filter_axis: int = -1,
) -> Plane:
    """The plane through ``params`` along two directions, filter-normalised by default.

    theta(x, y) = params + x d1 + y d2, with d1, d2 the given ``directions``
    passed through `filter_normalize` (unless ``filter_normalize=False``:
    use it for directions that carry meaning, e.g. towards other minima).
    """
    directions = tuple(directions)
    if len(directions) != 2:
        raise ValueError(f"directions has {len(directions)} entries; expected two pytrees")
    for i, d in enumerate(directions):
        check_same_structure(params, d, ("params", f"directions[{i}]"))
    if filter_normalize:
        directions = tuple(
            _normalize(d, params, keep_biases=keep_biases, filter_axis=filter_axis)
            for d in directions
        )
    return Plane(params, *directions)


def random_plane(
    key: jax.Array,
    params: Params,
    *,
    filter_normalize: bool = True,
    keep_biases: bool = False,
    filter_axis: int = -1,
) -> Plane:
    """A plane through ``params`` along two Gaussian directions, filter-normalised (Li et al.).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> pl = random_plane(jax.random.key(0), {"k": jnp.ones((3, 2)), "b": jnp.ones(2)})
        >>> pl.d1["b"].tolist(), [round(float(x), 4) for x in jnp.linalg.norm(pl.d1["k"], axis=0)]
        ([0.0, 0.0], [1.7321, 1.7321])
    """
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(as_key(key), 2 * len(leaves))
    directions = [
        jax.tree.unflatten(
            treedef,
            [
                jax.random.normal(keys[j * len(leaves) + i], jnp.shape(x), jnp.result_type(x))
                for i, x in enumerate(leaves)
            ],
        )
        for j in range(2)
    ]
    return plane(
        params,
        directions,
        filter_normalize=filter_normalize,
        keep_biases=keep_biases,
        filter_axis=filter_axis,
    )


def plane_through(params_a: Params, params_b: Params, params_c: Params) -> Plane:
    """The plane of three minima: origin theta_a, d1 = theta_b - theta_a, d2 orthogonal.

    d2 = u - (u.d1 / d1.d1) d1 with u = theta_c - theta_a (Gram-Schmidt,
    unnormalised), so theta_a, theta_b, theta_c sit at (0, 0), (1, 0) and
    (u.d1 / d1.d1, 1) (Garipov et al., NeurIPS 2018, figure 1). No filter
    normalisation: the directions are the minima's own.
    """
    check_same_structure(params_a, params_b)
    check_same_structure(params_a, params_c, ("params_a", "params_c"))
    d1 = jax.tree.map(lambda b, a: b - a, params_b, params_a)
    u = jax.tree.map(lambda c, a: c - a, params_c, params_a)
    coef = _vdot(u, d1) / _vdot(d1, d1)
    d2 = jax.tree.map(lambda x, y: x - coef.astype(x.dtype) * y, u, d1)
    return Plane(params_a, d1, d2)


def project(plane_: Plane, params: Params) -> jax.Array:
    """Plane coordinates (x, y) of the point of the plane closest to ``params``, shape (2,).

    Solves the 2x2 normal equations G [x, y] = [d1.(theta - o), d2.(theta - o)].
    """
    check_same_structure(plane_.origin, params, ("plane.origin", "params"))
    diff = jax.tree.map(lambda p, o: p - o, params, plane_.origin)
    gram = jnp.array(
        [
            [_vdot(plane_.d1, plane_.d1), _vdot(plane_.d1, plane_.d2)],
            [_vdot(plane_.d2, plane_.d1), _vdot(plane_.d2, plane_.d2)],
        ]
    )
    rhs = jnp.array([_vdot(plane_.d1, diff), _vdot(plane_.d2, diff)])
    return jnp.linalg.solve(gram, rhs)


def eigenvector_plane(params: Params, eigenvectors: Any) -> Plane:
    """The plane through ``params`` along two given eigenvectors (no normalisation).

    ``eigenvectors``: a pytree like params with a leading axis of size >= 2
    (as `landscape.curvature.top_eigenpairs` returns them), a sequence of two
    pytrees, or flat rows (2, D) in `jax.flatten_util.ravel_pytree` order.
    """
    if isinstance(eigenvectors, (list, tuple)) and len(eigenvectors) == 2:
        d1, d2 = eigenvectors
    elif isinstance(eigenvectors, (jax.Array, np.ndarray)) and np.ndim(eigenvectors) == 2:
        flat, unravel = ravel_pytree(params)
        if eigenvectors.shape[0] < 2 or eigenvectors.shape[1] != flat.shape[0]:
            raise ValueError(
                f"eigenvectors has shape {eigenvectors.shape}; expected rows (2, D={flat.shape[0]})"
            )
        d1, d2 = unravel(jnp.asarray(eigenvectors[0])), unravel(jnp.asarray(eigenvectors[1]))
    else:
        d1 = jax.tree.map(lambda v: v[0], eigenvectors)
        d2 = jax.tree.map(lambda v: v[1], eigenvectors)
    return plane(params, (d1, d2), filter_normalize=False)


def hessian_plane(
    key: jax.Array,
    loss_fn: Callable[[Params, Any], jax.Array],
    params: Params,
    batch: Any,
    **kwargs: Any,
) -> tuple[Plane, jax.Array]:
    """The plane through ``params`` along the top two Hessian eigenvectors.

    Uses `landscape.curvature.top_eigenpairs(key, loss_fn, params, batch, 2,
    **kwargs)` (thick-restart Lanczos); the eigenvectors are unit vectors, not
    filter-normalised. Returns ``(plane, eigenvalues (2,))``.
    """
    from landscape.curvature import top_eigenpairs

    result = top_eigenpairs(key, loss_fn, params, batch, 2, **kwargs)
    return eigenvector_plane(params, result.eigenvectors), result.eigenvalues


def grid(xs: Any, ys: Any) -> jax.Array:
    """Grid coordinates (X, Y, 2) with ``grid[i, j] = (xs[i], ys[j])``."""
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    if xs.ndim != 1 or ys.ndim != 1:
        raise ValueError(f"xs, ys have shapes {xs.shape}, {ys.shape}; expected 1-D arrays")
    gx, gy = jnp.meshgrid(xs, ys, indexing="ij")
    return jnp.stack([gx, gy], axis=-1)


@functools.partial(jax.jit, static_argnames=("fn", "per_device"))
def _evaluate_plane(fn, plane_, coords, batch, per_device):
    point = lambda c, pl, b: fn(pl(c[0], c[1]), b)
    return parallel.sharded_vmap(point, in_axes=(0, None, None), per_device=per_device)(
        coords, plane_, batch
    )


def evaluate_plane(
    fn: Callable[[Params, Any], Any],
    params: Params,
    d1: Params,
    d2: Params,
    grid: Any,
    batch: Any,
    *,
    per_device: int | None = None,
) -> Any:
    """fn(params + x d1 + y d2, batch) at every grid point, in one compiled call (Li et al. 2018).

    Args:
        fn: ``fn(params, batch)`` -> scalar or pytree of scalars (static: hashable).
        params, d1, d2: the origin and the two directions (e.g. a `Plane`'s fields).
        grid: coordinates (..., 2), e.g. `grid(xs, ys)` (X, Y, 2).
        batch: the data (an argument of the compiled call).
        per_device: grid points at once per device (None: the backend policy
            of `landscape.parallel.local_chunk`, a scan on CPU; 1: a scan).

    Returns:
        values with leaves shaped like ``grid.shape[:-1]``.
    """
    check_same_structure(params, d1, ("params", "d1"))
    check_same_structure(params, d2, ("params", "d2"))
    coords = jnp.asarray(grid)
    if coords.ndim < 1 or coords.shape[-1] != 2:
        raise ValueError(f"grid has shape {coords.shape}; expected coordinates (..., 2)")
    parallel.resolve_per_device(per_device, 1)  # ValueError for a bad value
    shape = coords.shape[:-1]
    flat = coords.reshape(-1, 2)
    values = _evaluate_plane(fn, Plane(params, d1, d2), flat, batch, per_device)
    return jax.tree.map(lambda v: v.reshape(shape), values)
