"""Stationary points of an energy: quenches (L-BFGS, FIRE), a Newton polish, the Hessian index.

- `minimize`: a quench to ``max_i |g_i| <= gtol`` by L-BFGS (``optax.lbfgs``
  with its zoom line search, Nocedal & Wright 2006, alg. 7.5) or FIRE (Bitzek,
  Koskinen, Gähler, Moseler & Gumbsch, PRL 97, 170201 (2006), in the form
  jax-md's ``fire_descent`` uses), in a ``lax.while_loop``, vmapped over
  starts and sharded over devices (`landscape.parallel.sharded_vmap`), then
  the Newton polish.
- `newton_polish`: Newton steps ``x <- x - H^+ g`` with the pseudo-inverse on
  the non-zero Hessian modes, to ``max |g_i| < 1e-10``: quasi-Newton quenches
  leave near-flat directions far off (and a database would count such a
  minimum twice); Newton converges quadratically to the nearby stationary
  point of any index, so it polishes saddles too.
- `index`: eigenvalues of the dense Hessian (``jax.hessian`` + ``eigh``) or,
  for large d, the extreme ones by thick-restart Lanczos
  (`landscape.curvature.thick_restart_lanczos`): the number of negative
  eigenvalues, the zero modes, and ``sum ln lambda`` over the positive ones.

Classification (relative to ``||H|| = max |lambda|``): ``lambda < -1e-6 ||H||``
is negative, ``|lambda| <= 1e-6 ||H||`` a zero mode (a symmetry: LJ's three
translations and three rotations, the sphere's radial direction); a point whose
smallest non-zero ``|lambda|`` is below ``100 x 1e-6 ||H|| = 1e-4 ||H||`` is
flagged ``marginal`` (within a factor 100 of the zero-mode threshold: the count
of zero modes there is not to be trusted). The issue's rule, "smallest
non-zero ``|lambda|`` below ``100 eps ||H||``", is read with ``eps`` the
zero-mode threshold 1e-6, not machine epsilon: ``100 x 2.2e-16 ||H||`` lies far
below the zero-mode cut ``1e-6 ||H||``, so every eigenvalue that small is
already a zero mode and the flag could never be raised.

Everything computes in float64 (a scoped `landscape._util.x64`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from landscape import parallel
from landscape._util import as_key, check_positive_int, x64
from landscape.energy.potentials import _check_real, as_energy

__all__ = [
    "MARGINAL_TOL",
    "ZERO_TOL",
    "Minimum",
    "Stationary",
    "classify_eigenvalues",
    "index",
    "minimize",
    "newton_polish",
]

#: Relative threshold of a zero mode: ``|lambda| <= ZERO_TOL * ||H||``.
ZERO_TOL = 1e-6
#: Relative threshold of a marginal point: smallest non-zero ``|lambda| < MARGINAL_TOL * ||H||``.
MARGINAL_TOL = 100 * ZERO_TOL
_METHODS = ("lbfgs", "fire")


class Minimum(NamedTuple):
    """The end of a quench (or a polish); leading axes follow the starts.

    Attributes:
        x: coordinates (..., d).
        energy: (...,), ``inf`` where the energy was not finite.
        grad_norm: ``max_i |g_i|`` at x, (...,).
        converged: (...,) bool: the gradient tolerance was met (and, after a
            polish, ``grad_norm < polish_tol``) with a finite energy.
        steps: descent steps plus Newton steps taken, (...,).
    """

    x: jax.Array
    energy: jax.Array
    grad_norm: jax.Array
    converged: jax.Array
    steps: jax.Array


class Stationary(NamedTuple):
    """Hessian classification of a stationary point; leading axes follow the points.

    Attributes:
        index: number of negative eigenvalues (0 at a minimum, 1 at a transition state).
        zero_modes: number of ``|lambda| <= 1e-6 ||H||``.
        marginal: the smallest non-zero ``|lambda|`` is below ``1e-4 ||H||``.
        log_product: ``sum ln lambda`` over the positive non-zero eigenvalues (the
            ``fvib`` of PATHSAMPLE); NaN on the Lanczos route.
        eigenvalues: (..., d) ascending on the dense route, None on the Lanczos route.
    """

    index: int | np.ndarray
    zero_modes: int | np.ndarray
    marginal: bool | np.ndarray
    log_product: float | np.ndarray
    eigenvalues: np.ndarray | None


# ----------------------------------------------------------------------------- helpers


def _max_abs(g: jax.Array) -> jax.Array:
    return jnp.max(jnp.abs(g))


def _hessian(energy_fn: Callable, x: jax.Array) -> jax.Array:
    h = jax.hessian(energy_fn)(x)
    return 0.5 * (h + h.T)


def classify_eigenvalues(
    eigenvalues: jax.Array, zero_tol: float = ZERO_TOL, marginal_tol: float = MARGINAL_TOL
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """``(index, zero_modes, marginal, log_product)`` of Hessian eigenvalues (..., d) (traceable).

    With ``s = max |lambda|``: negative ``lambda < -zero_tol s``, zero
    ``|lambda| <= zero_tol s``, marginal when ``min_{non-zero} |lambda| < marginal_tol s``,
    ``log_product = sum_{lambda > zero_tol s} ln lambda``.
    """
    lam = jnp.asarray(eigenvalues)
    scale = jnp.max(jnp.abs(lam), axis=-1, keepdims=True)
    zero = jnp.abs(lam) <= zero_tol * scale
    negative = lam < -zero_tol * scale
    positive = lam > zero_tol * scale
    smallest = jnp.min(jnp.where(zero, jnp.inf, jnp.abs(lam)), axis=-1)
    marginal = smallest < marginal_tol * scale[..., 0]
    log_product = jnp.sum(jnp.where(positive, jnp.log(jnp.where(positive, lam, 1.0)), 0.0), -1)
    return jnp.sum(negative, -1), jnp.sum(zero, -1), marginal, log_product


def _check_x(x0, name: str = "x0") -> np.ndarray:
    x = np.asarray(x0, dtype=np.float64)
    if x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise ValueError(f"{name} has shape {x.shape}; expected (d,) or (m, d) with d >= 1")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf; expected finite coordinates")
    return x


def _check_tol(value: float, name: str) -> float:
    if not (isinstance(value, (int, float, np.floating)) and value > 0 and np.isfinite(value)):
        raise ValueError(f"{name}={value!r}; expected a positive finite tolerance")
    return float(value)


# ----------------------------------------------------------------------------- descents


def _lbfgs(energy_fn, x0, gtol, max_steps, memory_size):
    solver = optax.lbfgs(memory_size=memory_size)
    value_and_grad = optax.value_and_grad_from_state(energy_fn)
    value, grad = jax.value_and_grad(energy_fn)(x0)
    state = solver.init(x0)

    def cond(carry):
        _, _, value, grad, step = carry
        return (step < max_steps) & (_max_abs(grad) > gtol) & jnp.isfinite(value)

    def body(carry):
        x, state, value, grad, step = carry
        updates, state = solver.update(grad, state, x, value=value, grad=grad, value_fn=energy_fn)
        x = optax.apply_updates(x, updates)
        value, grad = value_and_grad(x, state=state)
        return x, state, value, grad, step + 1

    x, _, value, grad, steps = jax.lax.while_loop(
        cond, body, (x0, state, value, grad, jnp.zeros((), jnp.int32))
    )
    return x, value, grad, steps


class _Fire(NamedTuple):
    x: jax.Array
    v: jax.Array
    f: jax.Array
    dt: jax.Array
    alpha: jax.Array
    n_pos: jax.Array
    step: jax.Array


def _fire(energy_fn, x0, gtol, max_steps, dt_start, dt_max):
    """FIRE: velocity Verlet (unit mass) with the velocity mixed toward the force.

    After each step, with P = F.v: ``v <- (1 - alpha) v + alpha |v| F/|F|``;
    P > 0 for more than N_min = 5 steps grows dt by 1.1 (to dt_max) and shrinks
    alpha by 0.99; P < 0 halves dt, resets alpha to 0.1 and zeroes v.
    """
    n_min, f_inc, f_dec, alpha_start, f_alpha = 5, 1.1, 0.5, 0.1, 0.99
    grad_fn = jax.grad(energy_fn)
    dtype = x0.dtype
    f0 = -grad_fn(x0)
    start = _Fire(
        x0,
        jnp.zeros_like(x0),
        f0,
        jnp.asarray(dt_start, dtype),
        jnp.asarray(alpha_start, dtype),
        jnp.zeros((), jnp.int32),
        jnp.zeros((), jnp.int32),
    )

    def cond(s):
        return (s.step < max_steps) & (_max_abs(s.f) > gtol) & jnp.all(jnp.isfinite(s.f))

    def body(s):
        x = s.x + s.dt * s.v + 0.5 * s.dt**2 * s.f
        f = -grad_fn(x)
        v = s.v + 0.5 * s.dt * (s.f + f)
        power = jnp.dot(f, v)
        f_norm = jnp.sqrt(jnp.dot(f, f) + 1e-300)
        v_norm = jnp.sqrt(jnp.dot(v, v))
        v = v + s.alpha * (f * (v_norm / f_norm) - v)
        n_pos = jnp.where(power >= 0, s.n_pos + 1, 0)
        grow = (power > 0) & (n_pos > n_min)
        dt = jnp.where(grow, jnp.minimum(s.dt * f_inc, dt_max), s.dt)
        alpha = jnp.where(grow, s.alpha * f_alpha, s.alpha)
        uphill = power < 0
        dt = jnp.where(uphill, dt * f_dec, dt)
        alpha = jnp.where(uphill, alpha_start, alpha)
        v = jnp.where(uphill, jnp.zeros_like(v), v)
        return _Fire(x, v, f, dt, alpha, n_pos, s.step + 1)

    end = jax.lax.while_loop(cond, body, start)
    return end.x, energy_fn(end.x), -end.f, end.step


def _newton(energy_fn, x, tol, max_steps, zero_tol):
    """Newton steps on the non-zero modes while they lower ``max |g|``; returns (x, g, steps)."""
    grad_fn = jax.grad(energy_fn)
    g = grad_fn(x)

    def cond(carry):
        _, g, step, improving = carry
        return improving & (step < max_steps) & (_max_abs(g) >= tol)

    def body(carry):
        x, g, step, _ = carry
        lam, vec = jnp.linalg.eigh(_hessian(energy_fn, x))
        keep = jnp.abs(lam) > zero_tol * jnp.max(jnp.abs(lam))
        coef = jnp.where(keep, (vec.T @ g) / jnp.where(keep, lam, 1.0), 0.0)
        x_new = x - vec @ coef
        e_new, g_new = jax.value_and_grad(energy_fn)(x_new)
        finite = jnp.isfinite(e_new) & jnp.all(jnp.isfinite(g_new))
        better = finite & (_max_abs(g_new) < _max_abs(g))
        x = jnp.where(better, x_new, x)
        g = jnp.where(better, g_new, g)
        return x, g, step + better.astype(jnp.int32), better

    finite = jnp.isfinite(energy_fn(x)) & jnp.all(jnp.isfinite(g))
    x, g, steps, _ = jax.lax.while_loop(cond, body, (x, g, jnp.zeros((), jnp.int32), finite))
    return x, g, steps


def _minimize_one(energy_fn, x0, gtol, max_steps, polish_tol, *, method, polish, options):
    if method == "lbfgs":
        x, value, grad, steps = _lbfgs(energy_fn, x0, gtol, max_steps, options["memory_size"])
    else:
        x, value, grad, steps = _fire(
            energy_fn, x0, gtol, max_steps, options["dt"], options["dt_max"]
        )
    converged = (_max_abs(grad) <= gtol) & jnp.isfinite(value)
    if polish:
        x, grad, polish_steps = _newton(energy_fn, x, polish_tol, options["polish_steps"], ZERO_TOL)
        value = energy_fn(x)
        steps = steps + polish_steps
        converged = converged & (_max_abs(grad) < polish_tol)
    finite = jnp.isfinite(value) & jnp.all(jnp.isfinite(grad))
    value = jnp.where(finite, value, jnp.inf)
    return Minimum(x, value, _max_abs(grad), converged & finite, steps)


@functools.partial(jax.jit, static_argnames=("method", "polish", "options", "per_device", "shard"))
def _minimize_jit(
    energy, x0, gtol, max_steps, polish_tol, *, method, polish, options, per_device, shard
):
    opts = dict(options)
    one = lambda x, e, a, b, c: _minimize_one(
        e, x, a, b, c, method=method, polish=polish, options=opts
    )
    if x0.ndim == 1:
        return one(x0, energy, gtol, max_steps, polish_tol)
    mapped = parallel.sharded_vmap(
        one, in_axes=(0, None, None, None, None), per_device=per_device, shard=shard
    )
    return mapped(x0, energy, gtol, max_steps, polish_tol)


def minimize(
    energy_fn: Callable[[jax.Array], jax.Array],
    x0: jax.Array,
    *,
    method: str = "lbfgs",
    gtol: float = 1e-6,
    max_steps: int = 10_000,
    polish: bool = True,
    polish_tol: float = 1e-10,
    memory_size: int = 10,
    dt: float = 0.1,
    dt_max: float | None = None,
    polish_steps: int = 50,
    per_device: int | None = None,
    shard: bool = True,
) -> Minimum:
    """Quench from every start to a local minimum: descent to ``max_i |g_i| <= gtol``, then polish.

    ``method="lbfgs"``: ``optax.lbfgs(memory_size)`` with its zoom line search
    (Nocedal & Wright 2006); ``"fire"``: FIRE (Bitzek et al., PRL 2006) with
    time step ``dt`` growing to ``dt_max`` (default ``4 dt``; choose ``dt`` for
    the energy's scale). Both run in a ``lax.while_loop`` of at most
    ``max_steps`` steps; with ``polish`` the result is Newton-polished
    (`newton_polish`) to ``max |g_i| < polish_tol``. A non-finite energy stops
    the quench with ``converged`` False and energy ``inf``.

    Shapes: ``x0`` (d,) or (m, d); with a leading m axis the starts are mapped
    in one compiled call, sharded over devices (`landscape.parallel.sharded_vmap`;
    ``per_device`` as there, ``shard=False`` keeps them on one device). The
    result's fields carry the same leading axis.

    Example:
        >>> from landscape.energy.potentials import muller_brown
        >>> m = minimize(muller_brown, jnp.array([-0.5, 1.5]))
        >>> [round(float(v), 6) for v in m.x], bool(m.converged)
        ([-0.558224, 1.441726], True)
    """
    if method not in _METHODS:
        raise ValueError(f"method={method!r}; expected one of {_METHODS}")
    x = _check_x(x0)
    gtol = _check_tol(gtol, "gtol")
    polish_tol = _check_tol(polish_tol, "polish_tol")
    max_steps = check_positive_int(max_steps, "max_steps")
    _check_tol(dt, "dt")
    dt_max = 4.0 * dt if dt_max is None else _check_tol(dt_max, "dt_max")
    options = (
        ("dt", float(dt)),
        ("dt_max", float(dt_max)),
        ("memory_size", check_positive_int(memory_size, "memory_size")),
        ("polish_steps", check_positive_int(polish_steps, "polish_steps")),
    )
    parallel.resolve_per_device(per_device, 1)
    energy = as_energy(energy_fn)
    with x64():
        out = _minimize_jit(
            energy,
            jnp.asarray(x, jnp.float64),
            jnp.float64(gtol),
            jnp.int32(max_steps),
            jnp.float64(polish_tol),
            method=method,
            polish=bool(polish),
            options=options,
            per_device=per_device,
            shard=bool(shard),
        )
    return out


@functools.partial(jax.jit, static_argnames=("per_device", "shard"))
def _polish_jit(energy, x, tol, max_steps, *, per_device, shard):
    def one(x, e, tol, max_steps):
        x, g, steps = _newton(e, x, tol, max_steps, ZERO_TOL)
        value = e(x)
        finite = jnp.isfinite(value) & jnp.all(jnp.isfinite(g))
        value = jnp.where(finite, value, jnp.inf)
        return Minimum(x, value, _max_abs(g), finite & (_max_abs(g) < tol), steps)

    if x.ndim == 1:
        return one(x, energy, tol, max_steps)
    mapped = parallel.sharded_vmap(
        one, in_axes=(0, None, None, None), per_device=per_device, shard=shard
    )
    return mapped(x, energy, tol, max_steps)


def newton_polish(
    energy_fn: Callable[[jax.Array], jax.Array],
    x: jax.Array,
    *,
    tol: float = 1e-10,
    max_steps: int = 50,
    per_device: int | None = None,
    shard: bool = True,
) -> Minimum:
    """Newton iteration ``x <- x - H^+(x) g(x)`` to the nearby stationary point, of any index.

    ``H^+`` is the pseudo-inverse on the eigenvectors with
    ``|lambda| > 1e-6 ||H||`` (zero modes, such as rigid-body motions, are
    left alone). A step is kept only if it lowers ``max |g_i|``; iteration
    stops at ``max |g_i| < tol``, after ``max_steps`` steps, or when no step
    helps (``converged`` False unless the tolerance was met); a start with a
    non-finite energy is left where it is. Newton converges
    quadratically from a start inside the stationary point's quadratic region,
    whatever its index, so saddles are polished too. Dense Hessian: for
    small d.

    Shapes: ``x`` (d,) or (m, d) (mapped and sharded like `minimize`).
    """
    x = _check_x(x, "x")
    tol = _check_tol(tol, "tol")
    max_steps = check_positive_int(max_steps, "max_steps")
    energy = as_energy(energy_fn)
    with x64():
        return _polish_jit(
            energy,
            jnp.asarray(x, jnp.float64),
            jnp.float64(tol),
            jnp.int32(max_steps),
            per_device=per_device,
            shard=bool(shard),
        )


# ----------------------------------------------------------------------------- index


@jax.jit
def _dense_eigenvalues(energy, x):
    if x.ndim == 1:
        return jnp.linalg.eigvalsh(_hessian(energy, x))
    return jax.lax.map(lambda y: jnp.linalg.eigvalsh(_hessian(energy, y)), x)


@functools.partial(jax.jit, static_argnames=("k",))
def _lanczos_extremes(energy, x, key, *, k):
    from landscape.curvature.eigen import thick_restart_lanczos

    hvp = lambda v: jax.jvp(jax.grad(energy), (x,), (v,))[1]
    k1, k2, k3 = jax.random.split(key, 3)
    v0 = jax.random.normal(k1, x.shape, x.dtype)
    low = thick_restart_lanczos(hvp, v0, k, which="smallest", key=k2)
    high = thick_restart_lanczos(hvp, v0, 1, which="largest", key=k3)
    return low.eigenvalues, high.eigenvalues[0], low.converged


def index(
    energy_fn: Callable[[jax.Array], jax.Array],
    x: jax.Array,
    *,
    method: str = "auto",
    zero_tol: float = ZERO_TOL,
    marginal_tol: float = MARGINAL_TOL,
    max_dense: int = 2000,
    num_eigenvalues: int = 20,
    key: jax.Array | None = None,
) -> Stationary:
    """Hessian index, zero modes, marginality and log-product of ``sum ln lambda`` at ``x``.

    ``method="dense"``: all eigenvalues of ``jax.hessian`` by ``eigh``;
    ``"lanczos"``: the ``num_eigenvalues`` smallest and the largest by
    thick-restart Lanczos on Hessian-vector products
    (`landscape.curvature.thick_restart_lanczos`), for large d; the index is
    then the count among the smallest (a lower bound when all of them are
    negative), ``log_product`` NaN and ``eigenvalues`` None; a Krylov space
    holds one vector per distinct eigenvalue, so a degenerate eigenvalue (several
    exact zero modes) is counted once there. ``"auto"`` is
    dense up to ``max_dense`` coordinates.

    Thresholds, relative to ``s = ||H|| = max |lambda|``: negative
    ``lambda < -zero_tol s``; zero mode ``|lambda| <= zero_tol s``
    (``zero_tol`` = 1e-6); ``marginal`` when the smallest non-zero
    ``|lambda|`` is below ``marginal_tol s`` with ``marginal_tol`` = 1e-4 =
    100 x ``zero_tol``. That is how this module reads the rule "below
    ``100 eps ||H||``": ``eps`` is the zero-mode threshold, not machine
    epsilon, because ``100 x 2.2e-16 ||H||`` is far under the zero-mode cut, so
    an eigenvalue that small is already counted as a zero mode and the flag
    would never be raised. A marginal point has a mode within a factor 100 of
    the zero-mode cut: its ``zero_modes`` (and so its index) is not to be
    trusted. Both tolerances must be finite and ``>= 0``.

    On the sphere: for a scale-invariant energy (the spherical perceptron with
    ``l2 = 0``) the Euclidean Hessian at a critical point satisfies
    ``H w = -g = 0``, so it is the Riemannian Hessian ``P (H - (w.g/|w|^2)) P``
    (Absil et al. 2008) on the tangent space plus one radial zero mode: the
    index reported here is the sphere's, with ``zero_modes`` counting the radial one.

    Shapes: ``x`` (d,) -> Python scalars and ``eigenvalues`` (d,); (m, d) ->
    arrays (m,) and (m, d) (dense route only).
    """
    if method not in ("auto", "dense", "lanczos"):
        raise ValueError(f"method={method!r}; expected 'auto', 'dense' or 'lanczos'")
    zero_tol = _check_real(zero_tol, "zero_tol", minimum=0.0, strict=False)
    marginal_tol = _check_real(marginal_tol, "marginal_tol", minimum=0.0, strict=False)
    x = _check_x(x, "x")
    d = x.shape[-1]
    if method == "auto":
        method = "dense" if d <= check_positive_int(max_dense, "max_dense") else "lanczos"
    energy = as_energy(energy_fn)
    with x64():
        if method == "dense":
            lam = np.asarray(_dense_eigenvalues(energy, jnp.asarray(x)))
            ind, zero, marg, logp = (
                np.asarray(v) for v in classify_eigenvalues(lam, zero_tol, marginal_tol)
            )
            if x.ndim == 1:
                return Stationary(int(ind), int(zero), bool(marg), float(logp), lam)
            return Stationary(ind, zero, marg, logp, lam)
        if x.ndim != 1:
            raise ValueError(f"x has shape {x.shape}; the Lanczos route takes one point (d,)")
        k = min(check_positive_int(num_eigenvalues, "num_eigenvalues"), d - 1)
        if k < 1:
            raise ValueError(f"x has d={d}; the Lanczos route needs d >= 2")
        key = jax.random.key(0) if key is None else as_key(key)
        low, high, _ = _lanczos_extremes(energy, jnp.asarray(x), key, k=k)
        low = np.asarray(low)
        scale = max(float(np.max(np.abs(low))), abs(float(high)))
        zero = np.abs(low) <= zero_tol * scale
        nonzero = np.abs(low[~zero])
        marginal = bool(nonzero.size and nonzero.min() < marginal_tol * scale)
        ind = int(np.sum(low < -zero_tol * scale))
        return Stationary(ind, int(np.sum(zero)), marginal, float("nan"), None)
