"""Replicated SGD and Entropy-SGD: sharded vs single-device trajectories, the gamma = 0
control against independent SGD runs, centre updates, and the Langevin inner loop against a
Python loop."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from landscape import Problem, algorithms, data, losses, models, parallel
from landscape.algorithms.gradient import minibatch

N, P = 12, 24
TOL = dict(rtol=2e-5, atol=2e-6)  # float32, a few dozen steps


@pytest.fixture(scope="module")
def setup():
    batch = data.random_patterns(jax.random.key(0), n=N, p=P)
    problem = Problem(models.perceptron(N), losses.hinge(0.2))
    params = problem.model.init(jax.random.key(1))
    return problem, batch, params


@pytest.mark.parametrize("num_replicas", [8, 5])
def test_sharded_replicas_follow_single_device_trajectory(setup, num_replicas):
    assert parallel.device_count() == 8
    problem, batch, params = setup
    results = []
    for shard in (True, False):
        algo = algorithms.replicated_sgd(
            problem,
            optax.sgd(0.3),
            num_replicas,
            gamma=0.05,
            gamma_growth=1.1,
            batch_size=6,
            shard=shard,
        )
        state = algo.init(jax.random.key(2), params)
        state, infos = algorithms.run(algo, jax.random.key(3), state, batch, 20, steps_per_chunk=10)
        results.append((state, infos))
    (s1, i1), (s2, i2) = results
    np.testing.assert_allclose(s1.params["w"], s2.params["w"], **TOL)
    np.testing.assert_allclose(s1.center["w"], s2.center["w"], **TOL)
    for a, b in zip(i1, i2):
        np.testing.assert_allclose(a, b, **TOL)
    assert s1.params["w"].shape == (num_replicas, N)
    np.testing.assert_allclose(s1.center["w"], np.mean(s1.params["w"], axis=0), **TOL)
    np.testing.assert_allclose(i1.gamma, 0.05 * 1.1 ** np.arange(20), rtol=1e-5)


def test_gamma_zero_is_independent_sgd(setup):
    problem, batch, params = setup
    r, lr, bs = 3, 0.3, 6
    algo = algorithms.replicated_sgd(problem, optax.sgd(lr), r, gamma=0.0, batch_size=bs)
    state = algo.init(jax.random.key(0), params)
    key = jax.random.key(4)
    step = jax.jit(algo.step)
    for t in range(5):
        state, _ = step(jax.random.fold_in(key, t), state, batch)
    single = algorithms.gradient(problem, optax.sgd(lr), batch_size=bs)
    single_step = jax.jit(single.step)
    for a in range(r):
        s = single.init(jax.random.key(0), params)
        for t in range(5):
            k_rep = jax.random.split(jax.random.fold_in(key, t))[0]
            s, _ = single_step(jax.random.fold_in(k_rep, a), s, batch)
        np.testing.assert_allclose(state.params["w"][a], s.params["w"], **TOL)


def test_explicit_center_moves_by_the_coupling(setup):
    problem, batch, params = setup
    lr, gamma, r = 0.2, 0.7, 4
    algo = algorithms.replicated_sgd(
        problem, optax.sgd(lr), r, gamma=gamma, center="explicit", batch_size=6
    )
    state = algo.init(jax.random.key(0), params)
    step = jax.jit(algo.step)
    state, _ = step(jax.random.key(1), state, batch)  # replicas leave the centre
    before = state
    state, info = step(jax.random.key(2), state, batch)
    mean_w = np.mean(np.asarray(before.params["w"]), axis=0)
    c = np.asarray(before.center["w"])
    np.testing.assert_allclose(state.center["w"], c - lr * gamma * (c - mean_w), **TOL)
    dist = np.mean(np.sum((np.asarray(before.params["w"]) - c) ** 2, axis=1))
    np.testing.assert_allclose(info.distance, dist, rtol=1e-5)
    # replica a: w - lr (grad L_B + gamma (w - c)) on its own minibatch
    k_rep = jax.random.split(jax.random.key(2))[0]
    grad = jax.jit(jax.grad(problem.loss))
    for a in range(r):
        b = minibatch(jax.random.fold_in(k_rep, a), batch, 6)
        w = before.params["w"][a]
        g = grad({"w": w}, b)["w"]
        np.testing.assert_allclose(state.params["w"][a], w - lr * (g + gamma * (w - c)), **TOL)


def test_center_report_and_solved(setup):
    problem, batch, params = setup
    algo = algorithms.replicated_sgd(problem, optax.sgd(0.5), 3, gamma=0.5, gamma_growth=1.05)
    state = algo.init(jax.random.key(0), params)
    report = algorithms.center_report(problem, state, batch)
    assert not report.is_solution
    assert "NOT" in report.message
    assert report.replica_errors.shape == (3,)
    easy = batch._replace(y=jnp.sign(batch.x @ params["w"]))  # params solve these labels
    report = algorithms.center_report(problem, state, easy)
    assert report.is_solution
    assert bool(algo.solved(state, easy))


def test_entropy_sgd_inner_loop_matches_python_loop(setup):
    problem, batch, params = setup
    gamma, lr, beta, ema, steps, bs = 0.8, 0.05, 200.0, 0.75, 6, 8
    key = jax.random.key(9)
    mu = algorithms.langevin_average(
        key,
        problem,
        params,
        batch,
        jnp.float32(gamma),
        langevin_steps=steps,
        langevin_lr=lr,
        langevin_beta=beta,
        ema=ema,
        batch_size=bs,
    )
    w = np.asarray(params["w"], float)
    wp, m = w.copy(), w.copy()
    for k in range(steps):
        kb, kn = jax.random.split(jax.random.fold_in(key, k))
        idx = np.asarray(jax.random.choice(kb, P, (bs,), replace=False))
        x, y = np.asarray(batch.x, float)[idx], np.asarray(batch.y, float)[idx]
        # gradient of mean relu(kappa - y w.x/|w|) by hand
        nw = np.linalg.norm(wp)
        delta = y * (x @ wp) / nw
        active = (0.2 - delta) > 0
        d_delta = (y[:, None] * x) / nw - np.outer(delta, wp) / nw**2
        grad = -np.mean(active[:, None] * d_delta, axis=0)
        xi = np.asarray(jax.random.normal(jax.random.fold_in(kn, 0), (N,)), float)
        wp = wp - lr * (grad + gamma * (wp - w)) + math.sqrt(2 * lr / beta) * xi
        m = ema * m + (1 - ema) * wp
    np.testing.assert_allclose(mu["w"], m, rtol=1e-4, atol=1e-5)
    # the outer step hands gamma (w - mu) to the optimizer
    algo = algorithms.entropy_sgd(
        problem,
        optax.sgd(0.5),
        gamma=gamma,
        gamma_growth=2.0,
        langevin_steps=steps,
        langevin_lr=lr,
        langevin_beta=beta,
        ema=ema,
        batch_size=bs,
    )
    state = algo.init(jax.random.key(0), params)
    state, info = algo.step(key, state, batch)
    np.testing.assert_allclose(state.params["w"], w - 0.5 * gamma * (w - m), rtol=1e-4, atol=1e-5)
    assert float(info.gamma) == pytest.approx(gamma)
    assert float(state.gamma) == pytest.approx(2 * gamma)


def test_entropy_sgd_runs_in_the_driver(setup):
    problem, batch, params = setup
    algo = algorithms.entropy_sgd(
        problem, optax.sgd(0.5), gamma=0.1, gamma_growth=1.01, langevin_steps=3
    )
    state = algo.init(jax.random.key(0), params)
    state, infos = algorithms.run(algo, jax.random.key(1), state, batch, 12, steps_per_chunk=6)
    assert infos.loss.shape == (12,)
    assert np.all(np.isfinite(infos.distance))


def test_bad_input(setup):
    problem, _, _ = setup
    with pytest.raises(ValueError, match="num_replicas"):
        algorithms.replicated_sgd(problem, optax.sgd(0.1), 0, gamma=0.1)
    with pytest.raises(ValueError, match="gamma"):
        algorithms.replicated_sgd(problem, optax.sgd(0.1), 3, gamma=-0.1)
    with pytest.raises(ValueError, match="center"):
        algorithms.replicated_sgd(problem, optax.sgd(0.1), 3, gamma=0.1, center="median")
    with pytest.raises(ValueError, match="gamma"):
        algorithms.entropy_sgd(problem, optax.sgd(0.1), gamma=-1.0)
    with pytest.raises(ValueError, match="ema"):
        algorithms.entropy_sgd(problem, optax.sgd(0.1), gamma=1.0, ema=1.0)
