"""Devices: one mesh over all devices, and ensembles sharded along their leading axis.

Leading axes carry ensembles (`replica`, `sample`, `point`). This module is the
only place that knows how many devices exist: :func:`sharded_vmap` maps a
per-element function over a leading axis, pads that axis to a multiple of the
device count, splits it over a one-dimensional mesh with :func:`jax.shard_map`,
runs each device's share as a chunked ``vmap`` (``lax.map`` with a batch size,
so memory is bounded), and drops the padding. On one device it is a chunked
``vmap``.

Padding repeats the last element (not zeros), so padded slots compute on valid
inputs and never produce NaNs; their results are discarded.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

AXIS = "devices"


def device_count() -> int:
    """Number of devices JAX sees (all hosts)."""
    return jax.device_count()


@functools.cache
def _mesh(n: int) -> jax.sharding.Mesh:
    return jax.make_mesh(
        (n,), (AXIS,), axis_types=(jax.sharding.AxisType.Auto,), devices=jax.devices()[:n]
    )


def mesh() -> jax.sharding.Mesh:
    """A one-dimensional mesh over all devices, with axis name ``"devices"``."""
    return _mesh(jax.device_count())


def pad_leading(tree: Any, multiple: int) -> tuple[Any, int]:
    """Pad every leaf's leading axis to a multiple of `multiple` by repeating its last entry.

    Returns ``(padded, size)`` with ``size`` the original leading size.
    """
    leaves = jax.tree.leaves(tree)
    if not leaves:
        raise ValueError("pad_leading: tree has no leaves; expected arrays with a leading axis")
    size = leaves[0].shape[0]
    pad = (-size) % multiple
    if pad == 0:
        return tree, size

    def _pad(x):
        return jnp.concatenate([x, jnp.repeat(x[-1:], pad, axis=0)], axis=0)

    return jax.tree.map(_pad, tree), size


def unpad_leading(tree: Any, size: int) -> Any:
    """Drop padded entries: keep the first `size` along every leaf's leading axis."""
    return jax.tree.map(lambda x: x[:size], tree)


def _leading_size(args: Sequence[Any], in_axes: Sequence[int | None]) -> int:
    sizes = {
        leaf.shape[0]
        for a, ax in zip(args, in_axes, strict=True)
        if ax is not None
        for leaf in jax.tree.leaves(a)
    }
    if not sizes:
        raise ValueError("sharded_vmap: in_axes maps no argument; expected at least one 0")
    if len(sizes) != 1:
        raise ValueError(f"sharded_vmap: mapped arguments have different leading sizes {sizes}")
    return sizes.pop()


def sharded_vmap(
    fn: Callable[..., Any],
    in_axes: int | None | Sequence[int | None] = 0,
    *,
    chunk_size: int | None = None,
    shard: bool = True,
) -> Callable[..., Any]:
    """Map `fn` over the leading axis of its mapped arguments, sharded over all devices.

    ``sharded_vmap(fn, in_axes)(*args)`` equals ``jax.vmap(fn, in_axes)(*args)``
    (to float rounding) for any leading size, also one that does not divide the
    device count. `in_axes` takes ``0`` (mapped along the leading axis) or
    ``None`` (the same for every element, replicated to every device) per
    argument. Within a device, elements run ``chunk_size`` at a time
    (``lax.map`` with ``batch_size``), so at most ``chunk_size`` elements are
    live at once per device. Outputs carry the leading axis.

    The returned function is not jitted; call it inside ``jax.jit`` (it is also
    fine to call it eagerly).

    Example:
        >>> import jax.numpy as jnp
        >>> f = sharded_vmap(lambda x, c: x * c, in_axes=(0, None), chunk_size=2)
        >>> f(jnp.arange(5.0), 2.0).tolist()
        [0.0, 2.0, 4.0, 6.0, 8.0]
    """
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size}; expected a positive integer or None")

    def wrapped(*args):
        axes = tuple(in_axes) if isinstance(in_axes, (tuple, list)) else (in_axes,) * len(args)
        if len(axes) != len(args):
            raise ValueError(f"in_axes has {len(axes)} entries for {len(args)} arguments")
        if any(ax not in (0, None) for ax in axes):
            raise ValueError(f"in_axes={axes}; expected 0 or None per argument")
        size = _leading_size(args, axes)
        mapped_idx = [i for i, ax in enumerate(axes) if ax == 0]

        def local(*margs_and_bargs):
            margs = margs_and_bargs[: len(mapped_idx)]
            bargs = margs_and_bargs[len(mapped_idx) :]

            def one(m):
                full, mi, bi = [], 0, 0
                for ax in axes:
                    if ax == 0:
                        full.append(m[mi])
                        mi += 1
                    else:
                        full.append(bargs[bi])
                        bi += 1
                return fn(*full)

            return jax.lax.map(one, tuple(margs), batch_size=chunk_size)

        mapped = [args[i] for i in mapped_idx]
        broadcast = [a for a, ax in zip(args, axes, strict=True) if ax is None]
        ndev = jax.device_count()
        if not shard or ndev == 1:
            return local(*mapped, *broadcast)
        mapped, _ = pad_leading(tuple(mapped), ndev)
        mesh_ = mesh()
        in_specs = (P(AXIS),) * len(mapped) + (P(),) * len(broadcast)
        out = jax.shard_map(
            local, mesh=mesh_, in_specs=in_specs, out_specs=P(AXIS), check_vma=False
        )(*mapped, *broadcast)
        return unpad_leading(out, size)

    return wrapped


def shard_leading(tree: Any) -> Any:
    """Place a pytree with leading size divisible by the device count split over devices."""
    sharding = NamedSharding(mesh(), P(AXIS))
    return jax.device_put(tree, sharding)


def replicate(tree: Any) -> Any:
    """Place a pytree on every device (fully replicated)."""
    sharding = NamedSharding(mesh(), P())
    return jax.device_put(tree, sharding)
