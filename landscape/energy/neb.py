"""Transition states: climbing-image nudged elastic band, saddle refinement, descents.

- :func:`neb`: a band of images between two minima relaxed by FIRE on the
  nudged-elastic-band force, with the improved tangent (Henkelman & Jonsson,
  J. Chem. Phys. 113, 9978, 2000) and the climbing image (Henkelman,
  Uberuaga & Jonsson, J. Chem. Phys. 113, 9901, 2000). The images' energies
  and gradients are one vmapped call (`landscape.parallel.sharded_vmap`), the
  whole relaxation one compiled loop.
- :func:`refine_saddle`: hybrid eigenvector following (Munro & Wales, Phys.
  Rev. B 59, 3969, 1999) from a climbing image to an index-1 saddle, finished
  by `landscape.energy.stationary.newton_polish`.
- :func:`descend`: the two steepest-descent paths from a saddle, started on
  either side of its unstable mode, quenched to minima.

Not here: doubly-nudged springs, rates (transition-state theory), bands
between atomic clusters (they need permutation-and-rotation alignment).
Everything computes in float64 (scoped `landscape._util.x64`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from landscape import parallel
from landscape._util import as_key, check_positive_int, x64
from landscape.energy.potentials import _check_real, as_energy

Array = jax.Array


class NEBPath(NamedTuple):
    """Result of :func:`neb`.

    Attributes:
        images: ``(num_images, d)`` the relaxed band, endpoints included.
        energies: ``(num_images,)`` their energies.
        climbing_index: index of the highest interior image (the climbing
            image when ``climbing=True``).
        converged: whether the largest interior NEB force norm fell below ``ftol``.
        steps: FIRE steps taken.
        max_force: ``max_i |F_i|`` over the interior images at the end.
    """

    images: np.ndarray
    energies: np.ndarray
    climbing_index: int
    converged: bool
    steps: int
    max_force: float


class Saddle(NamedTuple):
    """Result of :func:`refine_saddle`.

    Attributes:
        x: ``(d,)`` the refined point.
        energy: its energy.
        grad_norm: ``max_i |dE/dx_i|`` there.
        index: number of negative Hessian eigenvalues (`stationary.index`).
        converged: ``grad_norm <= tol`` and ``index == 1``.
        eigenvector: ``(d,)`` unit eigenvector of the lowest Hessian eigenvalue.
        eigenvalue: that eigenvalue (negative at an index-1 saddle).
        zero_modes: number of zero Hessian modes.
        log_product: sum of ln(lambda) over the positive non-zero eigenvalues
            (the negative one excluded): PATHSAMPLE's ``fvib`` of the saddle.
        steps: eigenvector-following iterations before the Newton polish.
    """

    x: np.ndarray
    energy: float
    grad_norm: float
    index: int
    converged: bool
    eigenvector: np.ndarray
    eigenvalue: float
    zero_modes: int
    log_product: float
    steps: int


# --------------------------------------------------------------------------- NEB force


def improved_tangents(images: Array, energies: Array) -> Array:
    """Unit tangents ``(m - 2, d)`` at the interior images by the improved-tangent rule.

    With ``t+ = R_{i+1} - R_i`` and ``t- = R_i - R_{i-1}``: ``t+`` when
    ``V_{i+1} > V_i > V_{i-1}``, ``t-`` when ``V_{i+1} < V_i < V_{i-1}``, and at
    extrema ``t+ dV_max + t- dV_min`` (if ``V_{i+1} > V_{i-1}``) or
    ``t+ dV_min + t- dV_max`` (otherwise), with ``dV_max/min`` the larger and
    smaller of ``|V_{i+1} - V_i|`` and ``|V_{i-1} - V_i|`` (Henkelman & Jonsson
    2000, eqs. 8-11). Shapes: images ``(m, d)``, energies ``(m,)``.
    """
    plus = images[2:] - images[1:-1]
    minus = images[1:-1] - images[:-2]
    v_prev, v, v_next = energies[:-2], energies[1:-1], energies[2:]
    d_next, d_prev = jnp.abs(v_next - v), jnp.abs(v_prev - v)
    d_max, d_min = jnp.maximum(d_next, d_prev)[:, None], jnp.minimum(d_next, d_prev)[:, None]
    mixed = jnp.where(
        (v_next > v_prev)[:, None], plus * d_max + minus * d_min, plus * d_min + minus * d_max
    )
    up = ((v_next > v) & (v > v_prev))[:, None]
    down = ((v_next < v) & (v < v_prev))[:, None]
    tangent = jnp.where(up, plus, jnp.where(down, minus, mixed))
    norm = jnp.linalg.norm(tangent, axis=1, keepdims=True)
    return tangent / jnp.where(norm > 0, norm, 1.0)


def band_force(
    images: Array, energies: Array, grads: Array, spring: float, climbing: bool
) -> tuple[Array, Array]:
    """NEB forces ``(m, d)`` (zero at the fixed endpoints) and the climbing index.

    Interior image i: ``F_i = -(grad V_i - (grad V_i . t_i) t_i)
    + k (|R_{i+1} - R_i| - |R_i - R_{i-1}|) t_i``; the climbing image (the
    highest interior image, when ``climbing``) feels no spring and the
    inverted parallel force, ``F = -grad V + 2 (grad V . t) t``.
    """
    tangent = improved_tangents(images, energies)
    g = grads[1:-1]
    g_par = jnp.sum(g * tangent, axis=1, keepdims=True)
    lengths = jnp.linalg.norm(images[1:] - images[:-1], axis=1)
    spring_par = spring * (lengths[1:] - lengths[:-1])[:, None] * tangent
    nudged = -(g - g_par * tangent) + spring_par
    top = jnp.argmax(energies[1:-1])
    if climbing:
        climb = -g + 2.0 * g_par * tangent
        is_top = (jnp.arange(g.shape[0]) == top)[:, None]
        nudged = jnp.where(is_top, climb, nudged)
    zero = jnp.zeros_like(images[:1])
    return jnp.concatenate([zero, nudged, zero], axis=0), top + 1


def _value_and_grad(x, energy):
    return jax.value_and_grad(energy)(x)


def _energies_grads(energy, images, per_device, shard):
    """Every image's energy and gradient in one call, sharded over the devices."""
    fn = parallel.sharded_vmap(
        _value_and_grad, in_axes=(0, None), per_device=per_device, shard=shard
    )
    return fn(images, energy)


