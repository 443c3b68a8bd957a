"""Energies on flat coordinates: test potentials and a `Problem`'s full-batch loss.

An energy here is a pure JAX function ``energy_fn(x) -> scalar`` of a flat
float64 coordinate vector ``x`` of shape (d,). The factories return
``jax.tree_util.Partial`` objects: their numbers (a container radius, the
training data, ``l2``) are pytree leaves, so the compiled quench, hop and band
programs receive them as arguments and are reused for every energy built by
the same factory (data are never baked into a program).

- `muller_brown`: the 2-D Müller–Brown surface (Müller & Brown, Theor. Chim.
  Acta 53, 75 (1979)) with its three minima and two saddles.
- `lennard_jones`: an LJ cluster, epsilon = sigma = 1, optionally in GMIN's
  spherical container.
- `double_well`: a 1-D double well for the Metropolis tests.
- `problem_energy`: a `Problem`'s mean loss over the whole training set plus
  ``l2 |theta|^2`` over all parameters (Ballard et al., PCCP 2017).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jax.tree_util import Partial

from landscape._util import check_positive_int, x64
from landscape.problem import Batch, Problem

__all__ = [
    "MULLER_BROWN_MINIMA",
    "MULLER_BROWN_SADDLES",
    "FlatEnergy",
    "as_energy",
    "double_well",
    "lennard_jones",
    "muller_brown",
    "problem_energy",
]

# ----------------------------------------------------------------------------- argument checks


def _check_real(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    strict: bool = True,
    allow_inf: bool = False,
    expected: str | None = None,
) -> float:
    """``value`` as a float if it is a real number (not a bool or a string), else ValueError.

    ``minimum``: the value must be above it (``strict``) or at least it;
    ``allow_inf``: ``+inf`` passes; NaN never does. The message names ``name``
    and says what was expected (``expected``, or a description of the bounds).
    """
    if expected is None:
        bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum:g}"
        expected = f"a finite real number{bound}" + (" (inf allowed)" if allow_inf else "")
    dtype = getattr(value, "dtype", None)
    if isinstance(value, (bool, np.bool_)):
        number = False
    elif isinstance(value, (int, float, np.integer, np.floating)):
        number = True
    else:  # a 0-d array of a real dtype (a jax or numpy scalar array)
        number = (
            dtype is not None
            and np.ndim(value) == 0
            and (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating))
        )
    v = float(value) if number else float("nan")
    ok = number and not np.isnan(v) and (np.isfinite(v) or (allow_inf and v > 0))
    if ok and minimum is not None:
        ok = v > minimum if strict else v >= minimum
    if not ok:
        raise ValueError(f"{name}={value!r}; expected {expected}")
    return v


# ----------------------------------------------------------------------------- Müller–Brown

_MB_A = (-200.0, -100.0, -170.0, 15.0)
_MB_a = (-1.0, -1.0, -6.5, 0.7)
_MB_b = (0.0, 0.0, 11.0, 0.6)
_MB_c = (-10.0, -10.0, -6.5, 0.7)
_MB_X0 = (1.0, 0.0, -0.5, -1.0)
_MB_Y0 = (0.0, 0.5, 1.5, 1.0)

#: The three minima: name -> ((x, y), energy), from Newton iteration to |g| < 1e-12.
MULLER_BROWN_MINIMA: dict[str, tuple[tuple[float, float], float]] = {
    "A": ((-0.558223635, 1.441725842), -146.699517210),
    "B": ((-0.050010823, 0.466694105), -80.767818130),
    "C": ((0.623499405, 0.028037759), -108.166724117),
}
#: The two index-1 saddles: S1 joins A and B, S2 joins B and C.
MULLER_BROWN_SADDLES: dict[str, tuple[tuple[float, float], float]] = {
    "S1": ((-0.822001559, 0.624312803), -40.664843509),
    "S2": ((0.212486582, 0.292988325), -72.248940112),
}


def muller_brown(x: jax.Array) -> jax.Array:
    """The Müller–Brown potential at ``x = (x, y)``, shape (2,) -> scalar.

    ``V(x, y) = sum_k A_k exp(a_k (x - x0_k)^2 + b_k (x - x0_k)(y - y0_k) + c_k (y - y0_k)^2)``
    with the standard parameters A = (-200, -100, -170, 15), a = (-1, -1, -6.5, 0.7),
    b = (0, 0, 11, 0.6), c = (-10, -10, -6.5, 0.7), x0 = (1, 0, -0.5, -1),
    y0 = (0, 0.5, 1.5, 1) (Müller & Brown 1979). Minima and saddles are in
    `MULLER_BROWN_MINIMA` and `MULLER_BROWN_SADDLES`.

    Example:
        >>> round(float(muller_brown(jnp.array([-0.558223635, 1.441725842]))), 2)
        -146.7
    """
    dtype = jnp.result_type(x)
    amp, a, b, c, x0, y0 = (
        jnp.asarray(p, dtype) for p in (_MB_A, _MB_a, _MB_b, _MB_c, _MB_X0, _MB_Y0)
    )
    dx = x[0] - x0
    dy = x[1] - y0
    return jnp.sum(amp * jnp.exp(a * dx**2 + b * dx * dy + c * dy**2))


# ----------------------------------------------------------------------------- Lennard-Jones


def _lj_pairs(x: jax.Array) -> jax.Array:
    n = x.shape[0] // 3
    r = x.reshape(n, 3)
    i, j = np.triu_indices(n, k=1)
    diff = r[i] - r[j]
    r2 = jnp.sum(diff**2, axis=1)
    inv6 = 1.0 / r2**3
    return 4.0 * jnp.sum(inv6 * inv6 - inv6)


def _lj_container(radius: jax.Array, stiffness: jax.Array, x: jax.Array) -> jax.Array:
    n = x.shape[0] // 3
    r = x.reshape(n, 3)
    centred = r - jnp.mean(r, axis=0, keepdims=True)
    dist = jnp.sqrt(jnp.sum(centred**2, axis=1) + 1e-300)
    excess = jax.nn.relu(dist - radius)
    return _lj_pairs(x) + stiffness * jnp.sum(excess**3)


def lennard_jones(
    n_atoms: int, *, container_radius: float | None = None, stiffness: float = 1e4
) -> Callable[[jax.Array], jax.Array]:
    """The Lennard-Jones cluster energy of ``n_atoms`` atoms, epsilon = sigma = 1.

    ``E(x) = 4 sum_{i<j} (r_ij^-12 - r_ij^-6)`` on ``x`` of shape (3 n_atoms,)
    (atom i at ``x[3i:3i+3]``). With ``container_radius`` R, atoms further than
    R from the centroid pay ``stiffness * (|r_i - c| - R)^3``, a stiff C2 wall
    that keeps evaporated atoms near the cluster as GMIN's spherical container
    does (Wales & Doye, J. Phys. Chem. A 101, 5111 (1997)); the wall is zero
    inside, so minima inside the container are those of the free cluster.
    The six zero modes (translations and rotations) stay.

    Returns a ``jax.tree_util.Partial`` (R and the stiffness are leaves).

    Example:
        >>> import numpy as np
        >>> energy = lennard_jones(2)
        >>> round(float(energy(jnp.array([0.0, 0, 0, 2 ** (1 / 6), 0, 0]))), 6)
        -1.0
    """
    check_positive_int(n_atoms, "n_atoms")
    if n_atoms < 2:
        raise ValueError(f"n_atoms={n_atoms}; expected at least 2 atoms")
    if container_radius is None:
        return Partial(_lj_pairs)
    radius = _check_real(
        container_radius, "container_radius", minimum=0.0, expected="a positive radius or None"
    )
    stiffness = _check_real(
        stiffness, "stiffness", minimum=0.0, expected="a positive wall stiffness"
    )
    return Partial(_lj_container, np.float64(radius), np.float64(stiffness))


# ----------------------------------------------------------------------------- double well


def _double_well(barrier: jax.Array, asymmetry: jax.Array, x: jax.Array) -> jax.Array:
    return barrier * (x[0] ** 2 - 1.0) ** 2 + asymmetry * x[0]


def double_well(barrier: float = 1.0, asymmetry: float = 0.25) -> Callable[[jax.Array], jax.Array]:
    """A 1-D double well ``E(x) = barrier (x^2 - 1)^2 + asymmetry x`` on x of shape (1,).

    Two minima near x = -1 and x = +1 (the one at -1 lower for a positive
    asymmetry, by about ``2 asymmetry``) and a barrier near x = 0; find the
    exact minima with `landscape.energy.stationary.newton_polish`.
    Returns a ``jax.tree_util.Partial``.
    """
    barrier = _check_real(barrier, "barrier", minimum=0.0, expected="a positive barrier height")
    asymmetry = _check_real(asymmetry, "asymmetry", expected="a finite real number")
    if not abs(asymmetry) < 2 * barrier:
        raise ValueError(
            f"asymmetry={asymmetry}; expected |asymmetry| < 2 barrier so that both wells exist"
        )
    return Partial(_double_well, np.float64(barrier), np.float64(asymmetry))


# ----------------------------------------------------------------------------- problems


class FlatEnergy(NamedTuple):
    """A `Problem`'s energy on flat parameters.

    Attributes:
        energy_fn: ``(d,) -> scalar``, a ``jax.tree_util.Partial`` holding the data and l2.
        x0: the flat float64 parameters it was built from, (d,).
        unravel: flat vector (d,) -> parameter pytree (float64).
        kappa: the margin of a quadratic-hinge loss (else None): minima with a
            stability within 1e-8 of kappa sit on the loss's C1 kink
            (`near_kink` counts them).
        stabilities: ``(d,) -> (P,)`` the training stabilities at x (a Partial).
    """

    energy_fn: Callable[[jax.Array], jax.Array]
    x0: jax.Array
    unravel: Callable[[jax.Array], Any]
    kappa: float | None = None
    stabilities: Callable[[jax.Array], jax.Array] | None = None

    def near_kink(self, x: jax.Array, tol: float = 1e-8) -> int:
        """Number of training stabilities within `tol` of kappa at x (0 without a kink)."""
        if self.kappa is None or self.stabilities is None:
            return 0
        with x64():
            delta = np.asarray(jax.jit(self.stabilities)(jnp.asarray(x, jnp.float64)))
        return int(np.sum(np.abs(delta - self.kappa) <= tol))


def _kappa_of(name: str) -> float | None:
    match = re.search(r"kappa=([-+0-9.eE]+)", name)
    return float(match.group(1)) if match else None


def problem_energy(
    problem: Problem, params: Any, data: Batch | None = None, *, l2: float
) -> FlatEnergy:
    """The energy ``E(theta) = (1/P) sum_mu loss_mu(theta) + l2 |theta|^2`` on flat parameters.

    The mean is over the whole training set `data` (default ``problem.data``)
    and the penalty over all parameters (so a softmax's logit shift is not a
    zero mode), in float64 (Ballard et al., "Energy landscapes for machine
    learning", PCCP 19, 12585 (2017)). The 0/1 error and the hinge are refused
    (their Hessians vanish or do not exist); the quadratic hinge is accepted
    (C1: `FlatEnergy.near_kink` flags minima on the kink).

    The spherical perceptron (`landscape.models.perceptron`, output
    ``w.x / |w|``) is scale-invariant; use it with ``l2=0``. Then the
    Euclidean Hessian at a critical point has ``w`` as an exact null vector
    (``H w = -g = 0``) and equals the Riemannian Hessian on the sphere
    ``|w| = const`` on the tangent space, so `landscape.energy.stationary.index`
    reports the sphere's index with one radial zero mode.

    Shapes: params a pytree with d scalars in all; the returned ``x0`` is (d,).
    """
    if not isinstance(problem, Problem):
        raise ValueError(f"problem has type {type(problem).__name__}; expected a Problem")
    name = problem.loss_fn.name
    if name == "error" or name.startswith("hinge"):
        raise ValueError(
            f"problem.loss_fn={name!r} is not differentiable; expected a smooth loss "
            "(quadratic_hinge, squared, cross_entropy)"
        )
    if not (isinstance(l2, (int, float, np.floating)) and np.isfinite(l2) and l2 >= 0):
        raise ValueError(f"l2={l2!r}; expected a finite number >= 0")
    data = problem.data if data is None else data
    if data is None:
        raise ValueError("data is None and problem.data is None; expected a training Batch")
    with x64():
        params64 = jax.tree.map(lambda p: jnp.asarray(p, jnp.float64), params)
        x0, unravel = ravel_pytree(params64)
        y = np.asarray(data.y)
        y = y.astype(np.float64) if np.issubdtype(y.dtype, np.floating) else y
        batch = Batch(np.asarray(data.x, np.float64), y)

    def energy(batch, l2, x):
        return problem.loss(unravel(x), Batch(*batch)) + l2 * jnp.dot(x, x)

    def stabilities(batch, x):
        return problem.stabilities(unravel(x), Batch(*batch))

    return FlatEnergy(
        Partial(energy, tuple(batch), np.float64(l2)),
        x0,
        unravel,
        _kappa_of(name) if name.startswith("quadratic_hinge") else None,
        Partial(stabilities, tuple(batch)),
    )


def as_energy(energy_fn: Any, name: str = "energy_fn") -> Partial:
    """``energy_fn`` as a ``jax.tree_util.Partial`` (a pytree jitted code takes as an argument).

    A `FlatEnergy` gives its ``energy_fn``; a Partial is returned unchanged; any
    other callable is wrapped (its identity is then the compile-cache key).
    """
    if isinstance(energy_fn, FlatEnergy):
        energy_fn = energy_fn.energy_fn
    if isinstance(energy_fn, Partial):
        return energy_fn
    if not callable(energy_fn):
        raise ValueError(f"{name} has type {type(energy_fn).__name__}; expected a callable")
    return Partial(energy_fn)
