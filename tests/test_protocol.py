"""The training protocol of the flat-minima comparison: epoch-wise minibatches, the SGD helper,
replicated SGD's starts, coupling schedule and collapse, Entropy-SGD's epoch-wise inner loop,
and the rescaling-invariant Hessian trace against a dense Hessian and the local energy."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from landscape import Batch, Problem, algorithms, curvature, data, flatness, losses, models

N, P = 12, 24
TOL = dict(rtol=2e-5, atol=2e-6)  # float32, a few dozen steps


@pytest.fixture(scope="module")
def setup():
    batch = data.random_patterns(jax.random.key(0), n=N, p=P)
    problem = Problem(models.perceptron(N), losses.hinge(0.2))
    params = problem.model.init(jax.random.key(1))
    return problem, batch, params


# ----------------------------------------------------------------------------- epoch sampling


@pytest.mark.parametrize(("p", "b"), [(24, 6), (26, 6)])
def test_one_epoch_visits_every_example_once(p, b):
    okey = algorithms.order_key(jax.random.key(3), 0)
    nb = algorithms.batches_per_epoch(p, b)
    assert nb == p // b
    idx = np.asarray(
        jax.vmap(lambda t: algorithms.epoch_indices(okey, t, p, b))(jnp.arange(2 * nb))
    )
    first, second = idx[:nb].ravel(), idx[nb:].ravel()
    assert len(set(first.tolist())) == nb * b  # no repeats within an epoch
    assert len(set(second.tolist())) == nb * b
    if p % b == 0:
        np.testing.assert_array_equal(np.sort(first), np.arange(p))  # each exactly once
    assert not np.array_equal(first, second)  # a new permutation every epoch
    assert algorithms.batches_per_epoch(p, None) == 1


@pytest.mark.slow
def test_epoch_sgd_follows_python_loop_over_permutations(setup):
    problem, batch, params = setup
    lr, b = 0.3, 6
    nb = P // b
    algo = algorithms.gradient(problem, optax.sgd(lr), batch_size=b, sampling="epoch")
    key = jax.random.key(5)
    state = algo.init(key, params)
    state, infos = algorithms.run(algo, jax.random.key(6), state, batch, 2 * nb)
    grad = jax.jit(jax.grad(problem.loss))
    w = params
    okey = algorithms.order_key(key, 0)
    for e in range(2):
        perm = np.asarray(jax.random.permutation(jax.random.fold_in(okey, e), P))
        for i in range(nb):
            sel = perm[i * b : (i + 1) * b]
            g = grad(w, Batch(batch.x[sel], batch.y[sel]))
            w = jax.tree.map(lambda a, d: a - lr * d, w, g)
    np.testing.assert_allclose(state.params["w"], w["w"], **TOL)
    assert int(state.step) == 2 * nb


# ----------------------------------------------------------------------------- optimizer


def test_sgd_helper_matches_heavy_ball_and_nesterov_by_hand():
    lr, mu, wd, drop = 0.1, 0.9, 0.01, 0.5
    a = np.array([1.0, 3.0])  # gradient of 0.5 sum a w^2 is a w
    for nesterov in (False, True):
        opt = algorithms.sgd(
            lr, momentum=mu, nesterov=nesterov, weight_decay=wd, lr_drops=(2,),
            drop_factor=drop, steps_per_epoch=2,
        )  # fmt: skip
        w = jnp.array([1.0, -2.0])
        state = opt.init(w)
        wr, v = np.array([1.0, -2.0]), np.zeros(2)
        for t in range(6):
            upd, state = opt.update(jnp.asarray(a) * w, state, w)
            w = optax.apply_updates(w, upd)
            g = a * wr + wd * wr
            v = mu * v + g
            step = g + mu * v if nesterov else v
            wr = wr - (lr * (drop if t >= 4 else 1.0)) * step
        np.testing.assert_allclose(w, wr, rtol=1e-5)
    with pytest.raises(ValueError, match="nesterov"):
        algorithms.sgd(0.1, nesterov=True)
    with pytest.raises(ValueError, match="lr_drops"):
        algorithms.sgd(0.1, lr_drops=(0,))


# ----------------------------------------------------------------------------- replicated SGD


def test_independent_replicas_start_apart_with_replica_zero_at_sgd_start(setup):
    problem, _, params = setup
    r, key = 4, jax.random.key(7)
    sgd_state = algorithms.gradient(problem, optax.sgd(0.1), batch_size=6, sampling="epoch").init(
        key, params
    )
    algo = algorithms.replicated_sgd(
        problem, optax.sgd(0.1), r, gamma=0.1, batch_size=6,
        independent_replicas=True, sampling="epoch",
    )  # fmt: skip
    state = algo.init(key, params)
    w = np.asarray(state.params["w"])
    np.testing.assert_array_equal(w[0], params["w"])  # replica 0 = SGD's network
    dists = np.linalg.norm(w[:, None] - w[None], axis=-1)
    assert np.all(dists[~np.eye(r, dtype=bool)] > 0.1 * np.linalg.norm(w[0]))
    np.testing.assert_allclose(state.center["w"], w.mean(0), **TOL)
    okeys = jax.random.key_data(state.order_key)
    np.testing.assert_array_equal(okeys[0], jax.random.key_data(sgd_state.order_key))
    assert len({tuple(k) for k in np.asarray(okeys).tolist()}) == r  # an order per replica
    shared = algorithms.replicated_sgd(problem, optax.sgd(0.1), r, gamma=0.1).init(key, params)
    assert np.all(np.asarray(shared.params["w"]) == np.asarray(params["w"]))
    with pytest.raises(ValueError, match="auto"):
        algorithms.replicated_sgd(problem, optax.sgd(0.1), r, gamma="auto")
    with pytest.raises(ValueError, match="gamma_growth"):
        algorithms.replicated_sgd(problem, optax.sgd(0.1), r, gamma=0.1, gamma_growth=1.1,
                                  gamma_max=1.0, num_steps=10)  # fmt: skip


@pytest.mark.slow
def test_single_replica_is_sgd_and_gamma_schedule_per_step(setup):
    # R = 1 with the mean centre has no coupling force: the replica is SGD on its order
    problem, batch, params = setup
    lr, b, steps, g0, g1 = 0.3, 6, 10, 0.05, 2.0
    key = jax.random.key(8)
    algo = algorithms.replicated_sgd(
        problem, optax.sgd(lr), 1, gamma=g0, gamma_max=g1, num_steps=steps, batch_size=b,
        independent_replicas=True, sampling="epoch", shard=False,
    )  # fmt: skip
    state, infos = algorithms.run(algo, jax.random.key(9), algo.init(key, params), batch, steps)
    sgd = algorithms.gradient(problem, optax.sgd(lr), batch_size=b, sampling="epoch")
    s, _ = algorithms.run(sgd, jax.random.key(10), sgd.init(key, params), batch, steps)
    np.testing.assert_allclose(state.params["w"][0], s.params["w"], **TOL)
    expected = g0 * (g1 / g0) ** (np.arange(steps) / (steps - 1))
    np.testing.assert_allclose(infos.gamma, expected, rtol=1e-5)
    assert infos.gamma[0] == pytest.approx(g0)
    assert infos.gamma[-1] == pytest.approx(g1)


@pytest.mark.parametrize("center", [pytest.param("mean", marks=pytest.mark.slow), "explicit"])
def test_replicas_collapse_with_auto_gamma_growing_per_epoch(center):
    n, p, r, b, lr, epochs = 10, 8, 3, 4, 1.0, 12
    batch = data.random_patterns(jax.random.key(11), n=n, p=p)
    problem = Problem(models.perceptron(n), losses.hinge(0.1))
    params = problem.model.init(jax.random.key(12))
    nb = p // b
    steps = epochs * nb
    gamma_max = (1.0 if center == "mean" else 0.5) / lr  # lr * curvature = 1
    algo = algorithms.replicated_sgd(
        problem, optax.sgd(lr), r, gamma="auto", gamma_max=gamma_max, num_steps=steps,
        gamma_every="epoch", center=center, batch_size=b, independent_replicas=True,
        sampling="epoch", shard=False,
    )  # fmt: skip
    key = jax.random.key(13)
    state0 = algo.init(key, params)
    state, infos = algorithms.run(algo, jax.random.key(14), state0, batch, steps)
    # auto: gamma0 = 2 L / mean_a |w_a - c|^2 at the start, L on each replica's first batch
    loss = [
        problem.loss(
            {"w": state0.params["w"][a]},
            algorithms.epoch_batch(state0.order_key[a], 0, batch, b),
        )
        for a in range(r)
    ]
    w0, c0 = np.asarray(state0.params["w"]), np.asarray(state0.center["w"])
    dist0 = np.mean(np.sum((w0 - c0) ** 2, axis=1))
    gamma0 = 2 * np.mean(loss) / dist0
    assert infos.gamma[0] == pytest.approx(gamma0, rel=1e-5)
    # geometric per epoch, constant within an epoch, gamma_max in the last epoch
    per_epoch = gamma0 * (gamma_max / gamma0) ** (np.arange(epochs) / (epochs - 1))
    np.testing.assert_allclose(infos.gamma, np.repeat(per_epoch, nb), rtol=1e-4)
    # collapsed onto a centre that is the replica mean
    spread = float(algorithms.replica_spread(state))
    assert spread < 1e-2
    w, c = np.asarray(state.params["w"]), np.asarray(state.center["w"])
    ref = np.sqrt(np.mean(np.sum((w - c) ** 2, axis=1))) / np.linalg.norm(c)
    assert spread == pytest.approx(ref, rel=1e-4)
    np.testing.assert_allclose(c, w.mean(0), atol=1e-2 * np.linalg.norm(c))
    assert infos.spread[0] > 0.1  # they started apart


# ----------------------------------------------------------------------------- Entropy-SGD


@pytest.mark.slow
def test_entropy_sgd_epoch_inner_loop_and_geometric_scoping(setup):
    problem, batch, params = setup
    b, steps_inner, lr_in, wd, gamma, ema = 6, 2, 0.05, 0.01, 0.5, 0.75
    outer = 3
    algo = algorithms.entropy_sgd(
        problem, optax.sgd(0.5), gamma=gamma, gamma_max=4 * gamma, num_steps=outer,
        langevin_steps=steps_inner, langevin_lr=lr_in, langevin_beta=math.inf,
        langevin_weight_decay=wd, ema=ema, batch_size=b, sampling="epoch",
    )  # fmt: skip
    key = jax.random.key(15)
    state, infos = algorithms.run(algo, jax.random.key(16), algo.init(key, params), batch, outer)
    np.testing.assert_allclose(infos.gamma, gamma * 4.0 ** (np.arange(outer) / (outer - 1)), 1e-5)
    # Python loop: outer step t uses minibatches t L .. t L + L - 1 of the epoch-wise stream
    grad = jax.jit(jax.grad(problem.loss))
    okey = algorithms.order_key(key, 0)
    nb = P // b
    w = np.asarray(params["w"], float)
    for t in range(outer):
        g = gamma * 4.0 ** (t / (outer - 1))
        wp, mu = w.copy(), w.copy()
        for k in range(steps_inner):
            s = t * steps_inner + k
            perm = np.asarray(jax.random.permutation(jax.random.fold_in(okey, s // nb), P))
            sel = perm[(s % nb) * b : (s % nb + 1) * b]
            gr = np.asarray(
                grad({"w": jnp.asarray(wp, jnp.float32)}, Batch(batch.x[sel], batch.y[sel]))["w"]
            )
            wp = wp - lr_in * (gr + wd * wp + g * (wp - w))
            mu = ema * mu + (1 - ema) * wp
        w = w - 0.5 * g * (w - mu)
    np.testing.assert_allclose(state.params["w"], w, rtol=1e-4, atol=1e-5)
    assert int(state.step) == outer


# ----------------------------------------------------------------------------- invariant trace


def _mlp_setup():
    # a 3-4-2 ReLU MLP with nonzero biases, written out (the structure of models.mlp)
    k = jax.random.split(jax.random.key(17), 4)
    params = {
        "Dense_0": {"kernel": jax.random.normal(k[0], (3, 4)), "bias": jnp.full(4, 0.3)},
        "Dense_1": {"kernel": jax.random.normal(k[1], (4, 2)), "bias": jnp.full(2, -0.2)},
    }
    x = jax.random.normal(k[2], (10, 3))
    y = jax.nn.one_hot(jnp.arange(10) % 2, 2)

    def loss(p, batch):
        h = jax.nn.relu(batch[0] @ p["Dense_0"]["kernel"] + p["Dense_0"]["bias"][None])
        out = h @ p["Dense_1"]["kernel"] + p["Dense_1"]["bias"][None]
        return -jnp.mean(jnp.sum(batch[1] * jax.nn.log_softmax(out), axis=1))

    return loss, params, (x, y)


def _dense_invariant_trace(loss, params, batch):
    flat, unravel = jax.flatten_util.ravel_pytree(params)
    h = np.asarray(jax.jit(jax.hessian(lambda v: loss(unravel(v), batch)))(flat), float)
    w = np.asarray(flat, float)
    return float(np.sum(w**2 * np.diag(h))), h, w


def test_invariant_trace_matches_dense_hessian():
    loss, params, batch = _mlp_setup()
    ref, h, w = _dense_invariant_trace(loss, params, batch)
    assert ref != pytest.approx(float(np.trace(h)), rel=0.05)  # a different quantity
    dim = w.size
    exact = curvature.invariant_trace(
        jax.random.key(0), loss, params, batch, num_matvecs=3 * dim, per_device=None
    )
    assert float(exact.mean) == pytest.approx(ref, rel=1e-4)
    norms = curvature.weight_norms(params)
    assert norms["Dense_0/kernel"] == pytest.approx(np.linalg.norm(params["Dense_0"]["kernel"]))
    assert set(norms) == {"Dense_0/kernel", "Dense_0/bias", "Dense_1/kernel", "Dense_1/bias"}


def test_multiplicative_local_energy_is_half_sigma_squared_invariant_trace():
    # quadratic loss: E[L(w (1 + sigma z))] - L(w) = (sigma^2 / 2) tr(D A D) exactly; the
    # first-order term (A w + b).(w z) averages to zero (and vanishes at the minimum,
    # b = -A w); the zero "bias" leaf stays zero under multiplicative noise
    rng = np.random.default_rng(0)
    m = rng.normal(size=(5, 5))
    a = jnp.asarray(m @ m.T / 5 + np.eye(5), jnp.float32)
    params = {"kernel": jnp.asarray(rng.normal(size=5), jnp.float32), "bias": jnp.zeros(3)}

    def loss(p, b):  # b (1, 5): the linear term, passed as the batch
        w = p["kernel"]
        return 0.5 * w @ a @ w + b[0] @ w + jnp.sum(p["bias"] ** 2)

    wf = np.concatenate([np.zeros(3), np.asarray(params["kernel"], float)])
    h = np.zeros((8, 8))
    h[3:, 3:] = np.asarray(a, float)
    h[:3, :3] = 2 * np.eye(3)
    ref = float(np.sum(wf**2 * np.diag(h)))
    linear = jnp.asarray(rng.normal(size=(1, 5)), jnp.float32)
    est = curvature.invariant_trace(
        jax.random.key(2), loss, params, linear, num_matvecs=32, method="hutchinson"
    )
    assert abs(float(est.mean) - ref) < 5 * float(est.stderr)  # Hutchinson, probes z * w
    sigmas = jnp.array([0.01, 0.5])
    expected = 0.5 * np.asarray(sigmas) ** 2 * ref
    at_minimum = -(a @ params["kernel"])[None]
    for b in (linear, at_minimum):
        le = flatness.local_energy(jax.random.key(3), loss, params, b, sigmas, num_samples=4000)
        assert np.all(np.abs(np.asarray(le.delta) - expected) < 4 * np.asarray(le.stderr))
    np.testing.assert_allclose(le.delta, expected, rtol=0.1)  # at the minimum
    z = flatness.perturb(jax.random.key(4), params, 0.7)
    assert np.all(np.asarray(z["bias"]) == 0.0)


@pytest.mark.slow
def test_seed_ensemble_matches_python_loop(setup):
    # the study vmaps (and shards) algorithms over seeds: 3 seeds on 8 devices vs one at a time
    problem, batch, _ = setup
    algo = algorithms.replicated_sgd(
        problem, algorithms.sgd(0.3, momentum=0.5), 3, gamma="auto", gamma_max=1.0,
        num_steps=8, gamma_every="epoch", batch_size=6, independent_replicas=True,
        sampling="epoch", shard=False,
    )  # fmt: skip
    keys = jax.vmap(jax.random.key)(jnp.arange(3))
    states = jax.vmap(lambda k: algo.init(k, problem.model.init(k)))(keys)
    run_keys = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)
    out, infos = algorithms.run(
        algo, run_keys, states, batch, 8, steps_per_chunk=4, samples=True, data_axis=None
    )
    for s in range(3):
        state = algo.init(keys[s], problem.model.init(keys[s]))
        state, info = algorithms.run(algo, run_keys[s], state, batch, 8, steps_per_chunk=4)
        np.testing.assert_allclose(out.center["w"][s], state.center["w"], **TOL)
        np.testing.assert_allclose(infos.gamma[s], info.gamma, rtol=1e-5)