@functools.partial(jax.jit, static_argnames=("climbing", "per_device", "shard"))
def _neb_force_jit(energy, images, spring, climbing, per_device, shard):
    energies, grads = _energies_grads(energy, images, per_device, shard)
    force, top = band_force(images, energies, grads, spring, climbing)
    return force, energies, top


def neb_force(
    energy_fn: Callable[[Array], Array],
    images: Any,
    *,
    spring: float = 1.0,
    climbing: bool = True,
    per_device: int | None = None,
    shard: bool = True,
) -> tuple[np.ndarray, np.ndarray, int]:
    """The NEB force on a band, its images' energies and the climbing index (float64).

    The force of :func:`band_force`, with every image's energy and gradient from
    one vmapped call sharded over the devices (`landscape.parallel.sharded_vmap`).
    Shapes: images ``(m, d)`` with ``m >= 3``; returns ``((m, d), (m,), int)``.
    """
    with x64():
        images = _check_images(images)
        force, energies, top = _neb_force_jit(
            as_energy(energy_fn), images, float(spring), bool(climbing), per_device, bool(shard)
        )
        return np.asarray(force), np.asarray(energies), int(top)


def _check_images(images):
    images = jnp.asarray(images, jnp.float64)
    if images.ndim != 2 or images.shape[0] < 3:
        raise ValueError(
            f"images has shape {images.shape}; expected (num_images, d) with num_images >= 3"
        )
    return images


# --------------------------------------------------------------------------- FIRE on the band


class _FireState(NamedTuple):
    images: Array
    velocity: Array
    dt: Array
    alpha: Array
    positive_steps: Array
    step: Array
    max_force: Array


