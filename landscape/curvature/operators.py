"""Matrix-free curvature operators on flat parameter vectors.

A :class:`LinearOperator` is a pytree: its children are the *operands*
(parameters and data) and its static part is a hashable, value-compared
*spec* that knows how to multiply. Passing an operator to a jitted function
therefore passes parameters and data as arguments (never closed over, never
baked into the program), and two operators built from the same loss function
and parameter structure hit the same compiled code.

Vectors are flat: a parameter pytree (or the block of it selected by
``params_filter``) is flattened once at the boundary into a vector of
dimension ``D``; the linear algebra in this package never sees pytrees.

Operators:

* :func:`hessian_operator`: ``H v`` with ``H = d^2 L / d theta^2`` (forward-over-reverse).
* :func:`gauss_newton_operator`: ``G v = J^T H_out J v`` (Schraudolph 2002; Martens 2020).
* :func:`spherical_hessian`: the Riemannian Hessian on the sphere
  ``P (H - (w.g / |w|^2) I) P`` (Absil, Mahony & Sepulchre 2008, sec. 5.5).

Data: every operator assumes the loss is a mean over the leading example
axis of the batch, so a product over the whole batch is the size-weighted
mean of products over parts of it. Two options use this: ``examples_per_chunk``
(chunks one after another, bounded memory) and ``shard_data=True`` (the
examples split over all devices with :func:`landscape.parallel.sharded_mean`:
the largest multiple of the device count sharded over the mesh, the
remainder computed unsharded; any number of examples ``P``). They combine:
``examples_per_chunk`` then chunks each device's share.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from landscape import parallel
from landscape._util import check_params, chunked_mean, leading_size

PyTree = Any


# ----------------------------------------------------------------------------- structure


class Structure(NamedTuple):
    """Static description of a parameter pytree and of the block an operator acts on.

    Hashable and compared by value, so it can live in a jit cache key.
    """

    treedef: Any
    paths: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[Any, ...]
    mask: tuple[bool, ...]

    @property
    def dim(self) -> int:
        """Number of selected scalar parameters ``D``."""
        return sum(math.prod(s) for s, m in zip(self.shapes, self.mask) if m)

    @property
    def dtype(self) -> Any:
        """Common floating dtype of the selected leaves."""
        sel = [d for d, m in zip(self.dtypes, self.mask) if m]
        return jnp.result_type(*sel) if sel else jnp.result_type(float)


def _path_string(path: tuple[Any, ...]) -> str:
    parts = []
    for k in path:
        if isinstance(k, jax.tree_util.DictKey):
            parts.append(str(k.key))
        elif isinstance(k, jax.tree_util.GetAttrKey):
            parts.append(k.name)
        elif isinstance(k, jax.tree_util.SequenceKey):
            parts.append(str(k.idx))
        else:
            parts.append(str(k))
    return "/".join(parts)


def structure(params: PyTree, params_filter: Callable[[str], bool] | None = None) -> Structure:
    """The static :class:`Structure` of `params`, selecting the leaves where `params_filter` holds.

    `params_filter` receives each leaf's path as a string joined by ``/``
    (e.g. ``"Dense_0/kernel"`` or ``"w"``) and returns whether that leaf
    belongs to the block. ``None`` selects every leaf.
    """
    with_path, treedef = jax.tree_util.tree_flatten_with_path(params)
    if not with_path:
        raise ValueError("params has no leaves; expected a pytree of arrays")
    paths = tuple(_path_string(p) for p, _ in with_path)
    leaves = [leaf for _, leaf in with_path]
    shapes = tuple(tuple(jnp.shape(leaf)) for leaf in leaves)
    dtypes = tuple(jnp.result_type(leaf) for leaf in leaves)
    for p, d in zip(paths, dtypes):
        if not jnp.issubdtype(d, jnp.floating):
            raise ValueError(f"params leaf {p!r} has dtype {d}; expected a floating dtype")
    mask = tuple(bool(params_filter(p)) if params_filter else True for p in paths)
    if not any(mask):
        raise ValueError(
            f"params_filter={params_filter!r} selects none of the leaves {list(paths)}; "
            "expected a predicate true for at least one path"
        )
    return Structure(treedef, paths, shapes, dtypes, mask)


def flatten(struct: Structure, tree: PyTree) -> jax.Array:
    """Concatenate the selected leaves of `tree` into a flat vector ``(D,)``."""
    leaves = jax.tree.leaves(tree)
    dtype = struct.dtype
    parts = [jnp.ravel(x).astype(dtype) for x, m in zip(leaves, struct.mask) if m]
    return jnp.concatenate(parts) if len(parts) > 1 else parts[0]


def unflatten(struct: Structure, vector: jax.Array) -> PyTree:
    """Inverse of :func:`flatten`; unselected leaves are zeros. ``(D,) -> pytree``."""
    leaves, offset = [], 0
    for shape, dtype, m in zip(struct.shapes, struct.dtypes, struct.mask):
        size = math.prod(shape)
        if m:
            leaves.append(vector[offset : offset + size].reshape(shape).astype(dtype))
            offset += size
        else:
            leaves.append(jnp.zeros(shape, dtype))
    return jax.tree.unflatten(struct.treedef, leaves)


def path_contains(*names: str) -> Callable[[str], bool]:
    """A ``params_filter`` selecting leaves whose path has one of `names` as a component.

    Example: ``path_contains("Dense_0")`` selects the first dense layer's kernel and bias.
    """

    def predicate(path: str) -> bool:
        return any(n in path.split("/") for n in names)

    return predicate


# ----------------------------------------------------------------------------- checks


def check_scalar_loss(loss_fn: Callable, params: PyTree, batch: PyTree) -> None:
    """ValueError unless ``loss_fn(params, batch)`` is a real scalar."""
    out = jax.eval_shape(loss_fn, params, batch)
    if not hasattr(out, "shape") or out.shape != () or not jnp.issubdtype(out.dtype, jnp.floating):
        raise ValueError(
            f"loss_fn returned {out}; expected a real scalar (the mean loss over the batch)"
        )


def _check_examples_per_chunk(examples_per_chunk: int | None) -> None:
    if examples_per_chunk is not None and (
        not isinstance(examples_per_chunk, int) or examples_per_chunk < 1
    ):
        raise ValueError(
            f"examples_per_chunk={examples_per_chunk!r}; expected a positive integer or None"
        )


def _check_shard_data(shard_data: bool) -> None:
    if not isinstance(shard_data, bool):
        raise ValueError(f"shard_data={shard_data!r}; expected True or False")


# ----------------------------------------------------------------------------- chunking


def data_mean(
    fn: Callable[..., PyTree],
    batch: PyTree,
    *args: Any,
    examples_per_chunk: int | None = None,
    shard_data: bool = False,
) -> PyTree:
    """Example-weighted mean of ``fn(chunk, *args)`` over `batch`: chunked, optionally sharded.

    Without `shard_data` this is :func:`chunked_mean` over chunks of
    `examples_per_chunk`. With `shard_data` the examples are split over all devices by
    :func:`landscape.parallel.sharded_mean` (a multiple of the device count
    sharded, the remainder unsharded, weighted by size), and each part is
    chunked by `examples_per_chunk`. Exact for `fn` linear in a mean over examples;
    `fn` receives `args` explicitly (it must not close over traced values).
    """

    def chunked(chunk, *a):
        return chunked_mean(lambda c: fn(c, *a), chunk, examples_per_chunk)

    if shard_data:
        return parallel.sharded_mean(chunked, batch, *args)
    return chunked(batch, *args)


# ----------------------------------------------------------------------------- products


def hvp(loss_fn: Callable, params: PyTree, batch: PyTree, vector: PyTree) -> PyTree:
    """Hessian-vector product ``H v`` by forward-over-reverse differentiation.

    ``H v = d/dt grad L(theta + t v) |_{t=0}`` (Pearlmutter 1994), computed as
    ``jvp(grad(loss_fn))``: about 2-3 gradient evaluations, no Hessian stored.
    `vector` has the structure of `params`; so has the result.

    Example:
        >>> import jax.numpy as jnp
        >>> loss = lambda p, b: jnp.sum(b * p["w"] ** 2)
        >>> hvp(loss, {"w": jnp.ones(2)}, jnp.array([1.0, 3.0]), {"w": jnp.ones(2)})["w"].tolist()
        [2.0, 6.0]
    """
    return jax.jvp(lambda p: jax.grad(loss_fn)(p, batch), (params,), (vector,))[1]


# ----------------------------------------------------------------------------- operator


@jax.tree_util.register_pytree_node_class
class LinearOperator:
    """A symmetric linear operator on flat vectors ``(D,)`` that is a pytree.

    ``op.matvec(v)`` computes the product from scratch; ``op.prepare()``
    returns a matvec closure that may reuse work shared by every product
    (a linearisation) and is meant to be called many times inside one traced
    computation (a Lanczos scan). Children are ``operands``; the static
    ``spec`` (hashable, compared by value) holds the functions and sizes.
    """

    def __init__(self, spec: Any, operands: tuple[Any, ...]):
        self.spec = spec
        self.operands = tuple(operands)

    def tree_flatten(self):  # noqa: D102
        return (self.operands,), self.spec

    @classmethod
    def tree_unflatten(cls, spec, children):  # noqa: D102
        return cls(spec, children[0])

    @property
    def dim(self) -> int:
        """Dimension ``D`` of the vectors it acts on."""
        return self.spec.dim

    @property
    def shape(self) -> tuple[int, int]:
        """``(D, D)``."""
        return (self.spec.dim, self.spec.dim)

    @property
    def dtype(self) -> Any:
        """Dtype of its products."""
        return self.spec.dtype

    @property
    def shards_data(self) -> bool:
        """Whether its products split the data over the device mesh (``shard_data=True``).

        Such an operator already uses the whole mesh, so the probe axes of
        :func:`~landscape.curvature.trace_of` and
        :func:`~landscape.curvature.spectral_density_of` then stay on one
        device's program (a mesh axis carries one thing at a time).
        """
        return bool(getattr(self.spec, "shard_data", False))

    def matvec(self, vector: jax.Array) -> jax.Array:
        """The product ``A v`` for ``v`` of shape ``(D,)``."""
        return self.spec.matvec(vector, *self.operands)

    def prepare(self) -> Callable[[jax.Array], jax.Array]:
        """A matvec closure sharing work between products (call inside the traced computation)."""
        prep = getattr(self.spec, "prepare", None)
        if prep is None:
            return lambda v: self.spec.matvec(v, *self.operands)
        return prep(*self.operands)

    def __matmul__(self, vector: jax.Array) -> jax.Array:
        return self.matvec(vector)

    def flatten(self, tree: PyTree) -> jax.Array:
        """Flatten a parameter pytree to this operator's vector space."""
        return flatten(self.spec.structure, tree)

    def unflatten(self, vector: jax.Array) -> PyTree:
        """Map a flat vector back to a parameter pytree (zeros outside the block)."""
        return unflatten(self.spec.structure, vector)


