"""Linear mode connectivity of the spherical perceptron: convex cone at kappa >= 0.

At margin kappa >= 0 the solutions {w : y_mu w.xi_mu >= kappa |w|} form a convex
cone (a linear function minus kappa times a norm is concave), so every point of
the straight line between two solutions is a solution: the training-error
barrier counted at margin kappa is exactly zero. At negative margin the set is
not convex and the line between two solutions generally leaves it.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from landscape import Problem, algorithms, data, losses, models, paths

N = 40


def _solutions(alpha, kappa, pairs, seed):
    """Pairs of solutions at margin kappa (+0.02 slack) for one data set each."""
    p = data.num_patterns(alpha, N)
    model = models.perceptron(N)
    problem = Problem(model, losses.hinge(kappa + 0.02))
    algo = algorithms.gradient(problem, optax.sgd(1.0))
    keys = jax.random.split(jax.random.key(seed), pairs)
    batches = jax.jit(jax.vmap(lambda k: data.random_patterns(k, N, p)))(keys)
    both = jax.tree.map(lambda x: jnp.concatenate([x, x]), batches)
    inits = jax.random.split(jax.random.key(seed + 1), 2 * pairs)
    states = jax.jit(jax.vmap(lambda k: algo.init(k, model.init(k))))(inits)
    # Solved at margin kappa means zero hinge loss (every Delta >= kappa + 0.02), not
    # `algo.solved` (zero training error); the full budget runs, and steps at zero loss
    # change nothing.
    states, _ = algorithms.run(algo, inits, states, both, 4000, steps_per_chunk=500, samples=True)
    at_margin = lambda s, b: jnp.all(problem.per_example_loss(s.params, b) == 0)
    solved = np.asarray(jax.vmap(at_margin)(states, both))
    a = jax.tree.map(lambda x: x[:pairs], states.params)
    b = jax.tree.map(lambda x: x[pairs:], states.params)
    return a, b, batches, solved


def _error_at_margin(kappa):
    model = models.perceptron(N)

    def error(params, batch):
        delta = batch.y * model.apply(params, batch.x)
        return jnp.mean((delta < kappa).astype(delta.dtype))

    return error


def test_zero_error_barrier_in_the_convex_phase():
    kappa = 0.3
    a, b, batches, solved = _solutions(1.0, kappa, 4, seed=0)
    assert solved.all()
    ts = jnp.linspace(0, 1, 41)
    values = paths.evaluate(
        _error_at_margin(kappa), paths.linear(a, b), ts, batches, samples=True, data_axis=0
    )
    assert values.shape == (4, 41)
    np.testing.assert_array_equal(np.asarray(values), 0.0)
    heights = paths.barrier(values, kind="max_minus_max_endpoints").height
    np.testing.assert_array_equal(np.asarray(heights), 0.0)


def test_nonzero_barrier_at_negative_margin():
    kappa = -0.5
    a, b, batches, solved = _solutions(3.0, kappa, 4, seed=3)
    assert solved.all()
    ts = jnp.linspace(0, 1, 41)
    values = paths.evaluate(
        _error_at_margin(kappa), paths.linear(a, b), ts, batches, samples=True, data_axis=0
    )
    np.testing.assert_array_equal(np.asarray(values[:, [0, -1]]), 0.0)  # both are solutions
    heights = np.asarray(paths.barrier(values, kind="max_minus_max_endpoints").height)
    assert (heights > 0).all(), heights