@functools.partial(
    jax.jit,
    static_argnames=("climbing", "per_device", "shard"),
)
def _neb_run(energy, images, spring, climbing, per_device, shard, max_steps, ftol, dt, max_move):
    """FIRE (Bitzek et al., PRL 97, 170201, 2006) on the NEB force, as one while loop."""
    dt_max, n_min, f_inc, f_dec, alpha_start, f_alpha = 10.0 * dt, 5, 1.1, 0.5, 0.1, 0.99

    def force_of(x):
        energies, grads = _energies_grads(energy, x, per_device, shard)
        force, _ = band_force(x, energies, grads, spring, climbing)
        return force, energies

    def max_norm(force):
        return jnp.max(jnp.linalg.norm(force[1:-1], axis=1))

    force0, energies0 = force_of(images)
    init = _FireState(
        images,
        jnp.zeros_like(images),
        jnp.asarray(dt, images.dtype),
        jnp.asarray(alpha_start, images.dtype),
        jnp.asarray(0),
        jnp.asarray(0),
        max_norm(force0),
    )

    def cond(carry):
        state = carry[0]
        return (state.step < max_steps) & (state.max_force > ftol)

    def body(carry):
        state, force, _ = carry
        v = state.velocity
        power = jnp.vdot(force, v)
        f_norm = jnp.linalg.norm(force)
        v_norm = jnp.linalg.norm(v)
        mixed = (1.0 - state.alpha) * v + state.alpha * v_norm * force / jnp.where(
            f_norm > 0, f_norm, 1.0
        )
        uphill = power < 0
        v = jnp.where(uphill, jnp.zeros_like(v), mixed)
        grow = (~uphill) & (state.positive_steps >= n_min)
        dt_new = jnp.where(
            uphill,
            state.dt * f_dec,
            jnp.where(grow, jnp.minimum(state.dt * f_inc, dt_max), state.dt),
        )
        alpha = jnp.where(uphill, alpha_start, jnp.where(grow, state.alpha * f_alpha, state.alpha))
        positive = jnp.where(uphill, 0, state.positive_steps + 1)
        v = v + dt_new * force
        move = dt_new * v
        longest = jnp.max(jnp.linalg.norm(move, axis=1))
        move = move * jnp.minimum(1.0, max_move / jnp.where(longest > 0, longest, 1.0))
        x = state.images + move
        new_force, energies = force_of(x)
        new = _FireState(x, v, dt_new, alpha, positive, state.step + 1, max_norm(new_force))
        return new, new_force, energies

    state, _, energies = jax.lax.while_loop(cond, body, (init, force0, energies0))
    top = jnp.argmax(energies[1:-1]) + 1
    return state.images, energies, top, state.step, state.max_force


