"""Paths between two minima, as functions of t in [0, 1] returning parameters.

A `Path` is a pytree: its control points (the endpoints and any bends) are the
leaves, its kind is static. ``path(t)`` is the parameters at t, with
``path(0)`` and ``path(1)`` exactly the endpoints. Because a path is a pytree,
many paths stacked along a leading ``sample`` axis (stacked endpoints) are
evaluated in one vmapped, sharded call (`landscape.paths.evaluate`), and the
bends of a curve are trained by gradients through ``path(t)``
(`train_curve`).

Models with batch statistics (BatchNorm) are not covered here: along a curve
through such a network the statistics must be recomputed at every t (Garipov
et al. 2018); the package's models carry none.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from landscape import algorithms
from landscape._util import as_key, check_positive_int, check_same_structure
from landscape.algorithms.base import Algorithm
from landscape.algorithms.gradient import minibatch
from landscape.problem import Params

KINDS = ("linear", "geodesic", "bezier", "polychain")


@jax.tree_util.register_pytree_node_class
class Path:
    """A path t -> params through control points: the endpoints and any bends.

    Attributes:
        kind: one of ``"linear"``, ``"geodesic"``, ``"bezier"``, ``"polychain"``.
        points: a tuple of parameter pytrees ``(params_a, *bends, params_b)``.

    ``path(t)`` takes a scalar t in [0, 1] (traceable) and returns parameters
    with the structure of the endpoints. Build paths with `linear`, `geodesic`,
    `bezier`, `polychain` or `train_curve`.
    """

    def __init__(self, kind: str, points: tuple[Params, ...]):
        self.kind = kind
        self.points = tuple(points)

    def tree_flatten(self):
        """Control points are children; the kind is static."""
        return (self.points,), self.kind

    @classmethod
    def tree_unflatten(cls, kind, children):
        """Rebuild from `tree_flatten`."""
        return cls(kind, children[0])

    @property
    def start(self) -> Params:
        """The endpoint at t = 0."""
        return self.points[0]

    @property
    def end(self) -> Params:
        """The endpoint at t = 1."""
        return self.points[-1]

    @property
    def bends(self) -> tuple[Params, ...]:
        """The control points between the endpoints (empty for linear and geodesic)."""
        return self.points[1:-1]

    def __repr__(self) -> str:
        return f"Path(kind={self.kind!r}, bends={len(self.points) - 2})"

    def __call__(self, t: jax.Array) -> Params:
        """Parameters at t (a scalar in [0, 1]); the endpoints are returned exactly at 0 and 1."""
        t = jnp.asarray(t)
        if self.kind == "linear":
            out = _linear(self.points[0], self.points[-1], t)
        elif self.kind == "geodesic":
            out = _geodesic(self.points[0], self.points[-1], t)
        elif self.kind == "bezier":
            out = _bezier(self.points, t)
        elif self.kind == "polychain":
            out = _polychain(self.points, t)
        else:
            raise ValueError(f"kind={self.kind!r}; expected one of {KINDS}")
        a, b = self.points[0], self.points[-1]
        return jax.tree.map(
            lambda x, y, z: jnp.where(t == 0, y, jnp.where(t == 1, z, x)).astype(y.dtype), out, a, b
        )


def _linear(a, b, t):
    return jax.tree.map(lambda x, y: (1 - t).astype(x.dtype) * x + t.astype(x.dtype) * y, a, b)


def _slerp_leaf(x, y, t):
    t = t.astype(x.dtype)
    nx, ny = jnp.linalg.norm(x.ravel()), jnp.linalg.norm(y.ravel())
    tiny = jnp.finfo(x.dtype).tiny
    ux, uy = x / jnp.maximum(nx, tiny), y / jnp.maximum(ny, tiny)
    cos = jnp.clip(jnp.vdot(ux.ravel(), uy.ravel()), -1.0, 1.0)
    theta = jnp.arccos(cos)
    small = theta < 1e-4
    safe = jnp.where(small, 1.0, theta)
    wa = jnp.where(small, 1 - t, jnp.sin((1 - t) * safe) / jnp.sin(safe))
    wb = jnp.where(small, t, jnp.sin(t * safe) / jnp.sin(safe))
    direction = wa * ux + wb * uy
    direction = direction / jnp.maximum(jnp.linalg.norm(direction.ravel()), tiny)
    return ((1 - t) * nx + t * ny) * direction


def _geodesic(a, b, t):
    return jax.tree.map(lambda x, y: _slerp_leaf(x, y, t), a, b)


def _bezier(points, t):
    # Bernstein polynomials of degree len(points) - 1.
    degree = len(points) - 1
    coeffs = [float(math.comb(degree, i)) for i in range(degree + 1)]

    def leaf(*xs):
        tt = t.astype(xs[0].dtype)
        return sum(
            c * (1 - tt) ** (degree - i) * tt**i * x for i, (c, x) in enumerate(zip(coeffs, xs))
        )

    return jax.tree.map(leaf, *points)


def _polychain(points, t):
    segments = len(points) - 1
    s = jnp.clip(jnp.floor(t * segments).astype(jnp.int32), 0, segments - 1)
    u = t * segments - s

    def leaf(*xs):
        stacked = jnp.stack(xs)
        uu = u.astype(stacked.dtype)
        return (1 - uu) * stacked[s] + uu * stacked[s + 1]

    return jax.tree.map(leaf, *points)


def linear(params_a: Params, params_b: Params) -> Path:
    """The straight line theta(t) = (1 - t) theta_a + t theta_b (linear mode connectivity).

    Frankle et al., ICML 2020; Goodfellow et al., ICLR 2015. Endpoints may carry
    a leading ``sample`` axis (many pairs at once).

    Example:
        >>> import jax.numpy as jnp
        >>> path = linear({"w": jnp.zeros(2)}, {"w": jnp.ones(2)})
        >>> path(0.25)["w"].tolist()
        [0.25, 0.25]
    """
    check_same_structure(params_a, params_b)
    return Path("linear", (params_a, params_b))


def geodesic(params_a: Params, params_b: Params) -> Path:
    """Great-circle interpolation per leaf (layer), for normalised weights.

    theta_l(t) = r_l(t) slerp(u_a, u_b; t), slerp(u_a, u_b; t) =
    [sin((1-t) phi) u_a + sin(t phi) u_b] / sin(phi), u = theta_l/|theta_l|,
    cos phi = u_a.u_b, and r_l(t) = (1-t)|theta_a,l| + t|theta_b,l|: each leaf
    keeps its norm when both endpoints have the same norm (the spherical
    perceptron, whose solutions live on the sphere |w|^2 = N). Antipodal
    endpoints (phi = pi) have no unique great circle. Near phi = 0 it falls
    back to the straight line.

    Endpoints may carry a leading ``sample`` axis only through `evaluate`'s
    vmapping (norms are taken per leaf of one pair).
    """
    check_same_structure(params_a, params_b)
    return Path("geodesic", (params_a, params_b))


def bezier(params_a: Params, bend: Params, params_b: Params) -> Path:
    """Quadratic Bezier curve (1-t)^2 theta_a + 2t(1-t) bend + t^2 theta_b (Garipov et al. 2018).

    With ``bend = (theta_a + theta_b) / 2`` it is the straight line.
    """
    check_same_structure(params_a, params_b)
    check_same_structure(params_a, bend, ("params_a", "bend"))
    return Path("bezier", (params_a, bend, params_b))


def polychain(params_a: Params, bends: Sequence[Params], params_b: Params) -> Path:
    """Polygonal chain theta_a -> bends[0] -> ... -> theta_b, the K bends at t = k/(K+1).

    Garipov et al., NeurIPS 2018 ("Loss surfaces, mode connectivity, and fast
    ensembling of DNNs"): one bend gives their Polychain curve.
    """
    check_same_structure(params_a, params_b)
    bends = tuple(bends)
    if not bends:
        raise ValueError("bends is empty; expected at least one bend (else use linear)")
    for i, bend in enumerate(bends):
        check_same_structure(params_a, bend, ("params_a", f"bends[{i}]"))
    return Path("polychain", (params_a, *bends, params_b))


class CurveState(NamedTuple):
    """The fixed endpoints, the trained bends and the optimizer state."""

    start: Params
    bends: tuple[Params, ...]
    end: Params
    opt_state: Any


class CurveInfo(NamedTuple):
    """Mean loss over the step's draws of t (the stochastic objective)."""

    loss: jax.Array


def curve_algorithm(
    fn: Callable[[Params, Any], jax.Array],
    optimizer: optax.GradientTransformation,
    *,
    kind: str = "bezier",
    batch_size: int | None = None,
    ts_per_step: int = 1,
) -> Algorithm:
    """The curve-fitting algorithm of `train_curve` as an ``Algorithm(init, step)``.

    State: `CurveState`; ``init(key, path)`` takes an initial `Path` of the
    given kind. Each step draws ``ts_per_step`` values t ~ U[0, 1] and a
    minibatch, and moves the bends along the gradient of
    mean_t fn(path(t), batch).
    """
    if kind not in ("bezier", "polychain"):
        raise ValueError(f"kind={kind!r}; expected 'bezier' or 'polychain' for a trained curve")
    ts_per_step = check_positive_int(ts_per_step, "ts_per_step")

    def init(key, path):  # noqa: ARG001
        return CurveState(path.start, path.bends, path.end, optimizer.init(path.bends))

    def objective(bends, state, ts, batch):
        path = Path(kind, (state.start, *bends, state.end))
        return jnp.mean(jax.vmap(lambda t: fn(path(t), batch))(ts))

    def step(key, state, data):
        k_t, k_batch = jax.random.split(key)
        ts = jax.random.uniform(k_t, (ts_per_step,))
        batch = data if batch_size is None else minibatch(k_batch, data, batch_size)
        loss, grads = jax.value_and_grad(objective)(state.bends, state, ts, batch)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.bends)
        bends = optax.apply_updates(state.bends, updates)
        return state._replace(bends=bends, opt_state=opt_state), CurveInfo(loss)

    return Algorithm(init, step)


