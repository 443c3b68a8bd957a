"""Jamming observables, the sphere minimiser against SciPy, RS overlays, network protocol."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

from landscape import jamming, models


def scipy_sphere_minimum(a, kappa, starts, seed):
    """min (1/2) sum max(0, kappa - a.w/sqrt(n))^2 s.t. |w|^2 = n, SLSQP from several starts."""
    n = a.shape[1]
    rng = np.random.default_rng(seed)

    def f(w):
        return 0.5 * np.sum(np.maximum(kappa - a @ w / np.sqrt(n), 0) ** 2)

    def g(w):
        return -(a.T @ np.maximum(kappa - a @ w / np.sqrt(n), 0)) / np.sqrt(n)

    best = None
    for _ in range(starts):
        w0 = rng.standard_normal(n)
        w0 *= np.sqrt(n) / np.linalg.norm(w0)
        res = scipy.optimize.minimize(
            f,
            w0,
            jac=g,
            method="SLSQP",
            constraints=[{"type": "eq", "fun": lambda w: w @ w - n, "jac": lambda w: 2 * w}],
            options={"ftol": 1e-14, "maxiter": 2000},
        )
        if best is None or res.fun < best.fun:
            best = res
    return best


@pytest.fixture(scope="module")
def instance():
    rng = np.random.default_rng(0)
    n, p = 10, 30
    return rng.standard_normal((2, p, n)), rng.choice([-1.0, 1.0], (2, p))


@pytest.mark.parametrize("kappa", [0.0, 0.5])
def test_sphere_minimum_against_scipy(instance, kappa):
    xi, y = instance
    keys = jax.random.split(jax.random.key(1), 2)
    res = jamming.minimize_sphere(keys, xi, y, kappa, starts=3)
    for s in range(2):
        ref = scipy_sphere_minimum(y[s][:, None] * xi[s], kappa, 3, s)
        n = xi.shape[2]
        np.testing.assert_allclose(ref.x @ ref.x, n, rtol=1e-8)
        assert res.converged[s].all()
        np.testing.assert_allclose(np.sum(res.weights[s] ** 2, axis=-1), n, rtol=1e-10)
        np.testing.assert_allclose(res.energy[s].min(), ref.fun, rtol=1e-6, atol=1e-9)
        # Its own energy recomputed from the returned weights.
        delta = y[s][:, None] * xi[s] @ res.weights[s].T / np.sqrt(n)
        np.testing.assert_allclose(
            0.5 * np.sum(np.maximum(kappa - delta, 0) ** 2, axis=0), res.energy[s], rtol=1e-10
        )
    # Vmapped samples equal one-sample calls.
    one = jamming.minimize_sphere(keys[1], xi[1], y[1], kappa, starts=3)
    np.testing.assert_allclose(one.energy, res.energy[1], rtol=1e-10)


def test_observables():
    delta = jnp.array([-1.0, 0.2, 0.5, 2.0])
    assert float(jamming.energy(delta, 0.5)) == pytest.approx(0.5 * (1.5**2 + 0.3**2))
    assert int(jamming.num_unsatisfied(delta, 0.5)) == 2
    w = jnp.array([1.0, 2.0, 2.0])
    xi = jnp.array([[3.0, 0.0, 0.0]])
    assert jamming.gaps(w, xi, jnp.array([1.0])).tolist() == pytest.approx([1.0])
    hist = jamming.gap_histogram(np.random.default_rng(0).normal(size=10_000), 0.0, bins=40)
    mass = np.sum((hist["gaps"] + hist["overlaps"]) * np.diff(hist["edges"]))
    assert 0.95 < mass <= 1.0


def test_rs_overlays():
    from landscape import theory

    for kappa in (0.0, 0.5, 1.0):
        expected = float(
            getattr(theory.gardner_capacity(kappa), "value", theory.gardner_capacity(kappa))
        )
        assert jamming.gardner_capacity(kappa) == pytest.approx(expected, rel=1e-10)
    assert jamming.gardner_capacity(1.0) == pytest.approx(0.5196, abs=1e-4)
    assert jamming.rs_energy(1.5, 0.0) == 0.0
    assert jamming.rs_energy(8.0, 0.0) == pytest.approx(0.5)
    assert jamming.rs_unsatisfied(3.0, 0.0) == pytest.approx(1.5)
    # Isostatic at kappa = 0, hypostatic above.
    assert jamming.gardner_capacity(0.0) * 0.5 == pytest.approx(1.0)
    assert jamming.rs_unsatisfied(jamming.gardner_capacity(1.0) + 1e-9, 1.0) < 1.0


def test_network_protocol_and_hessian():
    rng = np.random.default_rng(0)
    model = models.mlp([3, 4, 1])
    x = rng.standard_normal((40, 3)).astype(np.float32)
    y = np.sign(rng.standard_normal(40)).astype(np.float32)
    from landscape.problem import Batch

    batch = Batch(jnp.asarray(x), jnp.asarray(y))
    params = model.init(jax.random.key(0))
    run = jax.jit(
        lambda p: jamming.train_to_jamming(
            model, p, batch, learning_rate=1e-2, min_learning_rate=1e-4, decay_every=300
        )
    )(params)
    assert int(run.steps) <= 900
    assert int(run.num_unsatisfied) > 0  # 21 parameters cannot fit 40 random labels at margin 1
    eig = jamming.hessian_spectrum(model, run.params, batch)
    assert eig.shape == (21,)
    assert np.all(np.isfinite(eig))
    assert np.all(np.diff(eig) >= 0)
    with pytest.raises(ValueError, match="p="):
        jamming.reduced_digits(p=5000)


def test_jamming_width():
    assert jamming.jamming_width([10, 100], [1.0, 0.0]) == pytest.approx(np.sqrt(1000))
    assert jamming.jamming_width([10, 100], [1.0, 1.0]) is None