@dataclasses.dataclass(frozen=True)
class _CallableSpec:
    fn: Callable
    dim: int
    dtype: Any

    def matvec(self, v, *operands):
        return self.fn(v, *operands)


def linear_operator(matvec: Callable, *operands: Any, dim: int, dtype: Any) -> LinearOperator:
    """Wrap ``matvec(v, *operands) -> (D,)`` as a pytree :class:`LinearOperator`.

    `matvec` should be a module-level function (it is part of the jit cache
    key); data enters through `operands`.
    """
    return LinearOperator(_CallableSpec(matvec, int(dim), jnp.dtype(dtype)), operands)


def _dense_matvec(v, matrix):
    return matrix @ v


def dense_operator(matrix: jax.Array) -> LinearOperator:
    """A :class:`LinearOperator` for an explicit symmetric matrix ``(D, D)`` (tests, references)."""
    matrix = jnp.asarray(matrix)
    return linear_operator(_dense_matvec, matrix, dim=matrix.shape[0], dtype=matrix.dtype)


@dataclasses.dataclass(frozen=True)
class _HessianSpec:
    loss_fn: Callable
    structure: Structure
    examples_per_chunk: int | None
    shard_data: bool = False

    @property
    def dim(self):
        return self.structure.dim

    @property
    def dtype(self):
        return self.structure.dtype

    def _grad(self, params, batch):
        return jax.grad(self.loss_fn)(params, batch)

    def _one(self, chunk, params, tangent):
        out = jax.jvp(lambda p: self._grad(p, chunk), (params,), (tangent,))[1]
        return flatten(self.structure, out)

    def matvec(self, v, params, batch):
        tangent = unflatten(self.structure, v)
        return data_mean(
            self._one,
            batch,
            params,
            tangent,
            examples_per_chunk=self.examples_per_chunk,
            shard_data=self.shard_data,
        )

    def prepare(self, params, batch):
        if self.examples_per_chunk is not None and self.examples_per_chunk < leading_size(batch):
            return lambda v: self.matvec(v, params, batch)
        if self.shard_data:
            # Linearise the sharded gradient: each device keeps the linearisation of its share.
            grad = lambda p: data_mean(lambda c, q: self._grad(q, c), batch, p, shard_data=True)
        else:
            grad = lambda p: self._grad(p, batch)
        _, lin = jax.linearize(grad, params)
        return lambda v: flatten(self.structure, lin(unflatten(self.structure, v)))


