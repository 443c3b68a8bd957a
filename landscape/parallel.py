"""Devices, and the one vocabulary for ensembles and chunks used everywhere.

Leading axes carry ensembles: ``replica`` (coupled copies), ``sample``
(disorder instances, seeds, paths), ``point`` (grid points, path points t,
(sigma, sample) pairs of a local-energy curve, probe vectors). This module is
the only place that knows how many devices exist and which backend runs:
:func:`sharded_vmap` maps a per-element function over a leading axis, pads
that axis to a multiple of the device count, splits it over a one-dimensional
mesh with :func:`jax.shard_map`, runs each device's share as a chunked ``vmap``
(``lax.map`` with a batch size, so memory is bounded), and drops the padding.
Padding repeats the last element (not zeros), so padded slots compute on valid
inputs and never produce NaNs; their results are discarded.

The scheme, the same name for the same idea in every module:

- ``batch_size``: only ever the SGD minibatch (examples per step).
- ``steps_per_chunk``: steps per compiled chunk of a driver
  (`landscape.algorithms.run`, `landscape.paths.train_curve`); progress,
  callbacks and stopping tests happen between chunks, and the trajectory
  never depends on it.
- ``examples_per_chunk``: examples per chunk of an exact mean over data
  (`Problem.loss`, the curvature operators' products); None is one call.
- ``per_device``: elements of an ensemble axis vmapped at once on each
  device. None (the default everywhere) follows the backend policy of
  :func:`local_chunk`; 1 is a compiled scan, one element after another (no
  vmap); k vmaps k at a time.
- ``samples=True``: the arguments documented as per-sample carry a leading
  ``sample`` axis (and ``key`` is then one key per sample); the one way to
  say so, in every function that accepts it.
- ``max_steps``: the step budget of every iterative routine; results report
  ``steps`` (taken) and ``converged`` (or ``solved``).
- ``num_replicas``: the number of coupled replicas.
- ``key``: the first positional argument of every public function that draws
  random numbers (typed ``jax.random.key`` or legacy ``jax.random.PRNGKey``).
"""

from __future__ import annotations

import functools
import os
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


def backend() -> str:
    """The default backend's platform name: ``"cpu"``, ``"gpu"`` or ``"tpu"``."""
    return jax.default_backend()


