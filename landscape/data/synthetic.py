"""Synthetic data: random patterns, teacher-student, Gaussian mixtures."""

from __future__ import annotations

import jax
import jax.numpy as jnp

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
