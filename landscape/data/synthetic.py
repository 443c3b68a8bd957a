"""Synthetic data: random patterns, teacher-student, Gaussian mixtures, noisy XOR."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from landscape._util import check_positive_int
from landscape.problem import Batch, Model, Params

_INPUTS = ("gaussian", "binary")


def num_patterns(alpha: float, n: int) -> int:
    """P = round(alpha N), the number of patterns at load alpha; alpha must be > 0."""
    n = check_positive_int(n, "n")
    if not alpha > 0:
        raise ValueError(f"alpha={alpha}; expected a positive load alpha = P/N")
    return max(1, round(alpha * n))


def _inputs(key: jax.Array, shape: tuple[int, ...], inputs: str) -> jax.Array:
    if inputs == "gaussian":
        return jax.random.normal(key, shape)
    if inputs == "binary":
        return jax.random.rademacher(key, shape, dtype=jnp.float32)
    raise ValueError(f"inputs={inputs!r}; expected one of {_INPUTS}")


def random_patterns(key: jax.Array, n: int, p: int, inputs: str = "gaussian") -> Batch:
    """P random patterns in N dimensions with independent random labels +-1.

    xi_mu ~ N(0, I_n) (``inputs="gaussian"``) or uniform in {-1, +1}^n
    (``"binary"``; use odd n with binary weights so no stability is exactly 0),
    y_mu uniform in {-1, +1}. This is the storage problem (Gardner 1988):
    there is nothing to generalise, so only training quantities mean something.

    Shapes: x (P, N) float32, y (P,) float32.

    Example:
        >>> import jax
        >>> batch = random_patterns(jax.random.key(0), n=5, p=3)
        >>> batch.x.shape, batch.y.shape
        ((3, 5), (3,))
    """
    n = check_positive_int(n, "n")
    p = check_positive_int(p, "p")
    if inputs not in _INPUTS:
        raise ValueError(f"inputs={inputs!r}; expected one of {_INPUTS}")
    kx, ky = jax.random.split(key)
    return Batch(_inputs(kx, (p, n), inputs), jax.random.rademacher(ky, (p,), dtype=jnp.float32))


def teacher_student(
    key: jax.Array,
    teacher: Model,
    n: int,
    p: int,
    *,
    inputs: str = "gaussian",
    teacher_params: Params | None = None,
) -> tuple[Batch, Params]:
    """P inputs labelled by a teacher network: y = sign of the teacher's output (or argmax).

    The teacher's parameters are drawn with ``teacher.init`` from a key split
    off `key` unless given; pass the returned ``teacher_params`` back in with a
    new key to draw a test set from the same teacher.

    Returns:
        ``(Batch(x (P, N), y (P,)), teacher_params)``.
    """
    n = check_positive_int(n, "n")
    p = check_positive_int(p, "p")
    kt, kx = jax.random.split(key)
    if teacher_params is None:
        teacher_params = teacher.init(kt)
    x = _inputs(kx, (p, n), inputs)
    out = (teacher.classify or teacher.apply)(teacher_params, x)
    if out.ndim == 1:
        y = jnp.where(out > 0, 1.0, -1.0).astype(jnp.float32)
    else:
        y = jnp.argmax(out, axis=1).astype(jnp.int32)
    return Batch(x, y), teacher_params


def gaussian_mixture(
    key: jax.Array, n: int, p: int, *, separation: float = 2.0, noise: float = 1.0
) -> Batch:
    """Two Gaussian clouds at +-mu, labels by cloud: x = y mu + noise z.

    mu is a random direction of norm ``separation / 2`` (the two means are
    ``separation`` apart); z ~ N(0, I_n),
    y uniform in {-1, +1}. The Bayes error is H(separation / (2 noise)) with H
    the Gaussian tail.

    Shapes: x (P, N), y (P,).
    """
    n = check_positive_int(n, "n")
    p = check_positive_int(p, "p")
    if not separation >= 0 or not noise > 0:
        raise ValueError(
            f"separation={separation}, noise={noise}; expected separation >= 0 and noise > 0"
        )
    km, ky, kz = jax.random.split(key, 3)
    direction = jax.random.normal(km, (n,))
    mu = 0.5 * separation * direction / jnp.linalg.norm(direction)
    y = jax.random.rademacher(ky, (p,), dtype=jnp.float32)
    x = y[:, None] * mu[None, :] + noise * jax.random.normal(kz, (p, n))
    return Batch(x, y)


def noisy_xor(points_per_corner: int = 10, noise: float = 0.4, seed: int = 0) -> Batch:
    """The 2-D XOR task: Gaussian clouds at the four corners (+-1, +-1), labels +-1 by XOR.

    ``x = c + noise z`` with corner ``c`` in {(1, 1), (-1, -1)} (label -1) or
    {(1, -1), (-1, 1)} (label +1), ``z ~ N(0, I_2)``, ``points_per_corner`` per
    corner in the corner order (1, 1), (1, -1), (-1, 1), (-1, -1); labels
    ``y = -sign(c_1 c_2)`` are the targets of the squared error
    (`landscape.losses.squared`) and the classes of a binary model. The data
    are fixed by the integer ``seed`` (NumPy's generator), so a study's data
    set does not depend on its keys (Ballard et al., PCCP 2017, use the same
    task for the landscape of a 2-4-1 network).

    Shapes: x (4 points_per_corner, 2) float32, y (4 points_per_corner,) float32.

    Example:
        >>> batch = noisy_xor(points_per_corner=2)
        >>> batch.x.shape, batch.y.tolist()
        ((8, 2), [-1.0, -1.0, 1.0, 1.0, 1.0, 1.0, -1.0, -1.0])
    """
    points_per_corner = check_positive_int(points_per_corner, "points_per_corner")
    if not noise >= 0:
        raise ValueError(f"noise={noise}; expected a noise level >= 0")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed={seed!r}; expected an integer")
    corners = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    centres = np.repeat(corners, points_per_corner, axis=0)
    z = np.random.default_rng(seed).standard_normal(centres.shape)
    x = centres + noise * z
    y = -centres[:, 0] * centres[:, 1]
    return Batch(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32))