def _validate(loss_fn, params, batch, examples_per_chunk, shard_data=False):
    _check_examples_per_chunk(examples_per_chunk)
    _check_shard_data(shard_data)
    leading_size(batch)
    check_params(params)
    check_scalar_loss(loss_fn, params, batch)


def hessian_operator(
    loss_fn: Callable,
    params: PyTree,
    batch: PyTree,
    *,
    examples_per_chunk: int | None = None,
    params_filter: Callable[[str], bool] | None = None,
    shard_data: bool = False,
) -> LinearOperator:
    """The Hessian ``H = d^2 L(theta) / d theta^2`` of ``loss_fn(params, batch)`` as an operator.

    Products are forward-over-reverse (:func:`hvp`). Without `examples_per_chunk`,
    ``prepare()`` linearises the gradient once and every product then costs
    about one gradient; with `examples_per_chunk`, each product recomputes
    jvp-of-grad over chunks of `examples_per_chunk` examples (``lax.scan``), so
    memory holds one chunk. Chunking assumes `loss_fn` is a mean over the
    leading example axis of `batch` (chunks are weighted by their size).

    ``shard_data=True`` splits the examples over all devices for any count
    ``P`` (:func:`landscape.parallel.sharded_mean`): the first
    ``P - P mod n`` examples are sharded evenly over the ``n`` devices and the
    last ``P mod n`` computed unsharded, combined as the size-weighted mean,
    exactly like the chunks (same mean-loss assumption); `examples_per_chunk` then
    chunks each part, and ``prepare()`` linearises each device's share once.
    The batch may live anywhere (e.g. on one device, or placed with
    :func:`landscape.parallel.shard_leading`); with one device it changes
    nothing. Results equal the unsharded operator's to float rounding.

    `params_filter` (a predicate on ``/``-joined leaf paths, see
    :func:`path_contains`) restricts the operator to a diagonal block: the
    Hessian with respect to the selected leaves only (per-layer spectra).

    Shapes: ``params`` any pytree; ``batch`` pytree with leading axis ``(P, ...)``;
    the operator acts on ``(D,)`` with ``D`` the number of selected parameters.
    """
    _validate(loss_fn, params, batch, examples_per_chunk, shard_data)
    spec = _HessianSpec(loss_fn, structure(params, params_filter), examples_per_chunk, shard_data)
    return LinearOperator(spec, (params, batch))


