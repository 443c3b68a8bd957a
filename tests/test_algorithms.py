"""The chunked driver against a Python loop of steps; the sample axis against a loop."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from landscape import Batch, Problem, algorithms, data, losses, models

N, P, S, T = 6, 10, 5, 11


@pytest.fixture(scope="module")
def setup():
    problem = Problem(models.perceptron(N), losses.quadratic_hinge(0.5))
    # minibatch SGD, so every step's key matters
    algo = algorithms.gradient(problem, optax.sgd(0.3), batch_size=4)
    keys = jax.random.split(jax.random.key(1), S)
    batches = jax.vmap(lambda k: data.random_patterns(k, N, P))(keys)
    states = jax.vmap(lambda k: algo.init(k, problem.model.init(k)))(keys)
    return problem, algo, keys, batches, states


def _take(tree, s):
    return jax.tree.map(lambda a: a[s], tree)


def _loop(algo, key, state, batch, num_steps):
    step = jax.jit(algo.step)
    infos = []
    for t in range(num_steps):
        state, info = step(jax.random.fold_in(key, t), state, batch)
        infos.append(info)
    return state, jax.tree.map(lambda *xs: np.stack(xs), *infos)


def test_chunked_driver_equals_unchunked_loop(setup):
    _, algo, keys, batches, states = setup
    key, state, batch = keys[0], _take(states, 0), _take(batches, 0)
    ref_state, ref_infos = _loop(algo, key, state, batch, T)
    results = {}
    for chunk in (3, T):  # 3 does not divide T: the last chunk is padded with no-op steps
        final, infos = algorithms.run(algo, key, state, batch, T, steps_per_chunk=chunk)
        assert infos.loss.shape == (T,)
        assert infos.errors.shape == (T,)
        np.testing.assert_allclose(final.params["w"], ref_state.params["w"], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(infos.loss, ref_infos.loss, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(infos.errors, ref_infos.errors, atol=1e-6)
        results[chunk] = (final, infos)
    # chunk sizes do not change the trajectory
    np.testing.assert_array_equal(results[3][0].params["w"], results[T][0].params["w"])
    np.testing.assert_array_equal(results[3][1].loss, results[T][1].loss)


def test_sample_axis_equals_loop_over_samples(setup):
    _, algo, keys, batches, states = setup
    final, infos = algorithms.run(algo, keys, states, batches, T, steps_per_chunk=3, samples=True)
    assert final.params["w"].shape == (S, N)
    assert infos.loss.shape == (S, T)
    for s in range(S):
        ref, ref_infos = algorithms.run(
            algo, keys[s], _take(states, s), _take(batches, s), T, steps_per_chunk=3
        )
        np.testing.assert_allclose(final.params["w"][s], ref.params["w"], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(infos.loss[s], ref_infos.loss, rtol=1e-5, atol=1e-6)


def test_sample_axis_with_shared_data(setup):
    _, algo, keys, batches, states = setup
    shared = _take(batches, 0)
    final, infos = algorithms.run(
        algo, keys, states, shared, 4, steps_per_chunk=4, samples=True, data_axis=None, per_device=2
    )
    for s in (0, S - 1):
        ref, _ = _loop(algo, keys[s], _take(states, s), shared, 4)
        np.testing.assert_allclose(final.params["w"][s], ref.params["w"], rtol=1e-5, atol=1e-6)


def test_callback_and_stop_when_solved():
    n, p = 20, 6
    problem = Problem(models.perceptron(n), losses.hinge(0.1))
    algo = algorithms.gradient(problem, optax.sgd(1.0))
    batch = data.random_patterns(jax.random.key(3), n, p)
    state = algo.init(jax.random.key(4), problem.model.init(jax.random.key(4)))
    seen = []
    final, infos = algorithms.run(
        algo,
        jax.random.key(5),
        state,
        batch,
        400,
        steps_per_chunk=5,
        callback=lambda done, st, info: seen.append((done, info.loss.shape)),
        stop_when_solved=True,
    )
    steps = infos.loss.shape[0]
    assert steps < 400
    assert steps % 5 == 0
    assert seen == [(5 * (i + 1), (5,)) for i in range(steps // 5)]
    assert bool(algo.solved(final, batch))
    assert float(jnp.max(problem.per_example_loss(final.params, batch))) == 0.0
    # one chunk earlier it was not yet solved
    if steps > 5:
        earlier, _ = algorithms.run(
            algo, jax.random.key(5), state, batch, steps - 5, steps_per_chunk=5
        )
        assert not bool(algo.solved(earlier, batch))
    # without stopping, all steps run
    _, all_infos = algorithms.run(algo, jax.random.key(5), state, batch, 400, steps_per_chunk=5)
    assert all_infos.loss.shape == (400,)


def test_stop_when_solved_waits_for_every_sample():
    n, p = 20, 6
    problem = Problem(models.perceptron(n), losses.hinge(0.1))
    algo = algorithms.gradient(problem, optax.sgd(1.0))
    keys = jax.random.split(jax.random.key(7), 3)
    batches = jax.vmap(lambda k: data.random_patterns(k, n, p))(keys)
    states = jax.vmap(lambda k: algo.init(k, problem.model.init(k)))(keys)
    final, infos = algorithms.run(
        algo, keys, states, batches, 400, steps_per_chunk=5, samples=True, stop_when_solved=True
    )
    assert infos.loss.shape[1] < 400
    assert all(bool(algo.solved(_take(final, s), _take(batches, s))) for s in range(3))


def test_norm_reduction_step():
    n, p, lr, rate = 5, 7, 0.2, 0.01
    problem = Problem(models.perceptron(n), losses.squared())
    algo = algorithms.gradient(problem, optax.sgd(lr), norm_reduction_rate=rate)
    batch = data.random_patterns(jax.random.key(0), n, p)
    params = problem.model.init(jax.random.key(1))
    state = algo.init(jax.random.key(2), params)
    new, info = algo.step(jax.random.key(3), state, batch)
    grad = jax.grad(problem.loss)(params, batch)["w"]
    expected = params["w"] - lr * grad - rate * params["w"]
    np.testing.assert_allclose(new.params["w"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(info.loss, problem.loss(params, batch), rtol=1e-6)


def test_minibatch_draws_distinct_examples():
    batch = Batch(jnp.arange(12.0)[:, None], jnp.arange(12.0))
    mb = algorithms.minibatch(jax.random.key(0), batch, 5)
    assert mb.x.shape == (5, 1)
    assert len(set(np.asarray(mb.y).tolist())) == 5
    np.testing.assert_array_equal(mb.x[:, 0], mb.y)
    assert algorithms.minibatch(jax.random.key(0), batch, None) is batch


def test_bad_algorithm_arguments(setup):
    problem, algo, keys, batches, states = setup
    with pytest.raises(ValueError, match="batch_size=0"):
        algorithms.gradient(problem, optax.sgd(0.1), batch_size=0)
    with pytest.raises(ValueError, match="rate=-1"):
        algorithms.norm_reduction(-1.0)
    state, batch = _take(states, 0), _take(batches, 0)
    with pytest.raises(ValueError, match="max_steps=0"):
        algorithms.run(algo, keys[0], state, batch, 0)
    with pytest.raises(ValueError, match="steps_per_chunk=0"):
        algorithms.run(algo, keys[0], state, batch, 3, steps_per_chunk=0)


def test_partial_last_chunk_keeps_per_sample_info_axes():
    # An Info field with an axis after the step axis (like AnnealingInfo.energy, one
    # value per replica): the last, partial chunk must be cut on the step axis.
    def step(key, count, data):  # noqa: ARG001
        return count + 1, count + jnp.arange(3.0)

    algo = algorithms.Algorithm(lambda key, params: params, step)  # noqa: ARG005
    samples = 2
    state = jnp.zeros(samples)
    _, info = algorithms.run(
        algo,
        jax.random.split(jax.random.key(1), samples),
        state,
        jnp.zeros((samples, 1)),
        7,
        steps_per_chunk=3,
        samples=True,
    )
    assert info.shape == (samples, 7, 3)
    np.testing.assert_array_equal(info[0, :, 0], np.arange(7.0))