def neb(
    energy_fn: Callable[[Array], Array],
    x_a: Any,
    x_b: Any,
    *,
    num_images: int = 16,
    spring: float = 1.0,
    climbing: bool = True,
    max_steps: int = 5_000,
    ftol: float = 1e-3,
    dt: float = 0.01,
    max_move: float | None = None,
    symmetry: Any = None,
    images: Any = None,
    per_device: int | None = None,
    shard: bool = True,
) -> NEBPath:
    """Climbing-image nudged elastic band between ``x_a`` and ``x_b`` (float64).

    ``num_images`` images (endpoints included, fixed) start on the straight
    line from ``x_a`` to ``x_b`` (or at ``images``) and relax by FIRE on the NEB
    force of :func:`band_force`: the true force perpendicular to the improved
    tangent plus springs of constant ``spring`` along it, ``F_i = -grad V_i|_perp
    + k (|R_{i+1} - R_i| - |R_i - R_{i-1}|) t_i``; the highest interior image
    climbs, ``F = -grad V + 2 (grad V . t) t`` (Henkelman & Jonsson 2000;
    Henkelman, Uberuaga & Jonsson 2000). It stops when every interior
    ``|F_i| <= ftol`` or after ``max_steps``. FIRE starts at time step ``dt``
    (at most ``10 dt``); no image moves more than ``max_move`` per step
    (default: a quarter of the initial image spacing; a given value must be
    > 0). With a ``symmetry``
    (`landscape.energy.symmetry`), ``x_b`` is first replaced by its group image
    closest to ``x_a`` (``symmetry.align(x_b, x_a)``).

    Every step evaluates all images in one vmapped call sharded over the
    devices (``per_device`` and ``shard`` as in `landscape.parallel.sharded_vmap`);
    the loop is one compiled ``lax.while_loop``.

    Shapes: ``x_a, x_b (d,)``; ``images (num_images, d)``.

    Example:
        >>> import jax.numpy as jnp
        >>> f = lambda x: (x[0] ** 2 - 1.0) ** 2 + 2.0 * x[1] ** 2
        >>> path = neb(f, jnp.array([-1.0, 0.0]), jnp.array([1.0, 0.0]), num_images=7,
        ...            dt=0.05)
        >>> round(float(path.energies[path.climbing_index]), 6)
        1.0
    """
    num_images = check_positive_int(num_images, "num_images")
    if num_images < 3:
        raise ValueError(f"num_images={num_images}; expected at least 3 (two endpoints + one)")
    max_steps = check_positive_int(max_steps, "max_steps")
    for name, value in (("spring", spring), ("ftol", ftol), ("dt", dt)):
        _check_real(value, name, minimum=0.0, expected="a positive number")
    if max_move is not None:
        max_move = _check_real(
            max_move, "max_move", minimum=0.0, expected="a positive step length or None"
        )
    if symmetry is not None and not callable(getattr(symmetry, "align", None)):
        raise ValueError(
            f"symmetry has type {type(symmetry).__name__}; expected None or a "
            "landscape.energy.symmetry Symmetry (an object with align(x, reference))"
        )
    with x64():
        x_a = _check_point(x_a, "x_a")
        x_b = _check_point(x_b, "x_b", x_a.shape[0])
        if symmetry is not None:
            x_b = jnp.asarray(symmetry.align(np.asarray(x_b), np.asarray(x_a)), jnp.float64)
        if images is None:
            t = jnp.linspace(0.0, 1.0, num_images)[:, None]
            band = (1.0 - t) * x_a[None, :] + t * x_b[None, :]
        else:
            band = _check_images(images)
            if band.shape != (num_images, x_a.shape[0]):
                raise ValueError(
                    f"images has shape {band.shape}; expected (num_images, d) = "
                    f"({num_images}, {x_a.shape[0]})"
                )
            band = band.at[0].set(x_a).at[-1].set(x_b)
        if max_move is None:
            spacing = float(jnp.linalg.norm(x_b - x_a)) / (num_images - 1)
            max_move = 0.25 * spacing if spacing > 0 else 0.1
        out = _neb_run(
            as_energy(energy_fn),
            band,
            float(spring),
            bool(climbing),
            per_device,
            bool(shard),
            jnp.asarray(max_steps),
            float(ftol),
            float(dt),
            float(max_move),
        )
        images_out, energies, top, steps, max_force = (np.asarray(v) for v in out)
    return NEBPath(
        images_out,
        energies,
        int(top),
        bool(max_force <= ftol),
        int(steps),
        float(max_force),
    )


def _check_point(x, name, dim=None):
    x = jnp.asarray(x, jnp.float64)
    if x.ndim != 1 or (dim is not None and x.shape[0] != dim):
        want = "(d,)" if dim is None else f"({dim},)"
        raise ValueError(f"{name} has shape {x.shape}; expected {want}")
    if not bool(jnp.all(jnp.isfinite(x))):
        raise ValueError(f"{name} contains NaN or inf; expected finite coordinates")
    return x


# --------------------------------------------------------------------------- saddle refinement


def _lowest_dense(energy_fn, x, v_prev, key):
    del v_prev, key
    hessian = jax.hessian(energy_fn)(x)
    values, vectors = jnp.linalg.eigh(0.5 * (hessian + hessian.T))
    return values[0], vectors[:, 0]


def _lowest_lanczos(energy_fn, x, v_prev, key):
    from landscape.curvature.eigen import thick_restart_lanczos

    grad = jax.grad(energy_fn)
    _, linearised = jax.linearize(grad, x)
    pairs = thick_restart_lanczos(linearised, v_prev, 1, which="smallest", key=key)
    return pairs.eigenvalues[0], pairs.eigenvectors[0]


def _lowest(energy_fn, x, v_prev, key, dense):
    return (_lowest_dense if dense else _lowest_lanczos)(energy_fn, x, v_prev, key)