def train_curve(
    key: jax.Array,
    fn: Callable[[Params, Any], jax.Array],
    params_a: Params,
    params_b: Params,
    data: Any,
    *,
    optimizer: optax.GradientTransformation,
    max_steps: int,
    kind: str = "bezier",
    num_bends: int = 1,
    init_bends: Sequence[Params] | None = None,
    batch_size: int | None = None,
    ts_per_step: int = 1,
    steps_per_chunk: int = 100,
    samples: bool = False,
    data_axis: int | None = None,
) -> tuple[Path, CurveInfo]:
    """Fit the bends of a curve between two minima by minimising the expected loss along it.

    min over bends of E_{t ~ U[0,1]} fn(phi_bends(t), batch), with one t (or
    ``ts_per_step``) drawn uniformly every step and any optax optimizer, run by
    the chunked driver `landscape.algorithms.run` (Garipov et al., NeurIPS
    2018; Draxler et al., ICML 2018). The endpoints stay fixed. The bends start
    on the straight line (at t = k/(K+1)) unless ``init_bends`` is given.

    Args:
        key: the run's key (step s uses ``fold_in(key, s)``); with ``samples``
            a key array (S,).
        fn: ``fn(params, batch) -> scalar`` to minimise (e.g. ``problem.loss``).
        params_a, params_b: the endpoints (with a leading ``sample`` axis when
            ``samples``).
        data: the training batch, passed to every step as an argument.
        optimizer: any optax optimizer for the bends.
        max_steps: number of steps.
        kind: ``"bezier"`` (one bend: quadratic; K bends: degree K+1 Bezier)
            or ``"polychain"``.
        num_bends: K, the number of bends.
        init_bends: initial bends (a sequence of K pytrees).
        batch_size: minibatch size (None: full batch).
        ts_per_step: draws of t averaged per step.
        steps_per_chunk: steps per compiled chunk.
        samples: train S curves (S stacked pairs) in one compiled call.
        data_axis: 0 if ``data`` has a sample axis, None if shared.

    Returns:
        ``(path, infos)``: the trained `Path` and the per-step `CurveInfo`
        (losses (max_steps,) or (S, max_steps)).

    Models with batch statistics would need them recomputed at every t; the
    package's models have none.
    """
    check_same_structure(params_a, params_b)
    num_bends = check_positive_int(num_bends, "num_bends")
    if init_bends is None:
        line = Path("linear", (params_a, params_b))
        ts = [(k + 1) / (num_bends + 1) for k in range(num_bends)]
        # Control points equally spaced on the line give the line, for the
        # polychain and (linear precision of Bernstein polynomials) the Bezier.
        init_bends = tuple(line(jnp.asarray(t)) for t in ts)
    init_bends = tuple(init_bends)
    if len(init_bends) != num_bends:
        raise ValueError(
            f"init_bends has {len(init_bends)} entries; expected num_bends={num_bends}"
        )
    for i, bend in enumerate(init_bends):
        check_same_structure(params_a, bend, ("params_a", f"init_bends[{i}]"))
    algo = curve_algorithm(fn, optimizer, kind=kind, batch_size=batch_size, ts_per_step=ts_per_step)
    path = Path(kind, (params_a, *init_bends, params_b))
    key = as_key(key)
    state = jax.vmap(algo.init)(key, path) if samples else algo.init(key, path)
    state, infos = algorithms.run(
        algo,
        key,
        state,
        data,
        max_steps,
        steps_per_chunk=steps_per_chunk,
        samples=samples,
        data_axis=data_axis,
    )
    return Path(kind, (state.start, *state.bends, state.end)), infos