@dataclasses.dataclass(frozen=True)
class _GaussNewtonSpec:
    apply_fn: Callable
    output_loss_fn: Callable
    structure: Structure
    examples_per_chunk: int | None
    shard_data: bool = False

    @property
    def dim(self):
        return self.structure.dim

    @property
    def dtype(self):
        return self.structure.dtype

    def _product(self, params, chunk, tangent):
        x, y = chunk[0], chunk[1]
        f = lambda p: self.apply_fn(p, x)
        out, jv = jax.jvp(f, (params,), (tangent,))
        hjv = jax.jvp(lambda o: jax.grad(self.output_loss_fn)(o, y), (out,), (jv,))[1]
        _, vjp = jax.vjp(f, params)
        return flatten(self.structure, vjp(hjv)[0])

    def _one(self, chunk, params, tangent):
        return self._product(params, chunk, tangent)

    def matvec(self, v, params, batch):
        tangent = unflatten(self.structure, v)
        return data_mean(
            self._one,
            batch,
            params,
            tangent,
            examples_per_chunk=self.examples_per_chunk,
            shard_data=self.shard_data,
        )

    def prepare(self, params, batch):
        chunked = self.examples_per_chunk is not None and self.examples_per_chunk < leading_size(
            batch
        )
        if chunked or self.shard_data:
            return lambda v: self.matvec(v, params, batch)
        x, y = batch[0], batch[1]
        out, jvp_lin = jax.linearize(lambda p: self.apply_fn(p, x), params)
        transpose = jax.linear_transpose(jvp_lin, params)
        _, hout = jax.linearize(lambda o: jax.grad(self.output_loss_fn)(o, y), out)

        def matvec(v):
            jv = jvp_lin(unflatten(self.structure, v))
            return flatten(self.structure, transpose(hout(jv))[0])

        return matvec


