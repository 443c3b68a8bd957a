"""Minima of the spherical perceptron's quadratic hinge on the sphere, to machine precision.

``E(w) = (1/2) sum_mu max(0, kappa - y_mu xi_mu.w / sqrt(n))^2`` on
``|w|^2 = n`` (the soft-sphere energy of the perceptron; Franz & Parisi,
J. Phys. A 49, 145001 (2016)), minimised in float64 by L-BFGS until the
tangential gradient vanishes to ``grad_tol``. For kappa >= 0 the problem is
convex on the sphere's relevant cap and the minimum is the ground state; for
kappa < 0 it is non-convex and the result is what the minimiser found.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from landscape import parallel
from landscape._util import as_key, check_positive_int, x64
from landscape.exact.spherical import _check_patterns
from landscape.jamming import energy, num_unsatisfied


class SphereMinimum(NamedTuple):
    """Minima from several starts (leading sample axis if ``samples``).

    Attributes:
        weights: w on the sphere |w|^2 = n, (..., start, n).
        energy: E at each start's end point, (..., start).
        num_unsatisfied: N_Delta at each end point, (..., start).
        grad_norm: norm of the tangential gradient dE/dw on the sphere, (..., start).
        steps: L-BFGS steps taken, (..., start).
        converged: grad_norm <= grad_tol, (..., start).
    """

    weights: np.ndarray
    energy: np.ndarray
    num_unsatisfied: np.ndarray
    grad_norm: np.ndarray
    steps: np.ndarray
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


def _lbfgs_one(a, v0, kappa, max_steps, grad_tol):
    fn = functools.partial(_sphere_energy, a=a, kappa=kappa)
    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(fn)

    def cond(carry):
        v, _, it = carry
        return (it < max_steps) & (_tangent_grad_norm(v, a, kappa) > grad_tol)

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
def _compiled_sphere(samples: bool, starts: int, max_steps: int, grad_tol: float, per_device):
    def one(key, xi, y, kappa):
        a = y[:, None] * xi
        v0 = jax.random.normal(key, (starts, xi.shape[1]), dtype=xi.dtype)
        return jax.vmap(lambda v: _lbfgs_one(a, v, kappa, max_steps, grad_tol))(v0)

    if samples:
        return jax.jit(parallel.sharded_vmap(one, in_axes=(0, 0, 0, None), per_device=per_device))
    return jax.jit(one)


def minimize_sphere(
    key: jax.Array,
    xi,
    y,
    kappa: float,
    *,
    samples: bool = False,
    starts: int = 3,
    max_steps: int = 5000,
    grad_tol: float = 1e-9,
    per_device: int | None = None,
) -> SphereMinimum:
    """Minimise the quadratic hinge of the spherical perceptron on the sphere |w|^2 = n.

    ``E(w) = (1/2) sum_mu max(0, kappa - y_mu xi_mu.w / sqrt(n))^2`` with
    ``w = sqrt(n) v/|v|``: L-BFGS (optax, zoom line search) on v, rescaled to
    |v|^2 = n after each step, in float64 (scoped ``jax.enable_x64``), until the
    tangential gradient norm is below ``grad_tol`` or ``max_steps``, from
    ``starts`` random starts (Franz & Parisi 2016). No ball relaxation: the
    constraint is the sphere itself. For kappa < 0 the problem is non-convex and
    the result is what the minimiser found, not a certified ground state.

    Args:
        key: the starts' key (typed or legacy); with ``samples=True`` one key
            per sample, (sample,).
        xi: patterns (P, n), or (sample, P, n) with ``samples=True``.
        y: labels (P,) or (sample, P).
        kappa: the margin.
        samples: key, xi and y carry a leading ``sample`` axis (samples
            sharded over devices).
        starts: random starts per sample (>= 1).
        max_steps: L-BFGS step budget per start.
        grad_tol: tangential gradient tolerance.
        per_device: samples vmapped at once per device (None: backend policy;
            1: a compiled scan).

    Returns:
        `SphereMinimum` (NumPy), shapes (..., starts[, n]).

    Example:
        >>> import jax, numpy as np
        >>> xi, y = np.array([[1.0, 0.0]]), np.array([1.0])  # one pattern, margin 0.5
        >>> res = minimize_sphere(jax.random.key(0), xi, y, 0.5, starts=2)
        >>> res.weights.shape, round(float(res.energy.min()), 9), bool(res.converged.all())
        ((2, 2), 0.0, True)
    """
    key = as_key(key)
    starts = check_positive_int(starts, "starts")
    max_steps = check_positive_int(max_steps, "max_steps")
    if not np.isfinite(kappa):
        raise ValueError(f"kappa={kappa}; expected a finite margin")
    parallel.resolve_per_device(per_device, 1)  # ValueError now for a bad value
    _check_patterns(xi, y, samples)
    if samples and key.shape != np.shape(xi)[:1]:
        raise ValueError(
            f"key has shape {key.shape} with samples=True; expected one key per sample, "
            f"({np.shape(xi)[0]},)"
        )
    if not samples and key.shape != ():
        raise ValueError(f"key has shape {key.shape} with samples=False; expected one key")
    with x64():
        xi = jnp.asarray(xi, jnp.float64)
        y = jnp.asarray(y, jnp.float64)
        fn = _compiled_sphere(bool(samples), starts, max_steps, float(grad_tol), per_device)
        out = fn(key, xi, y, jnp.asarray(kappa, jnp.float64))
        return SphereMinimum(*(np.asarray(o) for o in out))
