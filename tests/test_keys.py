"""Every public function that takes a key accepts typed and legacy keys, with the same result.

``jax.random.key(s)`` (a typed key) and ``jax.random.PRNGKey(s)`` (uint32, shape (2,))
draw the same random numbers; each case below calls one public function with both
and compares the outputs. Functions whose key argument is one key per sample get
``jax.vmap(jax.random.key)`` and ``jax.vmap(jax.random.PRNGKey)`` of the same seeds.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from landscape import Batch, Problem, algorithms, curvature, data, flatness, losses, models, paths
from landscape._util import as_key

N = 12
BATCH = data.random_patterns(jax.random.key(100), N, 8)
PROBLEM = Problem(models.perceptron(N), losses.hinge(0.0))
W = PROBLEM.model.init(jax.random.key(101))
MLP = models.mlp([4, 3, 2])
MLP_PARAMS = MLP.init(jax.random.key(102))
MLP_BATCH = Batch(
    jax.random.normal(jax.random.key(103), (10, 4)), jnp.arange(10, dtype=jnp.int32) % 2
)
MLP_LOSS = Problem(MLP, losses.cross_entropy(1.0)).loss


def _run_gradient(key):
    algo = algorithms.gradient(PROBLEM, optax.sgd(0.1), batch_size=4)
    state = algo.init(key, W)
    return algorithms.run(algo, key, state, BATCH, 6, steps_per_chunk=3)[0].params


def _run_samples(keys):
    algo = algorithms.gradient(PROBLEM, optax.sgd(0.1), batch_size=4)
    states = jax.vmap(lambda k: algo.init(k, W))(keys)
    return algorithms.run(
        algo, keys, states, BATCH, 4, steps_per_chunk=2, samples=True, data_axis=None
    )[0].params


def _replicated_independent(key):
    algo = algorithms.replicated_sgd(
        PROBLEM, optax.sgd(0.1), 3, gamma=0.1, batch_size=4, independent_starts=True
    )
    return algo.step(key, algo.init(key, W), BATCH)[0].params


def _entropy_sgd(key):
    algo = algorithms.entropy_sgd(PROBLEM, optax.sgd(0.1), gamma=0.5, langevin_steps=3)
    return algo.step(key, algo.init(key, W), BATCH)[0].params


def _local_energy(key):
    return flatness.local_energy(key, PROBLEM.errors, W, BATCH, [0.0, 0.5], num_samples=4).mean


def _local_entropy(key):
    fn = lambda w, b: jnp.maximum(jnp.sum(w["w"] ** 2) - 100.0, 0.0)
    return flatness.local_entropy(
        key, fn, W, None, [1.0, 10.0], num_chains=2, num_steps=5, burn_in=2
    ).distance


CASES = {
    "data.random_patterns": lambda k: data.random_patterns(k, N, 5),
    "models.init": lambda k: MLP.init(k),
    "algorithms.run": _run_gradient,
    "algorithms.replicated_sgd(independent_starts)": _replicated_independent,
    "algorithms.entropy_sgd": _entropy_sgd,
    "flatness.local_energy": _local_energy,
    "flatness.local_entropy": _local_entropy,
    "curvature.top_eigenpairs": lambda k: (
        curvature.top_eigenpairs(k, MLP_LOSS, MLP_PARAMS, MLP_BATCH, 2).eigenvalues
    ),
    "curvature.trace": lambda k: (
        curvature.trace(k, MLP_LOSS, MLP_PARAMS, MLP_BATCH, num_matvecs=12).mean
    ),
    "curvature.invariant_trace": lambda k: (
        curvature.invariant_trace(k, MLP_LOSS, MLP_PARAMS, MLP_BATCH, num_matvecs=12).mean
    ),
    "curvature.spectral_density": lambda k: (
        curvature.spectral_density(
            k, MLP_LOSS, MLP_PARAMS, MLP_BATCH, num_steps=4, num_probes=2
        ).nodes
    ),
    "curvature.lanczos": lambda k: (
        curvature.lanczos(lambda v: 2.0 * v, jnp.ones(5), 3, key=k).alphas
    ),
    "paths.random_plane": lambda k: paths.random_plane(k, MLP_PARAMS).d1,
    "paths.hessian_plane": lambda k: paths.hessian_plane(k, MLP_LOSS, MLP_PARAMS, MLP_BATCH)[1],
    "paths.train_curve": lambda k: (
        paths.train_curve(
            k,
            MLP_LOSS,
            MLP_PARAMS,
            jax.tree.map(lambda x: x + 0.1, MLP_PARAMS),
            MLP_BATCH,
            optimizer=optax.sgd(0.1),
            max_steps=3,
        )[1].loss
    ),
    "paths.weight_matching": lambda k: (
        paths.weight_matching(
            MLP_PARAMS, jax.tree.map(lambda x: x[::-1] if x.ndim == 1 else x, MLP_PARAMS), key=k
        ).objective_after
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_typed_and_legacy_keys_agree(name):
    fn = CASES[name]
    typed = fn(jax.random.key(7))
    legacy = fn(jax.random.PRNGKey(7))
    for a, b in zip(jax.tree.leaves(typed), jax.tree.leaves(legacy), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)


def test_per_sample_keys():
    seeds = jnp.arange(3)
    typed = _run_samples(jax.vmap(jax.random.key)(seeds))
    legacy = _run_samples(jax.vmap(jax.random.PRNGKey)(seeds))
    np.testing.assert_allclose(np.asarray(typed["w"]), np.asarray(legacy["w"]), rtol=1e-6)


def test_as_key_rejects_non_keys():
    with pytest.raises(ValueError, match="key has dtype"):
        as_key(jnp.ones(2))
    with pytest.raises(ValueError, match="seed has dtype"):
        as_key(np.zeros(3, np.uint32), "seed")