def local_chunk(size: int, num_devices: int | None = None) -> int | None:
    """The backend policy for ``per_device=None``: elements of an axis of ``size`` vmapped at once.

    On CPU, None (one element after another in a compiled scan): with one XLA
    device per core it was the fastest variant in ``experiments/bench_samples.py``
    (2.3x a Python loop), and it degrades least when the cores are shared,
    because each element's working set stays in cache while the batched matrix
    products of a vmap over per-element weights do not (the same held for
    path points, ``experiments/bench_paths.py``, and local-energy pairs,
    ``experiments/bench_replicas.py``). On accelerators, each device's whole
    share at once: ``ceil(size / num_devices)``, ``num_devices`` defaulting to
    all devices (1 for an axis that is not split over devices).
    """
    if jax.default_backend() == "cpu":
        return None
    num_devices = jax.device_count() if num_devices is None else num_devices
    return max(1, -(-size // num_devices))


def resolve_per_device(
    per_device: int | None, size: int, num_devices: int | None = None
) -> int | None:
    """The ``lax.map`` batch size for ``per_device`` over an axis of ``size`` elements.

    None -> :func:`local_chunk` (the backend policy); 1 -> None (a plain scan,
    no vmap of one); k -> k. ValueError for anything else.
    """
    if per_device is None:
        return local_chunk(size, num_devices)
    if isinstance(per_device, bool) or not isinstance(per_device, int) or per_device < 1:
        raise ValueError(f"per_device={per_device!r}; expected a positive integer or None")
    return None if per_device == 1 else per_device


def even_chunks(size: int, per_device: int) -> tuple[int, int]:
    """Equal chunks on every device: ``(k, padded)`` for mapping ``size`` elements.

    ``k <= per_device`` elements at a time, chosen so that each device's share
    is a whole number of chunks of k once the axis is padded to ``padded``
    elements (so ``lax.map`` compiles no remainder body).
    """
    share = -(-size // jax.device_count())
    k = min(per_device, share)
    k = -(-share // -(-share // k))
    return k, jax.device_count() * k * (-(-share // k))


def use_cpu_devices(count: int | str | None) -> None:
    """Give XLA ``count`` CPU devices (e.g. one per core); call before JAX starts its backends.

    Sets ``--xla_force_host_platform_device_count`` in ``XLA_FLAGS`` unless the
    flags already set a device count or ``count`` is empty. Only the CPU
    platform is affected. The benchmarks and the ``landscape`` command
    (``LANDSCAPE_CPU_DEVICES=K``) call it.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if not count or "xla_force_host_platform_device_count" in flags:
        return
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()


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


def _axes_and_size(in_axes: Any, args: Sequence[Any]) -> tuple[tuple[int | None, ...], int]:
    """``in_axes`` as one entry (0 or None) per argument, and the mapped leading size."""
    axes = tuple(in_axes) if isinstance(in_axes, (tuple, list)) else (in_axes,) * len(args)
    if len(axes) != len(args):
        raise ValueError(f"in_axes has {len(axes)} entries for {len(args)} arguments")
    if any(ax not in (0, None) for ax in axes):
        raise ValueError(f"in_axes={axes}; expected 0 or None per argument")
    return axes, _leading_size(args, axes)


def _assemble(axes: Sequence[int | None], mapped: Sequence[Any], broadcast: Sequence[Any]) -> list:
    """Interleave mapped and broadcast arguments back into call order."""
    mapped_it, broadcast_it = iter(mapped), iter(broadcast)
    return [next(mapped_it) if ax == 0 else next(broadcast_it) for ax in axes]


def sharded_vmap(
    fn: Callable[..., Any],
    in_axes: int | None | Sequence[int | None] = 0,
    *,
    per_device: int | None = None,
    shard: bool = True,
) -> Callable[..., Any]:
    """Map `fn` over the leading axis of its mapped arguments, sharded over all devices.

    ``sharded_vmap(fn, in_axes)(*args)`` equals ``jax.vmap(fn, in_axes)(*args)``
    (to float rounding) for any leading size, also one that does not divide the
    device count. `in_axes` takes ``0`` (mapped along the leading axis) or
    ``None`` (the same for every element, replicated to every device) per
    argument. Within a device the elements are mapped like ``lax.map``:
    ``per_device=k`` vmaps k elements at a time (``batch_size=k``), so at most
    k are live at once per device; ``per_device=1`` runs them one after
    another (a compiled scan, no vmap: the least memory, and on CPU often the
    fastest for networks whose per-element weights turn matrix products into
    batched ones); None follows :func:`local_chunk`. Outputs carry the
    leading axis.

    The returned function is not jitted; call it inside ``jax.jit`` (it is also
    fine to call it eagerly).

    Example:
        >>> import jax.numpy as jnp
        >>> f = sharded_vmap(lambda x, c: x * c, in_axes=(0, None), per_device=2)
        >>> f(jnp.arange(5.0), 2.0).tolist()
        [0.0, 2.0, 4.0, 6.0, 8.0]
    """
    resolve_per_device(per_device, 1)  # ValueError now for a bad value

    def wrapped(*args):
        axes, size = _axes_and_size(in_axes, args)
        mapped_idx = [i for i, ax in enumerate(axes) if ax == 0]
        ndev = jax.device_count()
        batch_size = resolve_per_device(per_device, size, ndev if shard else 1)

        def local(*margs_and_bargs):
            margs = margs_and_bargs[: len(mapped_idx)]
            bargs = margs_and_bargs[len(mapped_idx) :]

            def one(m):
                return fn(*_assemble(axes, m, bargs))

            return jax.lax.map(one, tuple(margs), batch_size=batch_size)

        mapped = [args[i] for i in mapped_idx]
        broadcast = [a for a, ax in zip(args, axes, strict=True) if ax is None]
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


# --- Replica axis with collectives, and multi-host start-up -------------------------------

REPLICA_AXIS = "replica"


def replica_map(
    fn: Callable[..., Any],
    in_axes: int | None | Sequence[int | None] = 0,
    *,
    shard: bool = True,
) -> Callable[..., Any]:
    """Map `fn` over a leading ``replica`` axis, with a collective mean over real replicas.

    ``replica_map(fn, in_axes)(*args)`` calls ``fn(*one_replica_args, mean)`` for
    every replica and stacks the outputs along a leading replica axis (R, ...).
    ``mean(tree)`` is the average over the R replicas of a per-replica pytree,
    (1/R) sum_a x_a, the same value on every replica: the coupling terms of
    replicated systems (the centre of a robust ensemble) are written with it.

    The replica axis is padded to a multiple of the device count, split over the
    devices with `jax.shard_map`, and ``vmap``-ed on each device; ``mean`` is a
    ``psum`` over the vmapped axis and the mesh axis in which padded replicas
    carry weight 0, so it ignores them for any R. On one device (or with
    ``shard=False``) it is a plain ``vmap`` whose ``mean`` is a sum over the
    vmapped axis. Replicas are not chunked: a collective needs all of them live.

    Shapes: mapped arguments (R, ...), broadcast arguments (``in_axes`` None)
    anything; outputs (R, ...).

    Example:
        >>> import jax.numpy as jnp
        >>> f = replica_map(lambda x, mean: x - mean(x))
        >>> f(jnp.array([1.0, 2.0, 6.0])).tolist()
        [-2.0, -1.0, 3.0]
    """

    def wrapped(*args):
        axes, size = _axes_and_size(in_axes, args)
        ndev = jax.device_count()
        sharded = shard and ndev > 1
        names = (REPLICA_AXIS, AXIS) if sharded else (REPLICA_AXIS,)
        mapped_idx = [i for i, ax in enumerate(axes) if ax == 0]
        mapped = tuple(args[i] for i in mapped_idx)
        if sharded:
            mapped, _ = pad_leading(mapped, ndev)
        padded_size = jax.tree.leaves(mapped)[0].shape[0]
        weight = (jnp.arange(padded_size) < size).astype(jnp.float32)

        def local(weight, mapped, *broadcast):
            def one(w, m):
                full = _assemble(axes, m, broadcast)

                def mean(tree):
                    count = jax.lax.psum(w, names)

                    def leaf_mean(x):
                        wx = jnp.where(w > 0, x, jnp.zeros_like(x))
                        return (jax.lax.psum(wx, names) / count).astype(x.dtype)

                    return jax.tree.map(leaf_mean, tree)

                return fn(*full, mean)

            return jax.vmap(one, axis_name=REPLICA_AXIS)(weight, mapped)

        broadcast = tuple(a for a, ax in zip(args, axes, strict=True) if ax is None)
        if not sharded:
            return local(weight, mapped, *broadcast)
        in_specs = (P(AXIS), P(AXIS)) + (P(),) * len(broadcast)
        out = jax.shard_map(
            local, mesh=mesh(), in_specs=in_specs, out_specs=P(AXIS), check_vma=False
        )(weight, mapped, *broadcast)
        return unpad_leading(out, size)

    return wrapped


def initialize_distributed(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> bool:
    """Start multi-host JAX (`jax.distributed.initialize`) from arguments or the environment.

    Reads ``JAX_COORDINATOR_ADDRESS`` (``host:port`` of process 0),
    ``JAX_NUM_PROCESSES`` and ``JAX_PROCESS_ID`` when the arguments are None.
    With none of them set and no argument given, it leaves JAX single-process
    unless a cluster JAX detects by itself (SLURM, Open MPI, TPU pods) is
    present, in which case JAX's own detection runs. On CPU it selects the gloo
    collectives so processes can exchange data. Call it once, first thing,
    before any other JAX call; afterwards `mesh` spans the devices of all
    processes.

    Returns:
        True if a multi-process runtime was started, False if left single-process.
    """
    address = coordinator_address or os.environ.get("JAX_COORDINATOR_ADDRESS")
    num = num_processes if num_processes is not None else os.environ.get("JAX_NUM_PROCESSES")
    pid = process_id if process_id is not None else os.environ.get("JAX_PROCESS_ID")
    cluster = any(
        v in os.environ for v in ("SLURM_JOB_ID", "OMPI_COMM_WORLD_SIZE", "TPU_WORKER_HOSTNAMES")
    )
    if address is None and num is None and pid is None and not cluster:
        return False
    if num is not None:
        try:
            num = int(num)
        except ValueError as exc:
            raise ValueError(f"num_processes={num!r}; expected a positive integer") from exc
        if num < 1:
            raise ValueError(f"num_processes={num}; expected a positive integer")
    if pid is not None:
        try:
            pid = int(pid)
        except ValueError as exc:
            raise ValueError(f"process_id={pid!r}; expected an integer >= 0") from exc
        if num is not None and not 0 <= pid < num:
            raise ValueError(f"process_id={pid}; expected 0 <= process_id < {num}")
    if os.environ.get("JAX_PLATFORMS", "").startswith("cpu"):
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=address, num_processes=num, process_id=pid)
    return True


def gather(tree: Any) -> Any:
    """Bring a (possibly multi-process, sharded) pytree to host NumPy arrays on every process."""
    import numpy as np

    if jax.process_count() == 1:
        return jax.tree.map(np.asarray, tree)
    from jax.experimental import multihost_utils

    return multihost_utils.process_allgather(tree, tiled=True)


def sharded_mean(fn: Callable[..., Any], batch: Any, *args: Any, shard: bool = True) -> Any:
    """Example-weighted mean of ``fn(chunk, *args)`` over a batch split over all devices.

    `fn` must return a mean over its chunk's leading (example) axis, or
    anything linear in such a mean (the gradient or a Hessian-vector product
    of a mean loss). Then ``sharded_mean(fn, batch, *args)`` equals
    ``fn(batch, *args)`` to float rounding for any number of examples ``P``,
    also one that the device count ``n`` does not divide: the first
    ``P - P mod n`` examples are split evenly over the devices
    (`jax.shard_map`, each device calls `fn` on its ``P // n`` examples and a
    ``psum`` combines them), the last ``P mod n`` are computed unsharded, and
    the parts are weighted by their sizes,
    ``((P - r) / P) mean_head + (r / P) fn(tail)`` with ``r = P mod n``.
    No example is padded or repeated, so nothing needs masking. With one
    device, ``shard=False`` or ``P < n`` it is ``fn(batch, *args)``.

    `args` are passed whole to every device (replicated); `fn` should not close
    over traced values. Call it inside ``jax.jit`` (it differentiates: ``jvp``,
    ``linearize``). Shapes: ``batch`` a pytree of arrays ``(P, ...)``; the result
    has the shape of ``fn``'s output.

    Example:
        >>> import jax.numpy as jnp
        >>> round(float(sharded_mean(lambda b, c: c * jnp.mean(b), jnp.arange(13.0), 2.0)), 4)
        12.0
    """
    leaves = jax.tree.leaves(batch)
    if not leaves:
        raise ValueError("sharded_mean: batch has no leaves; expected arrays (P, ...)")
    size = leaves[0].shape[0]
    ndev = jax.device_count()
    local = size // ndev
    if not shard or ndev == 1 or local == 0:
        return fn(batch, *args)
    head_size = local * ndev
    head = jax.tree.map(lambda x: x[:head_size], batch)
    weight = local / size

    def part(chunk, *a):
        out = fn(chunk, *a)
        return jax.tree.map(lambda o: jax.lax.psum(o * weight, AXIS), out)

    in_specs = (P(AXIS),) + (P(),) * len(args)
    out = jax.shard_map(part, mesh=mesh(), in_specs=in_specs, out_specs=P(), check_vma=False)(
        head, *args
    )
    rem = size - head_size
    if rem:
        tail = jax.tree.map(lambda x: x[head_size:], batch)
        out = jax.tree.map(lambda a, t: a + t * (rem / size), out, fn(tail, *args))
    return out