class _LbfgsState(NamedTuple):
    x: Array
    energy: Array
    grad: Array
    s_hist: Array
    y_hist: Array
    count: Array
    step: Array
    stalled: Array


def _lbfgs(energy_fn, x, v, gamma0, memory, max_steps, max_step, gtol):
    """L-BFGS with a step cap and Armijo backtracking, in the hyperplane orthogonal to ``v``.

    ``v`` is a unit vector, or zeros for the whole space. No step is longer
    than ``max_step`` and every accepted step lowers the energy (as pele's
    L-BFGS), so a descent cannot jump across a ridge the way a long line search
    can. The first step is ``-gamma0 g``; it stops when ``max |P g| <= gtol``,
    after ``max_steps`` steps, or when no step lowers the energy.
    """
    value_and_grad = jax.value_and_grad(energy_fn)
    dim = x.shape[0]
    m = memory

    def proj(u):
        return u - jnp.dot(u, v) * v

    def direction(g, s_hist, y_hist, count):
        valid_n = jnp.minimum(count, m)

        def back(i, carry):
            q, alphas = carry
            j = (count - 1 - i) % m
            ok = i < valid_n
            sy = jnp.dot(s_hist[j], y_hist[j])
            a = jnp.where(ok, jnp.dot(s_hist[j], q) / jnp.where(ok, sy, 1.0), 0.0)
            return q - a * y_hist[j], alphas.at[j].set(a)

        q, alphas = jax.lax.fori_loop(0, m, back, (g, jnp.zeros(m, g.dtype)))
        last = (count - 1) % m
        sy, yy = jnp.dot(s_hist[last], y_hist[last]), jnp.dot(y_hist[last], y_hist[last])
        gamma = jnp.where(count > 0, sy / jnp.where(count > 0, yy, 1.0), gamma0)
        r = gamma * q

        def forward(i, r):
            j = (count - valid_n + i) % m
            ok = i < valid_n
            sy = jnp.dot(s_hist[j], y_hist[j])
            b = jnp.where(ok, jnp.dot(y_hist[j], r) / jnp.where(ok, sy, 1.0), 0.0)
            return r + jnp.where(ok, alphas[j] - b, 0.0) * s_hist[j]

        return -proj(jax.lax.fori_loop(0, m, forward, r))

    def cond(state):
        small = jnp.max(jnp.abs(state.grad)) <= gtol
        return (state.step < max_steps) & ~small & ~state.stalled

    def body(state):
        x, e, g = state.x, state.energy, state.grad
        d = direction(g, state.s_hist, state.y_hist, state.count)
        d = jnp.where(jnp.dot(g, d) < 0, d, -gamma0 * g)
        length = jnp.linalg.norm(d)
        d = d * jnp.minimum(1.0, max_step / jnp.where(length > 0, length, 1.0))
        slope = jnp.dot(g, d)

        def not_enough(c):
            t, e_t, k = c
            return (k < 50) & ~(e_t <= e + 1e-4 * t * slope)

        def halve(c):
            t, _, k = c
            return t / 2, energy_fn(x + (t / 2) * d), k + 1

        t, _, k = jax.lax.while_loop(not_enough, halve, (1.0, energy_fn(x + d), 0))
        accept = (k < 50) & (slope < 0)
        x_new = jnp.where(accept, x + t * d, x)
        e_new, g_new = value_and_grad(x_new)
        g_new = proj(g_new)
        s, y = x_new - x, g_new - g
        good = accept & (jnp.dot(s, y) > 0)
        slot = state.count % m
        return _LbfgsState(
            x_new,
            jnp.where(accept, e_new, e),
            jnp.where(accept, g_new, g),
            jnp.where(good, state.s_hist.at[slot].set(s), state.s_hist),
            jnp.where(good, state.y_hist.at[slot].set(y), state.y_hist),
            state.count + good,
            state.step + 1,
            ~accept,
        )

    e0, g0 = value_and_grad(x)
    zeros = jnp.zeros((m, dim), x.dtype)
    init = _LbfgsState(
        x, e0, proj(g0), zeros, zeros, jnp.asarray(0), jnp.asarray(0), jnp.asarray(False)
    )
    return jax.lax.while_loop(cond, body, init)


