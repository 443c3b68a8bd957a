"""One driver for every algorithm: jitted ``lax.scan`` chunks, progress between chunks.

The key of step t is ``fold_in(key, t)`` and the last chunk is padded with
masked no-op steps (fixed chunk shapes), so the trajectory does not depend on
the chunk size and one compiled chunk serves the whole run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from landscape import parallel
from landscape._util import as_key, check_positive_int, is_concrete
from landscape.algorithms.base import Algorithm
from landscape.problem import Batch, check_batch


def _chunk_fn(algorithm: Algorithm, steps_per_chunk: int):
    def chunk(key, state, data, start, max_steps):
        def body(state, i):
            t = start + i
            new_state, info = algorithm.step(jax.random.fold_in(key, t), state, data)
            active = t < max_steps
            state = jax.tree.map(lambda a, b: jnp.where(active, a, b), new_state, state)
            return state, info

        return jax.lax.scan(body, state, jnp.arange(steps_per_chunk))

    return chunk


@functools.lru_cache(maxsize=64)
def _compiled(algorithm: Algorithm, steps_per_chunk: int, samples: bool, data_axis, per_device):
    chunk = _chunk_fn(algorithm, steps_per_chunk)
    solved = algorithm.solved
    if samples:
        chunk = parallel.sharded_vmap(
            chunk, in_axes=(0, 0, data_axis, None, None), per_device=per_device
        )
        solved = parallel.sharded_vmap(solved, in_axes=(0, data_axis), per_device=per_device)
    return jax.jit(chunk), jax.jit(solved)


def _check_data(data: Any, has_sample_axis: bool) -> None:
    """ValueError for concrete data with NaN/inf inputs or mismatched x/y lengths."""
    if not isinstance(data, Batch):
        return
    if has_sample_axis:
        if np.ndim(data.y) != 2 or np.shape(data.x)[:2] != np.shape(data.y):
            raise ValueError(
                f"data.x has shape {np.shape(data.x)} and data.y {np.shape(data.y)}; expected "
                "a leading sample axis and the same number of examples in both"
            )
        if is_concrete(data.x) and not np.all(np.isfinite(data.x)):
            raise ValueError("data.x contains NaN or inf; expected finite inputs")
        return
    check_batch(data, name="data")


def run(
    algorithm: Algorithm,
    key: jax.Array,
    state: Any,
    data: Any,
    max_steps: int,
    *,
    steps_per_chunk: int = 100,
    callback: Callable[[int, Any, Any], None] | None = None,
    stop_when_solved: bool = False,
    samples: bool = False,
    data_axis: int | None = 0,
    per_device: int | None = None,
) -> tuple[Any, Any]:
    """Run up to ``max_steps`` steps of `algorithm` in jitted chunks of ``steps_per_chunk`` steps.

    Args:
        algorithm: an `Algorithm` (init, step, solved).
        key: the run's key; step t uses ``fold_in(key, t)``.
        state: the initial state (``algorithm.init(...)``).
        data: passed to every step as an argument (never closed over).
        max_steps: the step budget (>= 1): all of them unless
            ``stop_when_solved`` stops earlier.
        steps_per_chunk: steps per compiled chunk; progress, callbacks and the
            stopping test happen between chunks.
        callback: ``callback(steps_done, state, chunk_infos)`` after each chunk.
        stop_when_solved: stop after the first chunk at whose end
            ``algorithm.solved`` holds (for every sample).
        samples: the state, key (and data, unless ``data_axis=None``) carry a
            leading ``sample`` axis (disorder instances or seeds); all samples
            run in one compiled call, vmapped and sharded over devices by
            `landscape.parallel`.
        data_axis: 0 if the data has a sample axis, None if shared by samples.
        per_device: samples vmapped at once per device (bounds memory);
            None follows `parallel.local_chunk` (a compiled scan over the
            samples on CPU, each device's whole share at once elsewhere), 1
            scans, k vmaps k at a time.

    Returns:
        ``(state, infos)``: the final state and the per-step Info stacked along
        a leading step axis (after the sample axis when ``samples``), as NumPy
        arrays, truncated to the steps actually run.

    Example:
        >>> import jax, optax
        >>> from landscape import algorithms, data, losses, models, Problem
        >>> batch = data.random_patterns(jax.random.key(0), n=20, p=10)
        >>> problem = Problem(models.perceptron(20), losses.hinge(0.0))
        >>> algo = algorithms.gradient(problem, optax.sgd(0.5))
        >>> state = algo.init(jax.random.key(1), problem.model.init(jax.random.key(2)))
        >>> state, infos = run(algo, jax.random.key(3), state, batch, 50, steps_per_chunk=20)
        >>> infos.loss.shape
        (50,)
    """
    _check_data(data, samples and data_axis == 0)
    key = as_key(key)
    max_steps = check_positive_int(max_steps, "max_steps")
    steps_per_chunk = check_positive_int(steps_per_chunk, "steps_per_chunk")
    steps_per_chunk = min(steps_per_chunk, max_steps)
    chunk, solved = _compiled(algorithm, steps_per_chunk, samples, data_axis, per_device)
    num_chunks = -(-max_steps // steps_per_chunk)
    infos = []
    done = 0
    bar = tqdm(total=max_steps, disable=None if num_chunks > 2 else True, leave=False)
    try:
        for c in range(num_chunks):
            start = jnp.asarray(c * steps_per_chunk, jnp.int32)
            state, info = chunk(key, state, data, start, jnp.asarray(max_steps, jnp.int32))
            steps = min(steps_per_chunk, max_steps - c * steps_per_chunk)
            info = jax.tree.map(
                lambda a, s=steps: np.asarray(a)[:, :s] if samples else np.asarray(a)[:s],
                info,
            )
            infos.append(info)
            done += steps
            bar.update(steps)
            if callback is not None:
                callback(done, state, info)
            if stop_when_solved and bool(np.all(np.asarray(solved(state, data)))):
                break
    finally:
        bar.close()
    axis = 1 if samples else 0
    stacked = jax.tree.map(lambda *xs: np.concatenate(xs, axis=axis), *infos)
    return state, stacked
