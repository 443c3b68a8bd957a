"""Local entropy: how many solutions surround a reference configuration.

Two estimators of the Franz-Parisi local entropy (Franz & Parisi 1995; Huang &
Kabashima 2014; Baldassi et al., PRL 2015 and PNAS 2016):

- `local_entropy_enumerated`: exact counting for binary weights, all 2^n sign
  vectors enumerated by `landscape.exact.enumerate_signs`;
- `local_entropy`: the replica / elastic-coupling estimate for any model, by
  Monte Carlo chains at a grid of couplings gamma and thermodynamic
  integration in gamma.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from landscape import parallel
from landscape._util import as_key, check_positive_int
from landscape.exact.enumeration import BLOCK_ELEMENTS, check_size, enumerate_signs
from landscape.stats import estimate


def local_entropy_enumerated(
    errors_fn: Callable[[Any, Any], jax.Array],
    reference: Any,
    batch: Any,
    n: int,
    *,
    block_elements: int = BLOCK_ELEMENTS,
) -> jax.Array:
    """Exact local entropy of binary weights around a reference, by enumeration.

    S(d) = (1/n) log #{w in {-1,+1}^n : errors_fn(w) = 0, Hamming(w, w_ref) = d},
    -inf where there is no such w (Franz-Parisi counting; Huang & Kabashima
    2014; Baldassi et al., PRL 2015). The counts are those of the package's one
    enumerator, `landscape.exact.enumerate_signs`: every flip set of the
    reference visited once, in blocks of ``block_elements`` sign vectors
    split over devices, so memory is that of one block.

    Args:
        errors_fn: ``errors_fn(w, batch) -> scalar`` with w shaped like
            ``reference``; zero means a solution (e.g. training error).
        reference: +-1 weights, any pytree with n entries in total.
        batch: passed to errors_fn.
        n: number of binary weights, 1 <= n <= 24.
        block_elements: sign vectors per block (rounded down to a power of two).

    Returns:
        (n + 1,) array: S(d) for d = 0..n.

    Example:
        >>> import jax.numpy as jnp
        >>> ok = lambda w, b: (jnp.sum(w) < 0).astype(jnp.float32)  # majority +1
        >>> s = local_entropy_enumerated(ok, jnp.ones(3), None, 3)
        >>> [round(float(v), 4) for v in s[:2]] + [float(s[3])]
        [0.0, 0.3662, -inf]
    """
    n = check_size(n, "n")
    flat, unravel = ravel_pytree(reference)
    if flat.size != n:
        raise ValueError(f"reference has {flat.size} entries; expected n={n}")

    def solution(w, data):
        wrong = jax.vmap(lambda v: errors_fn(unravel(v), data))(w)
        return wrong == 0, jnp.zeros(w.shape[:1], w.dtype)

    counts = enumerate_signs(solution, flat, batch, block_elements=block_elements).counts
    return jnp.where(counts > 0, jnp.log(jnp.maximum(counts, 1).astype(jnp.float32)) / n, -jnp.inf)


class LocalEntropy(NamedTuple):
    """The replica local-entropy estimate on a grid of couplings, shapes (G,), gamma ascending.

    Attributes:
        gammas: the couplings.
        distance: D = <|w - w_ref|^2> / (2N) at each gamma.
        distance_stderr: its standard error over independent chains.
        phi: Phi(gamma) = (1/N) log integral dw exp(-beta L(w) - (gamma/2)|w - w_ref|^2).
        phi_stderr: its standard error over independent chains.
        entropy: S(D) = Phi + gamma D, the local entropy at distance D.
        entropy_stderr: its standard error over independent chains.
        acceptance: mean Monte Carlo acceptance rate at each gamma.
        boundary: gamma_max D(gamma_max), which is 1/2 when gamma_max is large
            enough for the starting value of the integration to hold.
    """

    gammas: jax.Array
    distance: jax.Array
    distance_stderr: jax.Array
    phi: jax.Array
    phi_stderr: jax.Array
    entropy: jax.Array
    entropy_stderr: jax.Array
    acceptance: jax.Array
    boundary: jax.Array


def _chain(
    loss_fn, unravel, flat_ref, batch, gammas_desc, key, *, beta, num_steps, burn_in, step_size
):
    """One chain annealed from the largest gamma down; returns (msd (G,), acceptance (G,))."""
    hard = math.isinf(beta)
    loss = lambda v: loss_fn(unravel(v), batch)

    def energy(v, g):
        return beta * loss(v) + 0.5 * g * jnp.sum(jnp.square(v - flat_ref))

    grad_energy = jax.grad(energy)

    def mc_step(v, k, g):
        kz, ku = jax.random.split(k)
        z = jax.random.normal(kz, v.shape, v.dtype)
        if hard:
            # preconditioned Crank-Nicolson: leaves the Gaussian prior invariant,
            # rejection enforces the hard constraint L = 0.
            rho = step_size
            prop = flat_ref + jnp.sqrt(1 - rho**2) * (v - flat_ref) + rho * z / jnp.sqrt(g)
            accept = loss(prop) == 0
        else:
            # Metropolis-adjusted Langevin on beta L + (gamma/2)|w - w_ref|^2
            eta = step_size**2 / (g + beta)
            gv = grad_energy(v, g)
            prop = v - eta * gv + jnp.sqrt(2 * eta) * z
            gp = grad_energy(prop, g)
            log_q_fwd = -jnp.sum(jnp.square(prop - v + eta * gv)) / (4 * eta)
            log_q_bwd = -jnp.sum(jnp.square(v - prop + eta * gp)) / (4 * eta)
            log_a = energy(v, g) - energy(prop, g) + log_q_bwd - log_q_fwd
            accept = jnp.log(jax.random.uniform(ku, (), v.dtype)) < log_a
        v = jnp.where(accept, prop, v)
        return v, accept

    def at_gamma(v, inputs):
        g, kg = inputs

        def body(carry, t):
            v, msd, acc = carry
            v, a = mc_step(v, jax.random.fold_in(kg, t), g)
            keep = (t >= burn_in).astype(v.dtype)
            msd = msd + keep * jnp.sum(jnp.square(v - flat_ref))
            acc = acc + keep * a.astype(v.dtype)
            return (v, msd, acc), None

        zero = jnp.zeros((), v.dtype)
        (v, msd, acc), _ = jax.lax.scan(body, (v, zero, zero), jnp.arange(burn_in + num_steps))
        return v, (msd / num_steps, acc / num_steps)

    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(gammas_desc.shape[0]))
    _, (msd, acc) = jax.lax.scan(at_gamma, flat_ref, (gammas_desc, keys))
    return msd, acc


def local_entropy(
    key: jax.Array,
    loss_fn: Callable[[Any, Any], jax.Array],
    reference: Any,
    batch: Any,
    gammas: Any,
    *,
    beta: float = math.inf,
    num_chains: int = 8,
    num_steps: int = 200,
    burn_in: int = 100,
    step_size: float = 0.5,
    per_device: int | None = None,
) -> LocalEntropy:
    """Replica estimate of the local entropy around ``reference`` (Baldassi et al., PNAS 2016).

    Phi(gamma) = (1/N) log integral dw exp(-beta L(w) - (gamma/2)|w - w_ref|^2),
    dPhi/dgamma = -<|w - w_ref|^2>/(2N) = -D(gamma). Starting from
    Phi(gamma_max) ~ -(1/2) log(gamma_max / 2 pi) - beta L(w_ref)/N, Phi is
    integrated down the gamma grid (trapezoid rule in log gamma), and the local
    entropy at distance D is S(D) = Phi + gamma D (a Legendre transform).

    ``beta = inf``: the hard constraint L(w) = 0 (e.g. zero training error with
    ``loss_fn = problem.errors``), sampled with preconditioned Crank-Nicolson
    proposals w' = w_ref + sqrt(1 - rho^2)(w - w_ref) + rho z / sqrt(gamma),
    rho = ``step_size`` in (0, 1], rejected when they break the constraint; the
    reference must be a solution. Finite beta: Metropolis-adjusted Langevin on
    beta L + (gamma/2)|w - w_ref|^2 with step eta = step_size^2 / (gamma + beta)
    (a loss curvature of order 1 assumed; check ``acceptance``).

    Each of the ``num_chains`` independent chains starts at the reference and is
    annealed from the largest gamma down, ``burn_in`` then ``num_steps`` steps per
    gamma. The independent chains run along a leading ``sample`` axis mapped by
    `parallel.sharded_vmap` (``per_device`` chains at once per device; None:
    the backend policy of `parallel.local_chunk`). Every chain yields its own D(gamma), Phi and S;
    the standard errors are those of the mean over independent chains (not of
    correlated samples within a chain).

    Args:
        loss_fn: ``loss_fn(params, batch) -> scalar`` (for beta = inf: zero on solutions).
        reference: w_ref, any pytree of N real entries.
        batch: passed to loss_fn.
        gammas: couplings (G,), all > 0; the largest starts the integration.
        key: the chains' key (chain c uses ``fold_in(key, c)``), first and positional.
        beta: inverse temperature, > 0 (inf: hard constraint).
        num_chains: independent chains, >= 2 for standard errors.
        num_steps: measured steps per gamma.
        burn_in: discarded steps per gamma.
        step_size: rho (beta = inf) or the MALA step scale (finite beta).
        per_device: chains at once per device.

    Returns:
        `LocalEntropy`, fields (G,) with gamma ascending.
    """
    if not beta > 0:
        raise ValueError(f"beta={beta!r}; expected beta > 0 (inf for the hard constraint)")
    num_chains = check_positive_int(num_chains, "num_chains")
    num_steps = check_positive_int(num_steps, "num_steps")
    if isinstance(burn_in, bool) or not isinstance(burn_in, int) or burn_in < 0:
        raise ValueError(f"burn_in={burn_in!r}; expected an integer >= 0")
    if not step_size > 0 or (math.isinf(beta) and step_size > 1):
        raise ValueError(
            f"step_size={step_size!r}; expected 0 < step_size"
            + (" <= 1 for beta = inf" if math.isinf(beta) else "")
        )
    g = np.sort(np.asarray(gammas, dtype=float))
    if g.ndim != 1 or g.size < 2:
        raise ValueError(f"gammas has shape {g.shape}; expected a 1-D grid of >= 2 couplings")
    if not np.all(np.isfinite(g)) or np.any(g <= 0):
        raise ValueError(f"gammas={g.tolist()}; expected finite couplings gamma > 0")
    flat_ref, unravel = ravel_pytree(reference)
    n = flat_ref.size
    base = float(loss_fn(reference, batch))
    if math.isinf(beta) and base != 0:
        raise ValueError(
            f"reference has loss {base:.4g}; beta=inf needs a solution (loss 0) as reference"
        )
    dtype = flat_ref.dtype
    gammas_desc = jnp.asarray(g[::-1], dtype)
    key = as_key(key)
    chain_keys = jax.vmap(lambda c: jax.random.fold_in(key, c))(jnp.arange(num_chains))

    def one(k, flat_ref, batch, gammas_desc):
        return _chain(
            loss_fn,
            unravel,
            flat_ref,
            batch,
            gammas_desc,
            k,
            beta=beta,
            num_steps=num_steps,
            burn_in=burn_in,
            step_size=step_size,
        )

    run = jax.jit(parallel.sharded_vmap(one, in_axes=(0, None, None, None), per_device=per_device))
    msd, acc = run(chain_keys, flat_ref, batch, gammas_desc)
    msd = np.asarray(msd, dtype=float)[:, ::-1]  # (chains, G), gamma ascending
    acc = np.asarray(acc, dtype=float)[:, ::-1]
    d = msd / (2 * n)
    # Phi(g_k) = Phi(g_max) + integral_{g_k}^{g_max} D dgamma, in log gamma
    log_g = np.log(g)
    f = d * g[None, :]
    pieces = 0.5 * (f[:, 1:] + f[:, :-1]) * np.diff(log_g)[None, :]
    tail = np.concatenate(
        [np.cumsum(pieces[:, ::-1], axis=1)[:, ::-1], np.zeros((d.shape[0], 1))], 1
    )
    phi_max = -0.5 * math.log(g[-1] / (2 * math.pi)) - (
        0.0 if math.isinf(beta) else beta * base / n
    )
    phi = phi_max + tail
    s = phi + g[None, :] * d

    def mean_err(x):
        est = estimate(x)
        return jnp.asarray(est.mean), jnp.asarray(est.stderr)

    dm, de = mean_err(d)
    pm, pe = mean_err(phi)
    sm, se = mean_err(s)
    return LocalEntropy(
        jnp.asarray(g), dm, de, pm, pe, sm, se, jnp.asarray(acc.mean(axis=0)), dm[-1] * g[-1]
    )
