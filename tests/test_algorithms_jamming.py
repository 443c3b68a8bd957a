"""Geiger et al.'s jamming protocol as an Algorithm, against a Python loop of optax steps."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from landscape import algorithms, curvature, data, losses, models
from landscape.problem import Batch


def _random_batch(p=40, dim=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((p, dim)).astype(np.float32)
    y = np.sign(rng.standard_normal(p)).astype(np.float32)
    return Batch(jnp.asarray(x), jnp.asarray(y))


def _total_hinge(model, margin=1.0):
    per_example = losses.quadratic_hinge(margin)
    return lambda params, b: jnp.sum(per_example(model.apply(params, b.x), b.y))


def test_network_protocol_and_hessian():
    model = models.mlp([3, 4, 1])
    batch = _random_batch()
    params = model.init(jax.random.key(0))
    algo = algorithms.jamming_descent(
        model, learning_rate=1e-2, min_learning_rate=1e-4, decay_every=300
    )
    budget = algorithms.jamming_budget(1e-2, 1e-4, 300)
    assert budget == 900
    state = algo.init(jax.random.key(1), params)
    state, infos = algorithms.run(
        algo, jax.random.key(1), state, batch, budget, stop_when_solved=True
    )
    assert int(state.steps) <= 900
    hinge = algorithms.unsatisfied_hinge(model, state.params, batch, 1.0)
    assert int(hinge.num_unsatisfied) > 0  # 21 parameters cannot fit 40 random labels at margin 1
    assert infos.loss.shape == (900,)
    eig = curvature.dense_hessian_spectrum(_total_hinge(model), state.params, batch)
    assert eig.shape == (21,)
    assert np.all(np.isfinite(eig))
    assert np.all(np.diff(eig) >= 0)
    with pytest.raises(ValueError, match="p="):
        data.reduced_digits(p=5000)


def test_steps_equal_a_python_loop_of_adam_steps():
    # The protocol written out: Adam with the staircase schedule on the hinge of the
    # unsatisfied patterns, stopping at the first solved step.
    model = models.mlp([3, 6, 1])
    batch = _random_batch(p=12, seed=1)
    params = model.init(jax.random.key(2))
    lr, lr_min, every, threshold = 1e-2, 1e-3, 40, 1e-10
    algo = algorithms.jamming_descent(
        model, learning_rate=lr, min_learning_rate=lr_min, decay_every=every
    )
    budget = algorithms.jamming_budget(lr, lr_min, every)
    state, _ = algorithms.run(
        algo, jax.random.key(0), algo.init(None, params), batch, budget, steps_per_chunk=7
    )

    schedule = optax.exponential_decay(lr, every, 0.1, staircase=True, end_value=lr_min)
    opt = optax.adam(schedule)

    def loss(prm):
        delta = batch.y * model.apply(prm, batch.x)
        unsat = delta < 1.0
        count = jnp.sum(unsat)
        return 0.5 * jnp.sum(jnp.where(unsat, (1.0 - delta) ** 2, 0.0)) / max(count, 1), count

    ref, opt_state, steps = params, opt.init(params), 0
    for _ in range(budget):
        value, count = loss(ref)
        if count == 0 or value < threshold:
            break
        grads = jax.grad(lambda p: loss(p)[0])(ref)
        updates, opt_state = opt.update(grads, opt_state, ref)
        ref = optax.apply_updates(ref, updates)
        steps += 1
    assert int(state.steps) == steps
    for a, b in zip(jax.tree.leaves(state.params), jax.tree.leaves(ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_solved_state_is_left_unchanged_and_samples_accept_both_key_kinds():
    model = models.mlp([3, 32, 1])
    batch = _random_batch(p=6, seed=2)
    algo = algorithms.jamming_descent(model, learning_rate=1e-2, min_learning_rate=1e-3)
    seeds = jnp.arange(3)
    results = []
    for make in (jax.random.key, jax.random.PRNGKey):
        keys = jax.vmap(make)(seeds)
        params = jax.vmap(model.init)(keys)
        states = jax.vmap(algo.init)(keys, params)
        states, _ = algorithms.run(
            algo, keys, states, batch, 2000, stop_when_solved=True, samples=True, data_axis=None
        )
        results.append(states)
    typed, legacy = results
    np.testing.assert_array_equal(typed.steps, legacy.steps)
    solved = jax.vmap(algo.solved, in_axes=(0, None))(typed, batch)
    assert bool(np.all(solved))
    assert np.all(typed.steps < 2000)
    # More steps from a solved state change nothing.
    one = jax.tree.map(lambda t: t[0], typed)
    again, _ = algorithms.run(algo, jax.random.key(0), one, batch, 50)
    assert int(again.steps) == int(one.steps)
    for a, b in zip(jax.tree.leaves(again.params), jax.tree.leaves(one.params), strict=True):
        np.testing.assert_array_equal(a, b)


def test_bad_schedule():
    model = models.mlp([3, 4, 1])
    with pytest.raises(ValueError, match="min_learning_rate"):
        algorithms.jamming_descent(model, learning_rate=1e-3, min_learning_rate=1e-2)
    with pytest.raises(ValueError, match="decay_every"):
        algorithms.jamming_descent(model, decay_every=0)
