"""Jamming: gaps, the quadratic-hinge energy, unsatisfied constraints, and the minimisers.

The quadratic hinge ``E = (1/2) sum_mu max(0, kappa - Delta_mu)^2`` is the
soft-sphere potential of the perceptron: each unsatisfied constraint
(``Delta_mu < kappa``) is a harmonic overlap. Past the SAT/UNSAT transition
the minimum has E > 0 and N_Delta constraints in contact; the jamming point
is where E first becomes positive (Franz & Parisi, J. Phys. A 49, 145001
(2016), "The simplest model of jamming"; Franz, Parisi, Sevelev, Urbani,
Zamponi, SciPost Phys. 2, 019 (2017); Geiger et al., PRE 100, 012115 (2019)).

- Observables: `gaps`, `energy`, `num_unsatisfied`, `gap_histogram`.
- The spherical perceptron on the sphere ``|w|^2 = n``: `minimize_sphere`
  (L-BFGS in float64 on the scale-invariant form, several starts).
- Replica-symmetric overlays (kappa >= 0): `rs_energy`, `rs_unsatisfied`,
  `gardner_capacity`.
- Networks (Geiger et al. 2019): `reduced_digits`, `train_to_jamming`,
  `hessian_spectrum`, `jamming_width`.
"""

from __future__ import annotations

import contextlib
import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from landscape import data as data_lib
from landscape import parallel
from landscape._util import check_positive_int
from landscape.problem import Batch, Model

GAMMA = 0.41269  # gap exponent: rho(h) ~ h^-gamma for small gaps h > 0 (kappa < 0 jamming)
THETA = 0.42311  # force exponent: P(f) ~ f^theta for small overlaps (kappa < 0 jamming)


def _x64():
    return contextlib.nullcontext() if jax.config.jax_enable_x64 else jax.enable_x64(True)


# --------------------------------------------------------------------------------------------
# Observables
# --------------------------------------------------------------------------------------------


def gaps(w: jax.Array, xi: jax.Array, y: jax.Array) -> jax.Array:
    """Perceptron gaps Delta_mu = y_mu xi_mu.w' / sqrt(n) with w' = sqrt(n) w/|w| on the sphere.

    Equals ``y xi.w / |w|``. Shapes: w (n,), xi (P, n), y (P,) -> (P,).

    Example:
        >>> import jax.numpy as jnp
        >>> gaps(jnp.array([3.0, 4.0]), jnp.array([[2.0, 0.0]]), jnp.array([-1.0])).tolist()
        [-1.2000000476837158]
    """
    return y * (xi @ w) / jnp.linalg.norm(w)


def energy(delta: jax.Array, kappa: float) -> jax.Array:
    """Quadratic-hinge energy E = (1/2) sum_mu max(0, kappa - Delta_mu)^2 (scalar); delta (..., P).

    Example:
        >>> import jax.numpy as jnp
        >>> float(energy(jnp.array([0.0, 2.0]), 1.0))
        0.5
    """
    return 0.5 * jnp.sum(jax.nn.relu(kappa - delta) ** 2, axis=-1)


def num_unsatisfied(delta: jax.Array, kappa: float) -> jax.Array:
    """N_Delta = #{mu : Delta_mu < kappa}, the number of overlaps (contacts); delta (..., P)."""
    return jnp.sum(delta < kappa, axis=-1)


def gap_histogram(delta, kappa: float, bins: int = 30, low: float = 1e-4, high: float = 10.0):
    """Log-binned densities of the gaps h = Delta - kappa > 0 and of the overlaps -h > 0.

    Near jamming at kappa < 0 the gap density behaves as rho(h) ~ h^-gamma and the
    overlap (force) density as h^theta (gamma = 0.41269, theta = 0.42311; Franz
    et al. 2017). Densities are per constraint (normalised by the total number of
    gaps in ``delta``, all axes pooled).

    Returns:
        dict with ``edges`` (bins+1,), ``centers`` (bins,), ``gaps`` and
        ``overlaps`` densities (bins,), as NumPy arrays.
    """
    h = np.ravel(np.asarray(delta, np.float64)) - kappa
    edges = np.geomspace(low, high, bins + 1)
    widths = np.diff(edges)
    total = max(h.size, 1)
    pos, _ = np.histogram(h[h > 0], edges)
    neg, _ = np.histogram(-h[h < 0], edges)
    return {
        "edges": edges,
        "centers": np.sqrt(edges[1:] * edges[:-1]),
        "gaps": pos / (total * widths),
        "overlaps": neg / (total * widths),
    }


