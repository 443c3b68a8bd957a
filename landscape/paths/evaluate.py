"""Values of a function along paths, and the barrier heights read off them.

`evaluate` computes fn(path(t), batch) at T values of t in one compiled call,
vmapped over t in chunks; many paths (stacked endpoints on a leading
``sample`` axis) ride along in the same call, vmapped and sharded over devices
by `landscape.parallel.sharded_vmap`. `barrier` reads the barrier height and
its location off the values, with the definitions in use in the literature.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape import parallel
from landscape._util import is_concrete
from landscape.paths.curves import Path
from landscape.problem import Params

BARRIER_KINDS = ("max_minus_mean_endpoints", "max_minus_max_endpoints", "max_minus_linear")


def check_ts(ts: Any, name: str = "ts") -> jax.Array:
    """Return ts as a 1-D array after checking (when concrete) that it lies in [0, 1]."""
    if np.ndim(ts) != 1 or np.shape(ts)[0] < 1:
        raise ValueError(f"{name} has shape {np.shape(ts)}; expected a 1-D array (T,) of t values")
    if is_concrete(ts):
        arr = np.asarray(ts)
        if not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
            raise ValueError(
                f"{name} has values in [{arr.min()}, {arr.max()}]; expected t in [0, 1]"
            )
    ts = jnp.asarray(ts)
    if not jnp.issubdtype(ts.dtype, jnp.floating):
        ts = ts.astype(jnp.result_type(float))
    return ts


@functools.partial(
    jax.jit, static_argnames=("fn", "per_device", "samples", "data_axis", "samples_per_device")
)
def _evaluate(fn, path, ts, batch, per_device, samples, data_axis, samples_per_device):
    def along(one_path, one_batch, shard):
        point = lambda t, p, b: fn(p(t), b)
        return parallel.sharded_vmap(
            point, in_axes=(0, None, None), per_device=per_device, shard=shard
        )(ts, one_path, one_batch)

    if not samples:
        return along(path, batch, True)
    return parallel.sharded_vmap(
        lambda p, b: along(p, b, False),
        in_axes=(0, data_axis),
        per_device=samples_per_device,
    )(path, batch)


def evaluate(
    fn: Callable[[Params, Any], Any],
    path: Path | Callable[[jax.Array], Params],
    ts: Any,
    batch: Any,
    *,
    per_device: int | None = None,
    samples: bool = False,
    data_axis: int | None = None,
    samples_per_device: int | None = None,
) -> Any:
    """Values of ``fn(path(t), batch)`` at every t, in one compiled call.

    v_s(t_i) = fn(theta_s(t_i), batch) for points t_i (T,) and, with
    ``samples=True``, paths s = 1..S stacked along a leading ``sample`` axis
    (build them from stacked endpoints: ``linear(a_stacked, b_stacked)``).

    Args:
        fn: ``fn(params, batch)`` returning a scalar or a pytree of scalars
            (e.g. ``(loss, error)``); hashable (it is a static argument of the
            compiled call: pass the same function object to reuse it).
        path: a `Path` (from `linear`, `geodesic`, `bezier`, `polychain`,
            `train_curve`).
        ts: points (T,) in [0, 1].
        batch: the data, an argument of the compiled call (never closed over).
        per_device: points t evaluated at once (per path, per device); None:
            the backend policy of `landscape.parallel.local_chunk` (a scan on
            CPU, where vmapping per-point weights turns a network's products
            into slower batched ones, ``experiments/bench_paths.py``; each
            device's whole share on accelerators); 1: a scan. Bounds memory at
            per_device parameter copies and their activations.
        samples: the path carries a leading sample axis S.
        data_axis: with ``samples``, 0 if ``batch`` has a sample axis too
            (one data set per pair), None if shared.
        samples_per_device: paths at once per device (None: the same policy).

    Returns:
        values with leaves (T,), or (S, T) with ``samples``. Without samples
        the t axis is sharded over devices; with samples the sample axis is.

    Example:
        >>> import jax.numpy as jnp
        >>> from landscape.paths import linear
        >>> path = linear({"w": jnp.zeros(2)}, {"w": jnp.ones(2)})
        >>> sq = lambda p, b: jnp.sum((p["w"] - b) ** 2)
        >>> evaluate(sq, path, jnp.linspace(0, 1, 3), 0.5).tolist()
        [0.5, 0.0, 0.5]
    """
    ts = check_ts(ts)
    if not isinstance(path, Path):
        raise ValueError(
            f"path is a {type(path).__name__}; expected a landscape.paths.Path "
            "(from linear, geodesic, bezier, polychain or train_curve)"
        )
    for name, value in (("per_device", per_device), ("samples_per_device", samples_per_device)):
        try:
            parallel.resolve_per_device(value, 1)
        except ValueError:
            raise ValueError(f"{name}={value!r}; expected a positive integer or None") from None
    if data_axis not in (0, None):
        raise ValueError(f"data_axis={data_axis!r}; expected 0 or None")
    if samples:
        sizes = {np.shape(leaf)[0] if np.ndim(leaf) else None for leaf in jax.tree.leaves(path)}
        if len(sizes) != 1 or None in sizes:
            raise ValueError(
                f"samples=True but the path's leaves have leading sizes {sizes}; "
                "expected one sample axis S on every control point"
            )
    return _evaluate(
        fn,
        path,
        ts,
        batch,
        per_device,
        samples,
        data_axis if samples else None,
        samples_per_device,
    )


class Barrier(NamedTuple):
    """A barrier height and the t where it is reached (arrays with the values' leading axes)."""

    height: jax.Array
    t: jax.Array


def barrier(values: Any, *, kind: str = "max_minus_mean_endpoints", ts: Any = None) -> Barrier:
    """The barrier along a path, read off its values v(t) (T,) or (..., T).

    The variants in use (ts must start at 0 and end at 1; evenly spaced by default):

    - ``"max_minus_mean_endpoints"``: max_t v(t) - (v(0) + v(1))/2, the
      instability of Frankle et al., ICML 2020 ("Linear mode connectivity and
      the lottery ticket hypothesis"); t = argmax_t v(t).
    - ``"max_minus_max_endpoints"``: max_t v(t) - max(v(0), v(1)), the height
      above the higher minimum (Draxler et al., ICML 2018, "Essentially no
      barriers"); t = argmax_t v(t). Zero iff the path never rises above its
      higher endpoint.
    - ``"max_minus_linear"``: max_t [v(t) - ((1 - t) v(0) + t v(1))], the
      largest height above the straight line between the endpoint values
      (Entezari et al., ICLR 2022; Ainsworth et al., ICLR 2023); t = its argmax.

    All three are >= 0 and vanish along a path that never rises above the
    relevant endpoint level.

    Example:
        >>> import jax.numpy as jnp
        >>> b = barrier(jnp.array([0.0, 3.0, 1.0]), kind="max_minus_linear")
        >>> float(b.height), float(b.t)
        (2.5, 0.5)
    """
    if kind not in BARRIER_KINDS:
        raise ValueError(f"kind={kind!r}; expected one of {BARRIER_KINDS}")
    values = jnp.asarray(values)
    if values.ndim < 1 or values.shape[-1] < 2:
        raise ValueError(
            f"values has shape {values.shape}; expected (..., T) with at least T = 2 points"
        )
    num_t = values.shape[-1]
    if ts is None:
        ts = jnp.linspace(0.0, 1.0, num_t, dtype=values.dtype)
    else:
        ts = check_ts(ts)
        if ts.shape[0] != num_t:
            raise ValueError(f"ts has {ts.shape[0]} points and values {num_t}; expected equal")
        if is_concrete(ts):
            arr = np.asarray(ts)
            if arr[0] != 0 or arr[-1] != 1 or np.any(np.diff(arr) <= 0):
                raise ValueError(
                    f"ts runs from {arr[0]} to {arr[-1]}; expected increasing t from 0 to 1 "
                    "(the barrier is measured against the endpoints)"
                )
        ts = ts.astype(values.dtype)
    ts_b = ts.reshape((1,) * (values.ndim - 1) + (num_t,))
    v0, v1 = values[..., :1], values[..., -1:]
    if kind == "max_minus_linear":
        excess = values - ((1 - ts_b) * v0 + ts_b * v1)
    elif kind == "max_minus_mean_endpoints":
        excess = values - 0.5 * (v0 + v1)
    else:
        excess = values - jnp.maximum(v0, v1)
    idx = jnp.argmax(excess, axis=-1)
    return Barrier(jnp.max(excess, axis=-1), ts[idx])
