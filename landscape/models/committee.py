"""Committee machines: one hidden layer of k units, fixed +1 output weights."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import erf

from landscape._util import check_positive_int
from landscape.models.perceptron import sign_straight_through
from landscape.problem import Model

_ACTIVATIONS = {"erf": erf, "tanh": jnp.tanh, "sign": lambda h: jnp.where(h > 0, 1.0, -1.0)}
READOUTS = ("sum", "median")


def committee_machine(
    n: int,
    k: int,
    tree: bool = True,
    binary: bool = False,
    activation: str = "erf",
    readout: str = "median",
) -> Model:
    """A committee machine with k (odd) hidden units and output (1/sqrt(k)) sum_l g(h_l).

    Tree (``tree=True``): n divisible by k, unit l sees only input block l of
    size n/k; params ``{"w": (k, n/k)}``. Fully connected: every unit sees every
    input; params ``{"w": (k, n)}``. The pre-activations are normalised like the
    perceptron's stability: h_l = w_l.x_l / |w_l| (spherical units) or
    sign(w_l).x_l / sqrt(n_l) (binary units, straight-through gradient).

    ``readout="sum"``: ``apply`` uses the smooth g = erf or tanh (for training and curvature);
    ``classify`` is the vote of sign units, (1/sqrt(k)) sum_l sign(h_l), whose sign is the
    class, and `Problem.errors` counts errors with it. With ``activation="sign"`` both are the
    vote.

    ``readout="median"`` (the default, the least-action surrogate that every study
    trains): ``apply`` is the median
    of the pre-activations, median_l h_l, and ``activation`` is not used. For
    odd k its sign is exactly the vote's, so y * apply is a stability of the
    sign-unit machine itself: a loss of it (hinge, cross-entropy) vanishes or
    saturates only when the vote is right, with hidden margin kappa for
    ``hinge(kappa)`` (at least (k+1)/2 units with y h_l >= kappa). Its
    gradient moves a single unit per pattern: on a misclassified pattern, the
    wrong unit with the smallest |h_l|, the one that is cheapest to flip --
    the least-action rule of committee-machine learning (Mitchison & Durbin,
    Biol. Cybern. 1989; Nilsson 1965; Engel & Van den Broeck, "Statistical
    Mechanics of Learning", 2001, ch. 12), here as the gradient of a loss so
    that SGD, replicated SGD and Entropy-SGD use it unchanged. Gradient
    training of the erf sum does not solve the vote: the erf sum's sign can
    be right while the majority of units is wrong.

    Seeds: Baldassi et al., PRE 2022 (overparameterised committee machines).

    Shapes: x (P, n) -> outputs (P,).
    """
    n = check_positive_int(n, "n")
    k = check_positive_int(k, "k")
    if k % 2 == 0:
        raise ValueError(f"k={k}; expected an odd number of hidden units (no ties in the vote)")
    if tree and n % k != 0:
        raise ValueError(f"n={n}, k={k}; a tree committee machine needs n divisible by k")
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation={activation!r}; expected one of {sorted(_ACTIVATIONS)}")
    if readout not in READOUTS:
        raise ValueError(f"readout={readout!r}; expected one of {READOUTS}")
    g = _ACTIVATIONS[activation]
    width = n // k if tree else n

    def init(key):
        return {"w": jax.random.normal(key, (k, width))}

    def preactivations(params, x):
        w = params["w"]
        xs = x.reshape(x.shape[0], k, width) if tree else x[:, None, :]
        if binary:
            wb = sign_straight_through(w)
            return jnp.sum(xs * wb[None], axis=-1) / jnp.sqrt(width).astype(x.dtype)
        wn = w / jnp.linalg.norm(w, axis=1, keepdims=True)
        return jnp.sum(xs * wn[None], axis=-1)

    def apply(params, x):
        h = preactivations(params, x)
        if readout == "median":  # the middle order statistic: the least-action unit
            return jnp.sort(h, axis=1)[:, k // 2]
        return jnp.sum(g(h), axis=1) / jnp.sqrt(k).astype(x.dtype)

    def classify(params, x):
        vote = jnp.where(preactivations(params, x) > 0, 1.0, -1.0).astype(x.dtype)
        return jnp.sum(vote, axis=1) / jnp.sqrt(k).astype(x.dtype)

    return Model(init, apply, classify)
