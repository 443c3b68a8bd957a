"""Local energy: how the training error of a minimum grows when its weights are perturbed.

Baldassi, Pittorino & Zecchina, "Shaping the learning landscape in neural
networks around wide flat minima", PNAS 2020: the local energy of a minimum w is

    delta_E(sigma) = E_z[ L(w ~ sigma z) ] - L(w),

the average increase of the training error L when the weights receive noise of
size sigma. Wide flat minima keep a small local energy up to larger sigma.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape import parallel
from landscape._util import as_key, check_params, check_positive_int, is_concrete
from landscape.stats import estimate

NOISE_KINDS = ("multiplicative", "additive", "flip")


class LocalEnergy(NamedTuple):
    """A local-energy curve over noise sizes, shapes (S,).

    Attributes:
        sigmas: the noise sizes.
        mean: the average of ``fn`` over perturbation samples at each sigma.
        stderr: the standard error of ``mean`` (independent samples).
        delta: ``mean - fn(params, batch)``, the local energy.
    """

    sigmas: jax.Array
    mean: jax.Array
    stderr: jax.Array
    delta: jax.Array


def perturb(key: jax.Array, params: Any, sigma: jax.Array, noise: str = "multiplicative") -> Any:
    """One perturbation of ``params`` of size ``sigma``; leaf i draws from ``fold_in(key, i)``.

    - ``"multiplicative"``: w_i -> w_i (1 + sigma z_i), z ~ N(0, 1), on every
      leaf, biases included; a zero weight (e.g. a zero-initialised bias) stays
      zero, and the noise is relative, so rescaling a ReLU layer by a and the
      next by 1/a leaves the local energy unchanged;
    - ``"additive"``: w -> w + sigma z |w_layer| / sqrt(n_layer), per leaf (layer);
    - ``"flip"``: each +-1 weight flips sign independently with probability sigma
      (u_i ~ U(0, 1), flipped where u_i < sigma).

    For a fixed key the noise z (or u) is the same for every sigma, so a curve
    over sigma uses common random numbers (flip sets are nested in sigma).
    """
    leaves, treedef = jax.tree.flatten(params)
    out = []
    for i, w in enumerate(leaves):
        k = jax.random.fold_in(key, i)
        dtype = jnp.result_type(w)
        s = jnp.asarray(sigma, dtype)
        if noise == "flip":
            u = jax.random.uniform(k, jnp.shape(w), dtype)
            out.append(jnp.where(u < s, -w, w))
            continue
        z = jax.random.normal(k, jnp.shape(w), dtype)
        if noise == "multiplicative":
            out.append(w * (1 + s * z))
        else:
            scale = jnp.linalg.norm(jnp.ravel(w)) / jnp.sqrt(jnp.asarray(max(w.size, 1), dtype))
            out.append(w + s * scale * z)
    return jax.tree.unflatten(treedef, out)


def _check(params, sigmas, noise) -> np.ndarray:
    if noise not in NOISE_KINDS:
        raise ValueError(f"noise={noise!r}; expected one of {NOISE_KINDS}")
    s = np.asarray(sigmas)
    if s.ndim != 1 or s.size == 0:
        raise ValueError(f"sigmas has shape {s.shape}; expected a non-empty 1-D array (S,)")
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError(f"sigmas={s.tolist()}; expected finite noise sizes >= 0")
    if noise == "flip":
        if np.any(s > 1):
            raise ValueError(f"sigmas={s.tolist()} with noise='flip'; expected 0 <= sigma <= 1")
        for path, leaf in jax.tree_util.tree_leaves_with_path(params):
            if not is_concrete(leaf):
                continue
            a = np.asarray(leaf)
            if not np.all(np.abs(a) == 1):
                raise ValueError(
                    f"params{jax.tree_util.keystr(path)} is not binary; noise='flip' expects "
                    "weights in {-1, +1} (pass jnp.sign of the latent weights)"
                )
    return s


def _build(fn, noise, num_samples, per_device):
    # per_device: None (a compiled scan, one pair at a time per device) or k (k pairs at once)
    def compute(params, batch, sigmas, key):
        num_sigmas = sigmas.shape[0]
        sample_keys = jax.vmap(lambda m: jax.random.fold_in(key, m))(jnp.arange(num_samples))
        flat_sigmas = jnp.repeat(sigmas, num_samples)
        flat_keys = jnp.tile(sample_keys, num_sigmas)

        def one(k, s, params, batch):
            return fn(perturb(k, params, s, noise), batch)

        total = num_sigmas * num_samples
        k = 1
        if per_device is not None:
            k, padded = parallel.even_chunks(total, per_device)
            (flat_keys, flat_sigmas), _ = parallel.pad_leading((flat_keys, flat_sigmas), padded)
        values = parallel.sharded_vmap(one, in_axes=(0, 0, None, None), per_device=k)(
            flat_keys, flat_sigmas, params, batch
        )
        values = values[:total].reshape(num_sigmas, num_samples)
        est = estimate(values, axis=1)
        base = fn(params, batch)
        return LocalEnergy(sigmas, est.mean, est.stderr, est.mean - base)

    return jax.jit(compute)


_build_cached = functools.lru_cache(maxsize=32)(_build)


def local_energy(
    key: jax.Array,
    fn: Callable[[Any, Any], jax.Array],
    params: Any,
    batch: Any,
    sigmas: Any,
    *,
    num_samples: int,
    noise: str = "multiplicative",
    per_device: int | None = None,
) -> LocalEnergy:
    """The local energy curve of a minimum: mean of fn(perturbed params) at every sigma.

    delta(sigma) = E_z[fn(w ~ sigma z, batch)] - fn(w, batch) with the noise of
    `perturb` (multiplicative on every leaf, biases included, zero weights
    staying zero; additive per layer; or sign flips of binary weights). For
    multiplicative noise and small sigma, delta ~ (sigma^2 / 2) tr(diag(w) H diag(w))
    (`landscape.curvature.invariant_trace`). Baldassi, Pittorino & Zecchina, PNAS 2020. The S x M
    (sigma, sample) pairs are one flat axis mapped by `parallel.sharded_vmap`
    (split over devices); sample m uses ``fold_in(key, m)`` at every sigma
    (common random numbers). ``stderr`` is the standard error over the M
    independent samples. Compiled once per (fn, noise, num_samples, chunking).

    Chunking changes only speed and memory, never which perturbations are
    drawn: every choice gives the same values (up to float rounding of
    batched products). ``None`` follows `parallel.local_chunk`: on CPU a
    compiled scan over the pairs, one at a time (vmapping per-sample weights
    turns the network's matrix products into batched ones, which XLA:CPU runs
    slower; see ``experiments/bench_replicas.py``), on accelerators each
    device's whole share vmapped at once. ``1`` always scans; an integer k
    vmaps k pairs at a time per device (k perturbed networks live at once),
    the pairs padded by `parallel.even_chunks` so every chunk is full.

    Args:
        key: the perturbations' key (typed or legacy), first and positional.
        fn: ``fn(params, batch) -> scalar``, e.g. ``problem.errors`` (training error).
        params: the minimum (any pytree).
        batch: passed to fn as an argument.
        sigmas: noise sizes (S,), >= 0 (and <= 1 for ``"flip"``).
        num_samples: perturbations per sigma, M.
        noise: "multiplicative", "additive" or "flip".
        per_device: ``None`` (default, see above), ``1`` (a compiled scan, one
            pair at a time) or k > 1 ((sigma, sample) pairs vmapped at once per device).

    Returns:
        `LocalEnergy` with fields (S,).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> fn = lambda p, b: jnp.sum(p["w"] ** 2)
        >>> le = local_energy(jax.random.key(0), fn, {"w": jnp.ones(4)}, None,
        ...                   jnp.array([0.0, 0.5]), num_samples=8)
        >>> le.delta.shape, float(le.delta[0])
        ((2,), 0.0)
    """
    num_samples = check_positive_int(num_samples, "num_samples")
    key = as_key(key)
    check_params(params)
    s = _check(params, sigmas, noise)
    dtype = jnp.result_type(*jax.tree.leaves(params))
    per_device = parallel.resolve_per_device(per_device, s.size * num_samples)
    try:
        compiled = _build_cached(fn, noise, num_samples, per_device)
    except TypeError:  # an unhashable fn (e.g. a bound method of a Problem holding arrays)
        compiled = _build(fn, noise, num_samples, per_device)
    return compiled(params, batch, jnp.asarray(s, dtype), key)