MEMORY = 10
"""L-BFGS history length of the tangent-space minimisation and of the descents."""


@jax.jit
def _lbfgs_jit(energy, x, v, gamma0, max_steps, max_step, gtol):
    """`_lbfgs` compiled once for both uses; returns (x, energy, full gradient, steps)."""
    state = _lbfgs(energy, x, v, gamma0, MEMORY, max_steps, max_step, gtol)
    value, grad = jax.value_and_grad(energy)(state.x)
    return state.x, value, grad, state.step


@functools.partial(jax.jit, static_argnames=("dense",))
def _lowest_jit(energy_fn, x, v0, key, dense):
    return _lowest(energy_fn, x, v0, key, dense)


def _use_dense(eigen: str, dim: int) -> bool:
    if eigen not in ("auto", "dense", "lanczos"):
        raise ValueError(f"eigen={eigen!r}; expected 'auto', 'dense' or 'lanczos'")
    return eigen == "dense" or (eigen == "auto" and dim <= 256)


def refine_saddle(
    energy_fn: Callable[[Array], Array],
    x: Any,
    *,
    tol: float = 1e-10,
    max_steps: int = 200,
    ef_tol: float = 1e-5,
    max_step: float = 0.1,
    tangent_steps: int = 5,
    eigen: str = "auto",
    direction: Any = None,
    key: Any = None,
) -> Saddle:
    """Refine a point near a saddle (a climbing image) to an index-1 saddle (float64).

    Hybrid eigenvector following (Munro & Wales 1999): each iteration finds the
    lowest Hessian eigenpair ``(lambda, v)`` (a dense ``eigh`` for ``d <= 256``
    or ``eigen="dense"``, else thick-restart Lanczos from `landscape.curvature`,
    warm-started at the previous ``v``), steps uphill along it, ``dx = -(g . v)
    / lambda`` when ``lambda < 0`` and ``max_step`` in the uphill direction
    otherwise (at most ``max_step``), then minimises for ``tangent_steps``
    L-BFGS steps in the hyperplane orthogonal to ``v``. When ``max |g| <=
    ef_tol`` (or after ``max_steps`` iterations) `stationary.newton_polish`
    finishes the job. The result is accepted (``converged``) only if
    ``max |g| <= tol`` and `stationary.index` finds exactly one negative
    eigenvalue; :func:`descend` then checks where its two descents lead.

    Shapes: ``x (d,)``; ``direction (d,)`` an optional non-zero start for ``v``
    (the NEB tangent, say). ``key`` seeds Lanczos restarts.
    """
    from landscape.energy.stationary import index as stationary_index
    from landscape.energy.stationary import newton_polish

    max_steps = check_positive_int(max_steps, "max_steps")
    tangent_steps = check_positive_int(tangent_steps, "tangent_steps")
    for name, value in (("tol", tol), ("ef_tol", ef_tol), ("max_step", max_step)):
        _check_real(value, name, minimum=0.0, expected="a positive number")
    energy = as_energy(energy_fn)
    with x64():
        x = _check_point(x, "x")
        dim = x.shape[0]
        dense = _use_dense(eigen, dim)
        key = jax.random.key(0) if key is None else as_key(key)
        key, key_start = jax.random.split(key)
        if direction is None:
            v0 = jax.random.normal(key_start, (dim,), jnp.float64)
        else:
            v0 = _check_point(direction, "direction", dim)
        norm = float(jnp.linalg.norm(v0))
        if not norm > 0:
            raise ValueError(
                "direction is the zero vector; expected a non-zero (d,) start for the "
                "lowest eigenvector (or None for a random one)"
            )
        v0 = v0 / norm
        zero = jnp.zeros_like(x)
        x_ef, _, g, _ = _lbfgs_jit(energy, x, zero, 1.0, 0, 1.0, 0.0)  # the gradient at x
        v, steps = v0, 0
        while steps < max_steps and float(jnp.max(jnp.abs(g))) > ef_tol:
            step_key = jax.random.fold_in(key, steps)
            lam, v = _lowest_jit(energy, x_ef, v, step_key, dense)
            lam, g_par = float(lam), float(jnp.dot(g, v))
            uphill = -g_par / lam if lam < 0 else np.sign(g_par) * max_step
            x_ef = x_ef + float(np.clip(uphill, -max_step, max_step)) * v
            gamma0 = 1.0 / max(abs(lam), 1e-12)
            x_ef, _, g, _ = _lbfgs_jit(energy, x_ef, v, gamma0, tangent_steps, float(max_step), 0.0)
            steps += 1
        polished = newton_polish(energy, x_ef, tol=tol)
        x_s = jnp.asarray(polished.x, jnp.float64)
        stationary = stationary_index(energy, x_s)
        lam, vec = _lowest_jit(energy, x_s, v, key, dense)
        grad_norm = float(polished.grad_norm)
        idx = int(stationary.index)
        return Saddle(
            np.asarray(x_s),
            float(polished.energy),
            grad_norm,
            idx,
            bool(grad_norm <= tol and idx == 1),
            np.asarray(vec),
            float(lam),
            int(stationary.zero_modes),
            float(stationary.log_product),
            int(steps),
        )