# --------------------------------------------------------------------------------------------
# Replica-symmetric theory (kappa >= 0)
# --------------------------------------------------------------------------------------------


def _phi(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def gardner_capacity(kappa: float) -> float:
    """Gardner's capacity alpha_c(kappa) = 1 / int_{-kappa}^inf Dt (t + kappa)^2.

    Closed form: 1 / [(1 + kappa^2) Phi(kappa) + kappa phi(kappa)] (Gardner 1988);
    alpha_c(0) = 2, alpha_c(1) = 0.5196.

    Example:
        >>> round(gardner_capacity(1.0), 4)
        0.5196
    """
    density = math.exp(-0.5 * kappa * kappa) / math.sqrt(2 * math.pi)
    return 1.0 / ((1.0 + kappa * kappa) * _phi(kappa) + kappa * density)


def rs_energy(alpha: float, kappa: float) -> float:
    """RS ground-state energy per N of the quadratic hinge, (1/2)(sqrt(alpha/alpha_c) - 1)^2.

    Zero-temperature RS (q -> 1, chi = beta(1 - q) finite): each pattern with
    field t < kappa costs (kappa - t)^2 / (2(1 + chi)), giving
    e(chi) = alpha / (2 alpha_c(kappa) (1 + chi)) - 1/(2 chi); its extremum at
    chi = 1/(sqrt(alpha/alpha_c) - 1) is the formula, 0 below alpha_c.
    Exact for kappa >= 0 (Franz & Parisi 2016; Gardner & Derrida 1988).
    """
    ratio = alpha / gardner_capacity(kappa)
    return 0.5 * (math.sqrt(ratio) - 1.0) ** 2 if ratio > 1 else 0.0


def rs_unsatisfied(alpha: float, kappa: float) -> float:
    """RS fraction N_Delta / N = alpha Phi(kappa) of unsatisfied constraints, for alpha > alpha_c.

    At the RS minimum a pattern is in contact iff its field t < kappa
    (probability Phi(kappa)); so at jamming N_Delta/N = alpha_c(kappa) Phi(kappa),
    1 at kappa = 0 (isostatic) and < 1 for kappa > 0 (hypostatic; Franz & Parisi 2016).
    """
    return alpha * _phi(kappa) if alpha > gardner_capacity(kappa) else 0.0


# --------------------------------------------------------------------------------------------
# Spherical perceptron: energy minimisation on the sphere
# --------------------------------------------------------------------------------------------


class SphereMinimum(NamedTuple):
    """Minima from several starts (leading sample axis if the input had one).

    Attributes:
        weights: w on the sphere |w|^2 = n, (..., start, n).
        energy: E at each start's end point, (..., start).
        num_unsatisfied: N_Delta at each end point, (..., start).
        grad_norm: norm of the tangential gradient dE/dw on the sphere, (..., start).
        iterations: L-BFGS iterations, (..., start).
        converged: grad_norm <= grad_tol, (..., start).
    """

    weights: np.ndarray
    energy: np.ndarray
    num_unsatisfied: np.ndarray
    grad_norm: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray


def _sphere_energy(v, a, kappa):
    delta = (a @ v) / jnp.linalg.norm(v)
    return energy(delta, kappa)


def _tangent_grad_norm(v, a, kappa):
    """|dE/dw projected on the sphere| at w = sqrt(n) v/|v|; a (P, n) rows y xi."""
    n = v.shape[0]
    w = jnp.sqrt(n) * v / jnp.linalg.norm(v)
    delta = (a @ w) / jnp.sqrt(n)
    g = -(a.T @ jax.nn.relu(kappa - delta)) / jnp.sqrt(n)
    g = g - (g @ w) * w / n
    return jnp.linalg.norm(g)


def _lbfgs_one(a, v0, kappa, max_iters, grad_tol):
    fn = functools.partial(_sphere_energy, a=a, kappa=kappa)
    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(fn)

    def cond(carry):
        v, _, it = carry
        return (it < max_iters) & (_tangent_grad_norm(v, a, kappa) > grad_tol)

    def body(carry):
        v, state, it = carry
        value, grad = value_and_grad(v, state=state)
        updates, state = opt.update(grad, state, v, value=value, grad=grad, value_fn=fn)
        v = optax.apply_updates(v, updates)
        # Keep |v|^2 = n (the energy is scale-invariant; this only fixes the scale).
        v = v * jnp.sqrt(v.shape[0]) / jnp.linalg.norm(v)
        return v, state, it + 1

    v0 = v0 * jnp.sqrt(v0.shape[0]) / jnp.linalg.norm(v0)
    v, _, it = jax.lax.while_loop(cond, body, (v0, opt.init(v0), jnp.zeros((), jnp.int32)))
    delta = (a @ v) / jnp.linalg.norm(v)
    gnorm = _tangent_grad_norm(v, a, kappa)
    return v, energy(delta, kappa), num_unsatisfied(delta, kappa), gnorm, it, gnorm <= grad_tol


@functools.lru_cache(maxsize=32)
def _compiled_sphere(batched: bool, starts: int, max_iters: int, grad_tol: float, chunk):
    def one(key, xi, y, kappa):
        a = y[:, None] * xi
        v0 = jax.random.normal(key, (starts, xi.shape[1]), dtype=xi.dtype)
        return jax.vmap(lambda v: _lbfgs_one(a, v, kappa, max_iters, grad_tol))(v0)

    if batched:
        return jax.jit(parallel.sharded_vmap(one, in_axes=(0, 0, 0, None), chunk_size=chunk))
    return jax.jit(one)


def minimize_sphere(
    key: jax.Array,
    xi,
    y,
    kappa: float,
    *,
    starts: int = 3,
    max_iters: int = 5000,
    grad_tol: float = 1e-9,
    chunk_size: int | None = None,
) -> SphereMinimum:
    """Minimise the quadratic hinge of the spherical perceptron on the sphere |w|^2 = n.

    ``E(w) = (1/2) sum_mu max(0, kappa - y_mu xi_mu.w / sqrt(n))^2`` with
    ``w = sqrt(n) v/|v|``: L-BFGS (optax, zoom line search) on v, rescaled to
    |v|^2 = n after each step, in float64 (scoped ``jax.enable_x64``), until the
    tangential gradient norm is below ``grad_tol`` or ``max_iters``, from
    ``starts`` random starts (Franz & Parisi 2016). No ball relaxation: the
    constraint is the sphere itself. For kappa < 0 the problem is non-convex and
    the result is what the minimiser found, not a certified ground state.

    Args:
        key: the starts' key (one per sample when xi has a sample axis: keys (sample,)).
        xi: patterns (P, n) or (sample, P, n).
        y: labels (P,) or (sample, P).
        kappa: the margin.
        starts: random starts per sample (>= 1).
        max_iters: L-BFGS iterations per start.
        grad_tol: tangential gradient tolerance.
        chunk_size: samples per vmapped chunk per device.

    Returns:
        `SphereMinimum` (NumPy), shapes (..., starts[, n]).
    """
    starts = check_positive_int(starts, "starts")
    max_iters = check_positive_int(max_iters, "max_iters")
    if not np.isfinite(kappa):
        raise ValueError(f"kappa={kappa}; expected a finite margin")
    with _x64():
        xi = jnp.asarray(xi, jnp.float64)
        y = jnp.asarray(y, jnp.float64)
        if xi.ndim not in (2, 3) or y.shape != xi.shape[:-1]:
            raise ValueError(f"xi has shape {xi.shape}, y {y.shape}; expected (P, n) with (P,)")
        batched = xi.ndim == 3
        if batched and (np.ndim(key) != 1 or key.shape[0] != xi.shape[0]):
            raise ValueError(f"key has shape {np.shape(key)}; expected one key per sample")
        fn = _compiled_sphere(batched, starts, max_iters, float(grad_tol), chunk_size)
        out = fn(key, xi, y, jnp.asarray(kappa, jnp.float64))
        return SphereMinimum(*(np.asarray(o) for o in out))


def perceptron_point(
    sample_keys: jax.Array,
    *,
    n: int,
    alpha: float,
    kappa: float,
    starts: int = 3,
    max_iters: int = 5000,
    grad_tol: float = 1e-9,
    bins: int = 30,
) -> tuple[dict, dict]:
    """Minimise every sample at load alpha; the row of a perceptron-jamming scan and arrays.

    Row: ``p``, ``energy_per_n`` and ``n_delta_per_n`` (best start per sample,
    mean over samples) with standard errors, ``energy_spread`` (mean over
    samples of max - min energy over starts, per n), ``fraction_converged``,
    ``max_norm_error`` (max | |w|^2/n - 1 |). Arrays: best ``weights`` (S, n),
    ``gaps`` (S, P), ``energies`` (S, starts).
    """
    from landscape import stats

    p = data_lib.num_patterns(alpha, n)
    with _x64():
        k_data, k_start = jax.vmap(lambda k: jax.random.split(k))(sample_keys).T
        batches = jax.vmap(lambda k: data_lib.random_patterns(k, n, p))(k_data)
        res = minimize_sphere(
            k_start,
            batches.x,
            batches.y,
            kappa,
            starts=starts,
            max_iters=max_iters,
            grad_tol=grad_tol,
        )
        best = np.argmin(res.energy, axis=1)
        idx = np.arange(len(best))
        w = res.weights[idx, best]
        delta = np.asarray(jax.vmap(gaps)(jnp.asarray(w), batches.x, batches.y))
    e = res.energy[idx, best] / n
    nd = res.num_unsatisfied[idx, best] / n
    e_mean, e_err = stats.mean_stderr(e)
    nd_mean, nd_err = stats.mean_stderr(nd)
    row = {
        "p": p,
        "energy_per_n": e_mean,
        "energy_per_n_stderr": e_err,
        "n_delta_per_n": nd_mean,
        "n_delta_per_n_stderr": nd_err,
        "energy_spread": float(np.mean(np.ptp(res.energy, axis=1)) / n),
        "fraction_converged": float(np.mean(res.converged)),
        "max_norm_error": float(np.max(np.abs(np.sum(w**2, axis=1) / n - 1.0))),
    }
    hist = gap_histogram(delta, kappa, bins=bins)
    row["hist_centers"] = hist["centers"].tolist()
    row["hist_gaps"] = hist["gaps"].tolist()
    row["hist_overlaps"] = hist["overlaps"].tolist()
    return row, {"weights": w, "gaps": delta, "energies": res.energy}


# --------------------------------------------------------------------------------------------
# Network jamming (Geiger et al. 2019)
# --------------------------------------------------------------------------------------------


def reduced_digits(p: int = 1000, dim: int = 10, seed: int = 0) -> Batch:
    """scikit-learn's 8x8 digits, PCA-reduced to ``dim`` components, parity labels +-1.

    The first ``p`` images of a fixed permutation (train and test pooled, 1797
    in all), projected on the top ``dim`` principal components and scaled to unit
    variance per component; y = +1 for even digits, -1 for odd (the parity task
    of Geiger et al. 2019). Shapes: x (p, dim) float64, y (p,) float64 (NumPy).
    """
    p = check_positive_int(p, "p")
    dim = check_positive_int(dim, "dim")
    train, test = data_lib.digits()
    x = np.concatenate([np.asarray(train.x), np.asarray(test.x)]).astype(np.float64)
    labels = np.concatenate([np.asarray(train.y), np.asarray(test.y)])
    if p > x.shape[0] or dim > x.shape[1]:
        raise ValueError(f"p={p}, dim={dim}; expected p <= {x.shape[0]}, dim <= {x.shape[1]}")
    order = np.random.default_rng(seed).permutation(x.shape[0])[:p]
    x, labels = x[order], labels[order]
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    z = x @ vt[:dim].T
    z = z / z.std(axis=0)
    return Batch(z, np.where(labels % 2 == 0, 1.0, -1.0))


class JammingRun(NamedTuple):
    """The end of one network-jamming run.

    Attributes:
        params: final parameters.
        num_unsatisfied: N_Delta (stabilities below the margin).
        loss: mean quadratic hinge over the unsatisfied patterns.
        steps: Adam steps taken.
        satisfied: stopped because N_Delta = 0 or the loss per unsatisfied
            pattern fell below the threshold.
    """

    params: Any
    num_unsatisfied: jax.Array
    loss: jax.Array
    steps: jax.Array
    satisfied: jax.Array


def train_to_jamming(
    model: Model,
    params,
    batch: Batch,
    *,
    margin: float = 1.0,
    learning_rate: float = 1e-4,
    min_learning_rate: float = 1e-7,
    decay_every: int = 10_000,
    max_steps: int | None = None,
    loss_threshold: float = 1e-10,
) -> JammingRun:
    """Geiger et al. (2019)'s protocol: Adam on the quadratic hinge of the unsatisfied patterns.

    Loss ``L = (1/N_Delta) sum_{mu: Delta_mu < margin} (1/2)(margin - Delta_mu)^2``,
    Adam with learning rate ``learning_rate`` divided by 10 every ``decay_every``
    steps down to ``min_learning_rate``; stops when N_Delta = 0 or L <
    ``loss_threshold`` (``satisfied``), or after ``max_steps`` (default: one
    period past the last decay). A pure, jittable function (lax.while_loop) in
    the dtype of ``params`` and ``batch``: run it under x64 for float64.
    """
    decades = max(0, round(math.log10(learning_rate / min_learning_rate)))
    if max_steps is None:
        max_steps = decay_every * (decades + 1)
    schedule = optax.exponential_decay(
        learning_rate,
        transition_steps=decay_every,
        decay_rate=0.1,
        staircase=True,
        end_value=min_learning_rate,
    )
    opt = optax.adam(schedule)

    def stats_of(prm):
        delta = batch.y * model.apply(prm, batch.x)
        unsat = delta < margin
        count = jnp.sum(unsat)
        loss = 0.5 * jnp.sum(jnp.where(unsat, (margin - delta) ** 2, 0.0))
        return loss / jnp.maximum(count, 1), count

    def loss_fn(prm):
        return stats_of(prm)[0]

    def done(prm):
        loss, count = stats_of(prm)
        return (count == 0) | (loss < loss_threshold)

    def cond(carry):
        prm, _, it = carry
        return (it < max_steps) & ~done(prm)

    def body(carry):
        prm, state, it = carry
        grads = jax.grad(loss_fn)(prm)
        updates, state = opt.update(grads, state, prm)
        return optax.apply_updates(prm, updates), state, it + 1

    prm, _, it = jax.lax.while_loop(
        cond, body, (params, opt.init(params), jnp.zeros((), jnp.int32))
    )
    loss, count = stats_of(prm)
    return JammingRun(prm, count, loss, it, done(prm))


def hessian_spectrum(model: Model, params, batch: Batch, margin: float = 1.0) -> np.ndarray:
    """Eigenvalues of the dense Hessian of the total quadratic hinge at params, ascending.

    ``H = d^2/dtheta^2 (1/2) sum_mu max(0, margin - Delta_mu)^2``, formed with
    ``jax.hessian`` on the flat parameter vector (N x N; meant for N up to a few
    thousand) and diagonalised by ``numpy.linalg.eigvalsh``. At jamming it has
    the characteristic spectrum of Geiger et al. (2019): a bulk of zero modes
    (N - N_Delta) and N_Delta positive eigenvalues.
    """
    from jax.flatten_util import ravel_pytree

    flat, unravel = ravel_pytree(params)

    def total(theta):
        delta = batch.y * model.apply(unravel(theta), batch.x)
        return 0.5 * jnp.sum(jax.nn.relu(margin - delta) ** 2)

    hess = np.asarray(jax.jit(jax.hessian(total))(flat), np.float64)
    return np.linalg.eigvalsh(0.5 * (hess + hess.T))


def jamming_width(num_params, fraction_jammed) -> float | None:
    """The jamming size N*: where the fraction of jammed runs crosses 1/2, interpolated in log N.

    ``num_params`` increasing (width axis), ``fraction_jammed`` in [0, 1].
    Returns None when the fraction never crosses 1/2 on the grid.
    """
    ns = np.asarray(num_params, np.float64)
    f = np.asarray(fraction_jammed, np.float64)
    for i in range(len(ns) - 1):
        if f[i] >= 0.5 > f[i + 1]:
            t = (f[i] - 0.5) / (f[i] - f[i + 1])
            return float(np.exp(np.log(ns[i]) + t * (np.log(ns[i + 1]) - np.log(ns[i]))))
    return None


def network_point(
    sample_keys: jax.Array,
    model: Model,
    batch: Batch,
    *,
    margin: float = 1.0,
    learning_rate: float = 1e-4,
    min_learning_rate: float = 1e-7,
    decay_every: int = 10_000,
    max_steps: int | None = None,
    loss_threshold: float = 1e-10,
    jammed_fraction: float = 0.1,
    hessian: bool = True,
    max_hessian_params: int = 3000,
) -> tuple[dict, dict]:
    """Run `train_to_jamming` from one initialisation per sample key (float64); summarise.

    All samples run in one vmapped call, sharded over devices, with the data
    shared. A run is *jammed* when it ends with N_Delta > ``jammed_fraction`` N
    (N the number of parameters), *unjammed* when it stopped satisfied, and
    *undecided* otherwise (it exhausted its step budget with few overlaps left).

    Returns:
        ``(row, arrays)``: row with ``num_params``, ``p``, ``p_over_n``,
        ``n_delta_per_n`` (mean, stderr), ``fraction_jammed``,
        ``fraction_unjammed``, ``undecided``, ``steps_mean``,
        ``loss_per_unsatisfied_mean`` and, when ``hessian`` and N is small
        enough, ``hessian_zero_modes`` (eigenvalues below 1e-8 of the largest)
        of the first sample; arrays with ``n_delta`` (S,), ``steps`` (S,) and
        ``hessian_eigenvalues`` (N,) when computed.
    """
    from landscape import stats
    from landscape.problem import num_params

    with _x64():
        batch = Batch(jnp.asarray(batch.x, jnp.float64), jnp.asarray(batch.y, jnp.float64))

        def one(key, b):
            params = jax.tree.map(lambda t: t.astype(jnp.float64), model.init(key))
            return train_to_jamming(
                model,
                params,
                b,
                margin=margin,
                learning_rate=learning_rate,
                min_learning_rate=min_learning_rate,
                decay_every=decay_every,
                max_steps=max_steps,
                loss_threshold=loss_threshold,
            )

        runs = jax.jit(parallel.sharded_vmap(one, in_axes=(0, None)))(sample_keys, batch)
        runs = jax.tree.map(np.asarray, runs)
        first = jax.tree.map(lambda t: t[0], runs.params)
        n_params = num_params(first)
        p = int(batch.y.shape[0])
        n_delta = runs.num_unsatisfied.astype(np.float64)
        jammed = (n_delta > jammed_fraction * n_params) & ~runs.satisfied
        unjammed = runs.satisfied
        nd_mean, nd_err = stats.mean_stderr(n_delta / n_params)
        row = {
            "num_params": n_params,
            "p": p,
            "p_over_n": p / n_params,
            "n_delta_per_n": nd_mean,
            "n_delta_per_n_stderr": nd_err,
            "fraction_jammed": float(np.mean(jammed)),
            "fraction_unjammed": float(np.mean(unjammed)),
            "undecided": int(np.sum(~jammed & ~unjammed)),
            "steps_mean": float(np.mean(runs.steps)),
            "loss_per_unsatisfied_mean": float(np.mean(runs.loss)),
        }
        arrays = {"n_delta": n_delta, "steps": np.asarray(runs.steps)}
        if hessian and n_params <= max_hessian_params:
            eig = hessian_spectrum(model, first, batch, margin)
            arrays["hessian_eigenvalues"] = eig
            scale = max(float(np.max(np.abs(eig))), 1e-300)
            row["hessian_zero_modes"] = int(np.sum(np.abs(eig) < 1e-8 * scale))
            row["hessian_first_n_delta"] = int(n_delta[0])
    return row, arrays
