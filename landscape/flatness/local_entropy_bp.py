"""Local entropy of binary perceptron solutions around a reference, by belief propagation.

Franz-Parisi potential at coupling gamma (Huang & Kabashima 2014; Baldassi et
al., PRL 115, 128101 (2015), PNAS 2016) as a tilted free entropy:
phi(gamma) = (1/n) log sum_{w in SOL} exp(gamma w . w_ref), evaluated by the
Bethe free entropy of plain BP (no focusing) with external fields gamma w_ref_i
(`landscape.algorithms.focusing_bp`'s core). S = (1/n) sum_i m_i w_ref_i is the
mean overlap with the reference, d = (1 - S)/2 the normalised Hamming
distance, and S_loc = phi - gamma S the local entropy at that distance.
With ``update="exact"`` it is exact on trees (one pattern, disjoint supports).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape import parallel
from landscape._util import check_positive_int, is_concrete
from landscape.algorithms.binary import check_kappa, check_probability
from landscape.algorithms.focusing_bp import (
    bethe_free_entropy,
    bp_sweep,
    cavity_fields,
    check_tol,
    check_update,
)


class LocalEntropyBP(NamedTuple):
    """`local_entropy_bp` per gamma: arrays (gamma,), or (sample, gamma) with ``samples``.

    Attributes:
        gammas: the couplings.
        free_entropy: phi(gamma) = (1/n) log sum_{w in SOL} exp(gamma w . w_ref) (Bethe).
        overlap: S = (1/n) sum_i m_i w_ref_i.
        distance: d = (1 - S) / 2.
        local_entropy: phi - gamma S.
        converged: whether BP met the tolerance within ``max_sweeps``.
        marginals: m_i = tanh H_i, (..., gamma, n).
    """

    gammas: jax.Array
    free_entropy: jax.Array
    overlap: jax.Array
    distance: jax.Array
    local_entropy: jax.Array
    converged: jax.Array
    marginals: jax.Array


def _check_values(x: Any, name: str, allowed: tuple[int, ...]) -> None:
    if not is_concrete(x):
        return
    a = np.asarray(x)
    bad = a[~np.isin(a, allowed)]
    if bad.size:
        raise ValueError(
            f"{name} has entries {bad[:3].tolist()}; expected values in {sorted(allowed)}"
        )


def _curve(xi, w_ref, gammas, damping, tol, *, kappa, update, max_sweeps):
    n = xi.shape[-1]

    def at_gamma(u, gamma):
        field = gamma * w_ref

        def cond(c):
            return (c[1] < max_sweeps) & (c[2] >= tol)

        def body(c):
            u, done, _ = c
            u, delta = bp_sweep(xi, u, field, damping, kappa=kappa, update=update)
            return u, done + 1, delta

        start = (u, jnp.array(0, jnp.int32), jnp.array(jnp.inf, u.dtype))
        u, _, delta = jax.lax.while_loop(cond, body, start)
        phi = bethe_free_entropy(xi, u, field, kappa=kappa, update=update) / n
        total, _ = cavity_fields(u, field)
        m = jnp.tanh(total)
        s = jnp.mean(m * w_ref)
        return u, (phi, s, delta < tol, m)

    u0 = jnp.zeros(xi.shape, xi.dtype)
    _, (phi, s, conv, m) = jax.lax.scan(at_gamma, u0, gammas)
    return LocalEntropyBP(gammas, phi, s, (1 - s) / 2, phi - gammas * s, conv, m)


@functools.partial(
    jax.jit, static_argnames=("kappa", "update", "max_sweeps", "samples", "per_device")
)
def _run(xi, w_ref, gammas, damping, tol, *, kappa, update, max_sweeps, samples, per_device):
    fn = functools.partial(_curve, kappa=kappa, update=update, max_sweeps=max_sweeps)
    if samples:
        fn = parallel.sharded_vmap(fn, in_axes=(0, 0, None, None, None), per_device=per_device)
    return fn(xi, w_ref, gammas, damping, tol)


def local_entropy_bp(
    xi: Any,
    w_ref: Any,
    gammas: Any,
    *,
    kappa: float = 0.0,
    update: str = "gaussian",
    max_sweeps: int = 1000,
    tol: float = 1e-6,
    damping: float = 0.5,
    samples: bool = False,
    per_device: int | None = None,
) -> LocalEntropyBP:
    """Tilted free entropy, overlap and local entropy around ``w_ref`` by BP, for every gamma.

    phi(gamma) = (1/n) log sum_{w in SOL} exp(gamma w . w_ref) by the Bethe free
    entropy of BP with external fields gamma w_ref_i, S = (1/n) sum_i m_i w_ref_i,
    d = (1 - S)/2, S_loc = phi - gamma S. SOL: Delta_mu = xi_mu . w > kappa sqrt(n)
    for all mu. The gammas are visited in order, each BP run started from the
    previous gamma's messages (the first from u = 0). At gamma = 0, phi is
    (1/n) log #SOL (exactly so on trees with ``update="exact"``).

    Args:
        xi: absorbed patterns (P, n) (``(sample, P, n)`` with ``samples``);
            entries in {-1, 0, +1}, a zero meaning "not connected".
        w_ref: the +-1 reference (n,) (``(sample, n)`` with ``samples``).
        gammas: the couplings (gamma,), finite.
        kappa: the margin.
        update: factor update, "gaussian" or "exact" (exact on trees, O(n^2) per factor).
        max_sweeps: BP sweeps per gamma at most.
        tol: message tolerance (max |delta tanh u|).
        damping: u <- damping u + (1 - damping) u_new, in [0, 1).
        samples: leading sample axis on xi and w_ref (mapped and sharded over
            devices by `landscape.parallel.sharded_vmap`).
        per_device: samples vmapped at once per device (see `landscape.parallel`).

    Returns:
        `LocalEntropyBP`, float in the default float dtype (float64 under x64).

    Example:
        >>> import jax.numpy as jnp
        >>> xi = jnp.ones((1, 5))
        >>> out = local_entropy_bp(xi, jnp.ones(5), jnp.array([0.0]), update="exact")
        >>> round(float(out.free_entropy[0]) * 5, 4), round(float(jnp.log(16.0)), 4)
        (2.7726, 2.7726)
    """
    kappa = check_kappa(kappa, nonnegative=False)
    update = check_update(update)
    max_sweeps = check_positive_int(max_sweeps, "max_sweeps")
    tol = check_tol(tol)
    damping = check_probability(damping, "damping")
    if damping == 1:
        raise ValueError("damping=1.0; expected damping in [0, 1) (1 never moves the messages)")
    _check_values(xi, "xi", (-1, 0, 1))
    _check_values(w_ref, "w_ref", (-1, 1))
    dtype = jnp.zeros(()).dtype
    xi = jnp.asarray(xi).astype(dtype)
    w_ref = jnp.asarray(w_ref).astype(dtype)
    gammas = jnp.asarray(gammas, dtype)
    want = 3 if samples else 2
    if xi.ndim != want or xi.shape[-2] == 0:
        hint = "(P, n) (samples=True for a leading sample axis)"
        if samples:
            hint = "(sample, P, n) with samples=True"
        raise ValueError(f"xi has shape {xi.shape}; expected {hint}")
    want_ref = xi.shape[:-2] + xi.shape[-1:]
    if w_ref.shape != want_ref:
        raise ValueError(
            f"w_ref has shape {w_ref.shape} and xi {xi.shape}; expected w_ref {want_ref}"
        )
    if gammas.ndim != 1 or (is_concrete(gammas) and not np.all(np.isfinite(np.asarray(gammas)))):
        raise ValueError(f"gammas has shape {gammas.shape}; expected finite couplings (gamma,)")
    parallel.resolve_per_device(per_device, 1)  # ValueError for a bad value
    return _run(
        xi,
        w_ref,
        gammas,
        damping,
        tol,
        kappa=kappa,
        update=update,
        max_sweeps=max_sweeps,
        samples=samples,
        per_device=per_device,
    )
