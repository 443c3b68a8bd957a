"""The dense Hessian spectrum against numpy.linalg.eigvalsh of a known Hessian."""

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from landscape import curvature, models


def test_dense_hessian_spectrum_of_a_quadratic_form():
    rng = np.random.default_rng(0)
    m = rng.standard_normal((5, 5))
    a = (m @ m.T).astype(np.float32)
    loss = lambda p, b: 0.5 * (p["u"] @ b @ p["u"]) + jnp.sum(p["v"] ** 4)
    params = {"u": jnp.ones(5), "v": jnp.array([0.5, -1.0])}
    eig = curvature.dense_hessian_spectrum(loss, params, jnp.asarray(a))
    want = np.sort(np.concatenate([np.linalg.eigvalsh(a), 12 * np.array([0.25, 1.0])]))
    np.testing.assert_allclose(eig, want, rtol=1e-5)
    assert eig.dtype == np.float64


def test_dense_hessian_spectrum_matches_jax_hessian_of_a_network():
    model = models.mlp([2, 3, 1])
    params = model.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (7, 2))
    loss = lambda p, b: jnp.sum(model.apply(p, b) ** 2)
    flat, unravel = ravel_pytree(params)
    h = np.asarray(jax.hessian(lambda t: loss(unravel(t), x))(flat), np.float64)
    np.testing.assert_allclose(
        curvature.dense_hessian_spectrum(loss, params, x),
        np.linalg.eigvalsh(0.5 * (h + h.T)),
        rtol=1e-6,
        atol=1e-6,
    )
