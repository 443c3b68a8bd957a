"""Local energy and local entropy against exact references (flip probabilities, enumeration,
closed-form Gaussian integrals)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import norm

from landscape import Problem, data, flatness, losses, models

SIGMA_TOL = 4.5  # Monte Carlo comparisons: within this many standard errors


def _binary_problem(n, p, seed=0):
    batch = data.random_patterns(jax.random.key(seed), n=n, p=p, inputs="binary")
    return Problem(models.perceptron(n, binary=True), losses.error()), batch


def test_multiplicative_noise_matches_exact_flip_probability():
    n, p = 21, 30
    batch = data.random_patterns(jax.random.key(0), n=n, p=p)
    problem = Problem(models.perceptron(n), losses.error())
    w = {"w": jax.random.normal(jax.random.key(1), (n,))}
    sigmas = np.array([0.0, 0.2, 0.7])
    le = flatness.local_energy(
        jax.random.key(2), problem.errors, w, batch, sigmas, num_samples=1500
    )
    x, y, wv = np.asarray(batch.x, float), np.asarray(batch.y, float), np.asarray(w["w"], float)
    delta = y * (x @ wv)
    spread = np.sqrt(np.sum(wv[None, :] ** 2 * x**2, axis=1))
    for i, s in enumerate(sigmas):
        exact = np.mean(delta <= 0) if s == 0 else np.mean(norm.sf(delta / (s * spread)))
        err = float(le.stderr[i])
        assert abs(float(le.mean[i]) - exact) <= SIGMA_TOL * err + 1e-6, (s, le.mean[i], exact)
    assert float(le.delta[0]) == pytest.approx(0.0, abs=1e-6)
    assert le.sigmas.shape == le.mean.shape == le.stderr.shape == le.delta.shape == (3,)


def test_flip_noise_matches_enumeration_of_flip_sets():
    n, p = 11, 7
    problem, batch = _binary_problem(n, p)
    wb = jnp.sign(jax.random.normal(jax.random.key(3), (n,)))
    sigmas = np.array([0.05, 0.2, 0.5, 1.0])
    le = flatness.local_energy(
        jax.random.key(4), problem.errors, {"w": wb}, batch, sigmas, num_samples=1500, noise="flip"
    )
    x, y, w0 = np.asarray(batch.x, float), np.asarray(batch.y, float), np.asarray(wb, float)
    flips = np.array(list(itertools.product([0, 1], repeat=n)))  # all 2^n flip sets
    ws = w0[None, :] * (1 - 2 * flips)
    err = np.mean((y[None, :] * (ws @ x.T)) <= 0, axis=1)
    k = flips.sum(axis=1)
    for i, s in enumerate(sigmas):
        exact = float(np.sum(s**k * (1 - s) ** (n - k) * err))
        assert abs(float(le.mean[i]) - exact) <= SIGMA_TOL * float(le.stderr[i]) + 1e-6
    # sigma = 1 flips every weight: the error becomes exactly 1 - error
    assert float(le.mean[-1]) == pytest.approx(1 - float(err[0]), abs=1e-6)


def test_additive_noise_is_scaled_per_layer():
    w = {"a": jnp.full((4,), 3.0), "b": jnp.ones((2, 5))}
    w0 = jax.tree.map(jnp.copy, w)
    fn = lambda p, b: sum(jnp.sum((p[k] - w0[k]) ** 2) for k in p)  # noqa: ARG005
    le = flatness.local_energy(
        jax.random.key(5), fn, w, None, np.array([0.5]), num_samples=800, noise="additive"
    )
    exact = 0.25 * (36.0 + 10.0)  # sigma^2 |w_layer|^2 summed over layers
    assert abs(float(le.mean[0]) - exact) <= SIGMA_TOL * float(le.stderr[0])


def test_chunking_does_not_change_local_energy():
    # the default (a compiled scan on CPU), an explicit scan, and vmapped chunks that do and do
    # not divide the 3 x 13 pairs (padded over the 8 test devices) draw the same perturbations
    n, p = 9, 12
    batch = data.random_patterns(jax.random.key(6), n=n, p=p)
    problem = Problem(models.perceptron(n), losses.error())
    w = {"w": jax.random.normal(jax.random.key(7), (n,))}
    sigmas = np.array([0.0, 0.3, 1.0])
    runs = [
        flatness.local_energy(
            jax.random.key(8), problem.errors, w, batch, sigmas, num_samples=13, per_device=c
        )
        for c in (None, 1, 3, 64)
    ]
    for le in runs[1:]:
        for got, want in zip(le, runs[0], strict=True):
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-6)


def _brute_force_entropy(x, y, ref):
    n = ref.size
    counts = np.zeros(n + 1)
    for signs in itertools.product([-1.0, 1.0], repeat=n):
        w = np.array(signs)
        if np.all(y * (x @ w) > 0):
            counts[int(np.sum(w != ref))] += 1
    with np.errstate(divide="ignore"):
        return np.where(counts > 0, np.log(counts) / n, -np.inf)


def test_local_entropy_enumerated_matches_brute_force():
    n, p = 11, 6
    problem, batch = _binary_problem(n, p, seed=1)
    x, y = np.asarray(batch.x, float), np.asarray(batch.y, float)
    teacher = np.sign(np.asarray(jax.random.normal(jax.random.key(7), (n,))))
    batch = batch._replace(y=jnp.asarray(np.sign(x @ teacher), jnp.float32))  # solvable
    y = np.asarray(batch.y, float)
    fn = lambda w, b: problem.errors({"w": w}, b)
    got = flatness.local_entropy_enumerated(fn, jnp.asarray(teacher), batch, n, block_elements=256)
    want = _brute_force_entropy(x, y, teacher)
    np.testing.assert_array_equal(np.isinf(np.asarray(got)), np.isinf(want))
    finite = np.isfinite(want)
    np.testing.assert_allclose(np.asarray(got)[finite], want[finite], rtol=1e-5)
    assert float(got[0]) == 0.0  # the reference itself is the one solution at d = 0


def test_replica_local_entropy_quadratic_closed_form():
    a, m = np.array([1.0, 2.0, 0.5]), np.array([0.3, -0.2, 0.5])
    fn = lambda w, b: 0.5 * jnp.sum(jnp.asarray(a, w.dtype) * (w - jnp.asarray(m, w.dtype)) ** 2)  # noqa: ARG005
    gammas = np.geomspace(0.1, 1e3, 20)
    res = flatness.local_entropy(
        jax.random.key(0),
        fn,
        jnp.zeros(3),
        None,
        gammas,
        beta=1.0,
        num_chains=8,
        num_steps=150,
        burn_in=30,
        step_size=0.8,
    )
    g = gammas[:, None]
    phi = np.mean(-0.5 * np.log((a + g) / (2 * np.pi)) - a * g / (2 * (a + g)) * m**2, axis=1)
    dist = np.mean(1 / (a + g) + (a * m / (a + g)) ** 2, axis=1) / 2
    assert np.all(
        np.abs(np.asarray(res.phi) - phi) <= SIGMA_TOL * np.asarray(res.phi_stderr) + 0.03
    )
    assert np.all(
        np.abs(np.asarray(res.distance) - dist)
        <= SIGMA_TOL * np.asarray(res.distance_stderr) + 0.02 * dist
    )
    np.testing.assert_allclose(
        res.entropy, res.phi + res.gammas * res.distance, rtol=1e-5, atol=1e-5
    )
    assert float(res.boundary) == pytest.approx(0.5, abs=0.05)


def test_replica_local_entropy_hard_constraint_closed_form():
    n, r1 = 3, 0.5
    fn = lambda w, b: (w[0] <= 0).astype(w.dtype)  # noqa: ARG005  one half-space constraint
    gammas = np.geomspace(0.1, 1e3, 20)
    res = flatness.local_entropy(
        jax.random.key(1),
        fn,
        jnp.array([r1, 0.0, 0.0]),
        None,
        gammas,
        num_chains=8,
        num_steps=150,
        burn_in=30,
        step_size=0.5,
    )
    phi = (0.5 * n * np.log(2 * np.pi / gammas) + norm.logcdf(r1 * np.sqrt(gammas))) / n
    assert np.all(
        np.abs(np.asarray(res.phi) - phi) <= SIGMA_TOL * np.asarray(res.phi_stderr) + 0.03
    )
    with pytest.raises(ValueError, match="reference has loss"):
        flatness.local_entropy(jax.random.key(1), fn, jnp.array([-1.0, 0, 0]), None, gammas)


def test_bad_input():
    w = {"w": jnp.ones(5)}
    fn = lambda p, b: jnp.sum(p["w"])  # noqa: ARG005
    k = jax.random.key(0)
    with pytest.raises(ValueError, match="sigmas"):
        flatness.local_energy(k, fn, w, None, [-0.1, 0.2], num_samples=2)
    with pytest.raises(ValueError, match="sigma <= 1"):
        flatness.local_energy(k, fn, w, None, [0.5, 1.5], num_samples=2, noise="flip")
    with pytest.raises(ValueError, match="not binary"):
        flatness.local_energy(
            k, fn, {"w": jnp.full(5, 0.5)}, None, [0.1], num_samples=2, noise="flip"
        )
    with pytest.raises(ValueError, match="noise"):
        flatness.local_energy(k, fn, w, None, [0.1], num_samples=2, noise="gauss")
    with pytest.raises(ValueError, match="per_device"):
        flatness.local_energy(k, fn, w, None, [0.1], num_samples=2, per_device="big")
    with pytest.raises(ValueError, match="per_device"):
        flatness.local_energy(k, fn, w, None, [0.1], num_samples=2, per_device=0)
    with pytest.raises(ValueError, match="n=25"):
        flatness.local_entropy_enumerated(fn, jnp.ones(25), None, 25)
    with pytest.raises(ValueError, match="gammas"):
        flatness.local_entropy(k, fn, w, None, [0.0, 1.0], beta=1.0)