def gauss_newton_operator(
    apply_fn: Callable,
    output_loss_fn: Callable,
    params: PyTree,
    batch: PyTree,
    *,
    examples_per_chunk: int | None = None,
    params_filter: Callable[[str], bool] | None = None,
    shard_data: bool = False,
) -> LinearOperator:
    """The generalised Gauss-Newton matrix ``G = J^T H_out J`` as an operator.

    ``J = d apply_fn(params, x) / d params`` and ``H_out`` is the Hessian of
    ``output_loss_fn(outputs, y)`` (a scalar, mean over examples) in the
    outputs (Schraudolph 2002; Martens, "New insights and perspectives on the
    natural gradient method", 2020). ``G`` is positive semi-definite for a
    convex output loss and equals the Hessian minus the term with the
    second derivatives of the network.

    Shapes: ``batch = (x, y)`` (a :class:`~landscape.problem.Batch` or a
    pair) with ``x (P, ...)`` and ``y (P, ...)``; ``apply_fn(params, x)`` gives
    outputs ``(P, ...)``. `examples_per_chunk`, `params_filter` and `shard_data` as in
    :func:`hessian_operator` (``output_loss_fn`` must be a mean over examples);
    with `shard_data` or a chunking `examples_per_chunk`, ``prepare()`` recomputes
    ``J^T H_out J v`` per product instead of linearising once.
    """
    _check_examples_per_chunk(examples_per_chunk)
    _check_shard_data(shard_data)
    leading_size(batch)
    check_params(params)
    out = jax.eval_shape(
        lambda p, b: output_loss_fn(apply_fn(p, b[0]), b[1]), params, tuple(batch)[:2]
    )
    if out.shape != ():
        raise ValueError(
            f"output_loss_fn returned shape {out.shape}; expected a scalar (mean over examples)"
        )
    spec = _GaussNewtonSpec(
        apply_fn, output_loss_fn, structure(params, params_filter), examples_per_chunk, shard_data
    )
    return LinearOperator(spec, (params, tuple(batch)[:2]))


@dataclasses.dataclass(frozen=True)
class _SphericalSpec:
    loss_fn: Callable
    structure: Structure
    examples_per_chunk: int | None
    shard_data: bool = False

    @property
    def dim(self):
        return self.structure.dim

    @property
    def dtype(self):
        return self.structure.dtype

    def _hessian(self):
        return _HessianSpec(self.loss_fn, self.structure, self.examples_per_chunk, self.shard_data)

    def _parts(self, params, batch):
        w = flatten(self.structure, params)
        grad = lambda c, p: flatten(self.structure, jax.grad(self.loss_fn)(p, c))
        g = data_mean(
            grad,
            batch,
            params,
            examples_per_chunk=self.examples_per_chunk,
            shard_data=self.shard_data,
        )
        w2 = jnp.dot(w, w)
        return w, w2, jnp.dot(w, g) / w2

    def _apply(self, hess, v, w, w2, c):
        project = lambda u: u - w * (jnp.dot(w, u) / w2)
        pv = project(v)
        return project(hess(pv) - c * pv)

    def matvec(self, v, params, batch):
        w, w2, c = self._parts(params, batch)
        hess = self._hessian()
        return self._apply(lambda u: hess.matvec(u, params, batch), v, w, w2, c)

    def prepare(self, params, batch):
        w, w2, c = self._parts(params, batch)
        hess = self._hessian().prepare(params, batch)
        return lambda v: self._apply(hess, v, w, w2, c)


def spherical_hessian(
    loss_fn: Callable,
    params: PyTree,
    batch: PyTree,
    *,
    examples_per_chunk: int | None = None,
    params_filter: Callable[[str], bool] | None = None,
    shard_data: bool = False,
) -> LinearOperator:
    """The Riemannian Hessian of the loss on the sphere ``|w| = const`` as an operator.

    ``Hess L(w) = P (H - (w.g / |w|^2) I) P`` with ``P = I - w w^T / |w|^2``,
    ``g`` the gradient and ``H`` the Euclidean Hessian (Absil, Mahony &
    Sepulchre, *Optimization Algorithms on Matrix Manifolds*, 2008, eq. 5.31
    for the sphere); this is the curvature the jamming literature measures
    for spherical perceptrons (Franz, Parisi et al. 2017). ``w`` is the flat
    vector of the selected block (all parameters unless `params_filter`),
    so the sphere is the one of that whole block; the normal direction ``w``
    is mapped to 0, giving one exact zero eigenvalue.

    Note: the plain Hessian of a scale-invariant loss ``L(a w) = L(w)`` obeys
    ``H w = -g``, so at a critical point ``w`` is a null direction, and the
    eigenvalues scale as ``1 / |w|^2`` under ``w -> a w``; the Riemannian
    Hessian on the sphere of radius ``|w|`` removes the null direction (and,
    for such a loss, ``w.g = 0`` so the shift term vanishes).

    `examples_per_chunk`, `params_filter` and `shard_data` as in :func:`hessian_operator`
    (the gradient ``g`` is split over the data the same way).
    """
    _validate(loss_fn, params, batch, examples_per_chunk, shard_data)
    spec = _SphericalSpec(loss_fn, structure(params, params_filter), examples_per_chunk, shard_data)
    return LinearOperator(spec, (params, batch))