def descend(
    energy_fn: Callable[[Array], Array],
    saddle: Saddle,
    *,
    displacement: float = 1e-2,
    max_step: float = 0.1,
    gtol: float = 1e-6,
    max_steps: int = 10_000,
    polish_tol: float = 1e-10,
):
    """The two minima reached by descending from a saddle on both sides of its unstable mode.

    Starts at ``x_s + delta v`` and ``x_s - delta v`` (``v`` the saddle's
    ``eigenvector``), with ``delta = max(displacement, 10 gtol / |lambda|)`` so
    that the starting gradient ``~ |lambda| delta`` is well above ``gtol``;
    both descend by L-BFGS with steps of at most ``max_step`` that each lower
    the energy (no long line search that could leap over a ridge: the
    discrete stand-in for the two steepest-descent paths of the unstable
    manifold) to ``max |g| <= gtol``, then `stationary.newton_polish` to
    ``polish_tol``. The two run one after the other through the program that
    `refine_saddle` compiles for its tangent-space minimisation (two paths
    are not worth a second compiled program).

    Returns:
        A `stationary.Minimum` with a leading axis of 2: row 0 from the ``+v``
        side, row 1 from the ``-v`` side; ``converged`` says whether the polish
        reached ``polish_tol``.
    """
    from landscape.energy.stationary import Minimum, newton_polish

    if not isinstance(saddle, Saddle):
        raise ValueError(
            f"saddle has type {type(saddle).__name__}; expected a Saddle (from refine_saddle)"
        )
    max_steps = check_positive_int(max_steps, "max_steps")
    for name, value in (("displacement", displacement), ("max_step", max_step), ("gtol", gtol)):
        _check_real(value, name, minimum=0.0, expected="a positive number")
    _check_real(polish_tol, "polish_tol", minimum=0.0, expected="a positive tolerance")
    with x64():
        x = jnp.asarray(saddle.x, jnp.float64)
        v = jnp.asarray(saddle.eigenvector, jnp.float64)
        lam = abs(float(saddle.eigenvalue))
        delta = max(float(displacement), 10.0 * gtol / lam) if lam > 0 else float(displacement)
        starts = jnp.stack([x + delta * v, x - delta * v])
        gamma0 = 1.0 / lam if lam > 0 else 1.0
        energy = as_energy(energy_fn)
        zero = jnp.zeros_like(x)
        ends = [
            _lbfgs_jit(energy, start, zero, gamma0, max_steps, float(max_step), float(gtol))
            for start in starts
        ]
        steps = np.array([int(end[3]) for end in ends])
        ends = [end[0] for end in ends]
        # one point at a time: the program `refine_saddle` compiled for its polish
        rows = [newton_polish(energy_fn, ends[i], tol=polish_tol) for i in range(2)]
        return Minimum(
            *(np.stack([np.asarray(getattr(r, f)) for r in rows]) for f in ("x", "energy")),
            np.stack([np.asarray(r.grad_norm) for r in rows]),
            np.stack([np.asarray(r.converged) for r in rows]),
            np.asarray(steps) + np.stack([np.asarray(r.steps) for r in rows]),
        )
