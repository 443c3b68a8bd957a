"""The perceptron: spherical (continuous weights on the sphere) or binary (Ising weights)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from landscape._util import check_positive_int
from landscape.problem import Model


def sign_straight_through(w: jax.Array) -> jax.Array:
    """sign(w) in the forward pass (sign(0) = +1), identity gradient in the backward pass.

    The plain straight-through estimator (Hinton 2012; Bengio et al. 2013): the
    gradient with respect to the latent real weights is the gradient with
    respect to the binary weights, unclipped.
    """
    binary = jnp.where(w >= 0, 1.0, -1.0).astype(w.dtype)
    return w + jax.lax.stop_gradient(binary - w)


def perceptron(n: int, binary: bool = False) -> Model:
    """A perceptron on n inputs; params ``{"w": (n,)}``.

    Spherical (``binary=False``): output ``w.x / |w|``, the stability of the
    normalised weights sqrt(n) w/|w| (so |w|^2 = n) divided by sqrt(n). The loss
    is therefore invariant under rescaling of the latent weights: only the
    direction of w matters, and the plain Hessian has w as a null direction.

    Binary (``binary=True``): output ``sign(w).x / sqrt(n)`` with real latent
    weights w; gradients flow through the sign by the straight-through estimator
    (`sign_straight_through`). With +-1 inputs use odd n so no stability is 0.

    Shapes: x (P, n) -> outputs (P,). ``init`` draws w ~ N(0, I_n).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> model = perceptron(3)
        >>> model.apply({"w": jnp.array([3.0, 0.0, 4.0])}, jnp.array([[5.0, 1.0, 0.0]])).tolist()
        [3.0]
    """
    n = check_positive_int(n, "n")

    def init(key):
        return {"w": jax.random.normal(key, (n,))}

    if binary:

        def apply(params, x):
            return x @ sign_straight_through(params["w"]) / jnp.sqrt(n).astype(x.dtype)

    else:

        def apply(params, x):
            w = params["w"]
            return x @ w / jnp.linalg.norm(w)

    return Model(init, apply)
