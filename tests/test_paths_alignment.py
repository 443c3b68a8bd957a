"""Weight matching and permutations: exact recovery, function preserved, barriers lowered."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from landscape import Problem, algorithms, data, losses, models, paths


def _random_permutation(spec, params, key):
    perms = {}
    for i, (name, entries) in enumerate(sorted(spec.axes.items())):
        (path, axis) = entries[0]
        leaf = params
        for k in path:
            leaf = leaf[k]
        perms[name] = jax.random.permutation(jax.random.fold_in(key, i), leaf.shape[axis])
    return perms


@pytest.mark.parametrize("features", [(6, 10, 3), (8, 64, 64, 4)])
def test_recovers_random_permutation_and_keeps_function(features, key):
    model = models.mlp(list(features))
    a = jax.jit(model.init)(key)
    apply = jax.jit(model.apply)
    spec = paths.permutation_spec(a)
    assert len(spec.axes) == len(features) - 2
    perm = _random_permutation(spec, a, jax.random.key(7))
    b = paths.permute(a, spec, perm)
    x = jax.random.normal(jax.random.key(1), (5, features[0]))
    np.testing.assert_allclose(apply(b, x), apply(a, x), rtol=1e-5, atol=1e-5)
    assert paths.matching_objective(a, b) < paths.matching_objective(a, a)
    result = paths.weight_matching(a, b, spec, key=jax.random.key(3))
    for x_, y_ in zip(jax.tree.leaves(result.params), jax.tree.leaves(a)):
        np.testing.assert_array_equal(np.asarray(x_), np.asarray(y_))
    assert result.objective_after == pytest.approx(paths.matching_objective(a, a), rel=1e-6)
    assert result.objective_after > result.objective_before


def test_objective_never_decreases_and_stacked_pairs(key):
    model = models.mlp([6, 16, 16, 3])
    keys = jax.random.split(key, 4)
    stacked = jax.jit(jax.vmap(model.init))(keys)
    a = jax.tree.map(lambda x: x[:2], stacked)
    b = jax.tree.map(lambda x: x[2:], stacked)
    res = paths.weight_matching(a, b, samples=True)
    apply = jax.jit(model.apply)
    assert res.objective_after.shape == (2,)
    assert np.all(res.objective_after >= res.objective_before)
    assert res.permutation["Dense_0"].shape == (2, 16)
    x = jax.random.normal(key, (4, 6))
    for s in range(2):
        b_s = jax.tree.map(lambda v, s=s: v[s], b)
        al_s = jax.tree.map(lambda v, s=s: v[s], res.params)
        np.testing.assert_allclose(apply(al_s, x), apply(b_s, x), rtol=1e-5, atol=1e-5)


def test_committee_machines(key):
    n, k = 12, 5
    fc = models.committee_machine(n, k, tree=False)
    a = jax.jit(fc.init)(key)
    spec = paths.permutation_spec(a, tree=False)
    perm = {"units": jax.random.permutation(jax.random.key(2), k)}
    b = paths.permute(a, spec, perm)
    x = jax.random.normal(key, (7, n))
    np.testing.assert_allclose(fc.apply(b, x), fc.apply(a, x), rtol=1e-5, atol=1e-6)
    res = paths.weight_matching(a, b, spec)
    np.testing.assert_array_equal(np.asarray(res.params["w"]), np.asarray(a["w"]))
    # Tree committee machines have no permutation symmetry: identity.
    tree_params = models.committee_machine(n, 3, tree=True).init(key)
    with pytest.raises(ValueError, match="tree"):
        paths.permutation_spec(tree_params)
    tree_spec = paths.permutation_spec(tree_params, tree=True)
    assert tree_spec.axes == {}
    other = models.committee_machine(n, 3, tree=True).init(jax.random.key(9))
    res = paths.weight_matching(tree_params, other, tree_spec)
    np.testing.assert_array_equal(np.asarray(res.params["w"]), np.asarray(other["w"]))
    assert res.objective_after == res.objective_before


def test_value_errors(key):
    cnn_params = {"Conv_0": {"kernel": jnp.ones((3, 3, 1, 2))}, "Dense_0": {"kernel": jnp.ones(2)}}
    with pytest.raises(ValueError, match="PermutationSpec"):
        paths.permutation_spec(cnn_params)
    params = jax.jit(models.mlp([3, 4, 2]).init)(key)
    spec = paths.permutation_spec(params)
    with pytest.raises(ValueError, match="expected \\(4,\\)"):
        paths.permute(params, spec, {"Dense_0": jnp.arange(3)})
    with pytest.raises(ValueError, match="keys"):
        paths.permute(params, spec, {"Dense_1": jnp.arange(4)})
    with pytest.raises(ValueError, match="structures"):
        paths.weight_matching(params, {**params, "Dense_2": params["Dense_1"]})


def test_aligned_barrier_no_larger_on_digits():
    """Two MLPs trained from different seeds on digits: alignment lowers the loss barrier."""
    train, _ = data.digits()
    train = jax.tree.map(lambda x: x[:300], train)
    model = models.mlp([64, 24, 10])
    problem = Problem(model, losses.cross_entropy())
    algo = algorithms.gradient(problem, optax.adam(0.03))
    init = jax.jit(lambda k: algo.init(k, model.init(k)))
    a, b = (
        algorithms.run(algo, jax.random.key(s), init(jax.random.key(s)), train, 150)[0].params
        for s in (0, 1)
    )
    res = paths.weight_matching(a, b, key=jax.random.key(1))
    assert res.objective_after > res.objective_before
    ts = jnp.linspace(0, 1, 11)
    pair = jax.tree.map(lambda x, y: jnp.stack([x, y]), b, res.params)
    a2 = jax.tree.map(lambda x: jnp.stack([x, x]), a)
    values = paths.evaluate(problem.loss, paths.linear(a2, pair), ts, train, samples=True)
    heights = np.asarray(paths.barrier(values, kind="max_minus_linear").height)
    assert heights[1] <= heights[0], heights
    assert heights[0] > 0.05, heights
