"""Models against plain NumPy formulas: perceptrons, committee machines, MLP and CNN."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import erf as np_erf

from landscape import Batch, Problem, losses, models

RTOL = 2e-5
ATOL = 2e-5


def _x(seed, p, n):
    return np.random.default_rng(seed).standard_normal((p, n)).astype(np.float32)


def test_spherical_perceptron_matches_numpy(key):
    n, p = 7, 5
    model = models.perceptron(n)
    params = model.init(key)
    assert params["w"].shape == (n,)
    x = _x(0, p, n)
    w = np.asarray(params["w"], np.float64)
    expected = x.astype(np.float64) @ w / np.sqrt(np.sum(w**2))
    out = model.apply(params, jnp.asarray(x))
    assert out.shape == (p,)
    np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)
    # scale invariance in the latent weights
    np.testing.assert_allclose(model.apply({"w": 3.7 * params["w"]}, x), out, rtol=RTOL, atol=ATOL)


def test_binary_perceptron_matches_numpy():
    n, p = 9, 6
    model = models.perceptron(n, binary=True)
    w = np.array([0.3, -1.2, 0.0, 2.0, -0.1, 0.5, -0.7, 1.1, -2.2], np.float32)
    x = _x(1, p, n)
    sign = np.array([1.0 if v >= 0 else -1.0 for v in w])  # sign(0) = +1
    expected = x.astype(np.float64) @ sign / np.sqrt(n)
    out = model.apply({"w": jnp.asarray(w)}, jnp.asarray(x))
    assert out.shape == (p,)
    np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)


def test_binary_perceptron_straight_through_gradient():
    n, p = 9, 6
    model = models.perceptron(n, binary=True)
    w = jnp.asarray(np.random.default_rng(2).standard_normal(n), jnp.float32)
    x = _x(3, p, n)
    c = np.random.default_rng(4).standard_normal(p).astype(np.float32)
    grad = jax.grad(lambda params: jnp.sum(model.apply(params, x) * c))({"w": w})["w"]
    # identity through the sign: d/dw sum_mu c_mu sign(w).x_mu / sqrt(n) = x^T c / sqrt(n)
    expected = x.astype(np.float64).T @ c / np.sqrt(n)
    np.testing.assert_allclose(grad, expected, rtol=RTOL, atol=ATOL)


def _committee_numpy(w, x, k, tree, binary, g):
    p, n = x.shape
    width = n // k if tree else n
    h = np.zeros((p, k))
    for mu in range(p):
        for unit in range(k):
            xl = x[mu, unit * width : (unit + 1) * width] if tree else x[mu]
            wl = w[unit]
            if binary:
                h[mu, unit] = np.dot(np.where(wl >= 0, 1.0, -1.0), xl) / np.sqrt(width)
            else:
                h[mu, unit] = np.dot(wl, xl) / np.linalg.norm(wl)
    out = np.sum(g(h), axis=1) / np.sqrt(k)
    vote = np.sum(np.where(h > 0, 1.0, -1.0), axis=1) / np.sqrt(k)
    return out, vote


@pytest.mark.parametrize(
    ("tree", "binary", "activation"),
    [
        (True, False, "erf"),
        (True, False, "tanh"),
        (False, False, "erf"),
        (False, False, "tanh"),
        (True, True, "erf"),
        (False, True, "tanh"),
    ],
)
def test_committee_machine_matches_numpy(key, tree, binary, activation):
    n, k, p = 15, 3, 8
    model = models.committee_machine(
        n, k, tree=tree, binary=binary, activation=activation, readout="sum"
    )
    params = model.init(key)
    assert params["w"].shape == ((k, n // k) if tree else (k, n))
    x = _x(5, p, n)
    g = np_erf if activation == "erf" else np.tanh
    w = np.asarray(params["w"], np.float64)
    out_ref, vote_ref = _committee_numpy(w, x.astype(np.float64), k, tree, binary, g)
    out = model.apply(params, jnp.asarray(x))
    vote = model.classify(params, jnp.asarray(x))
    assert out.shape == (p,)
    assert vote.shape == (p,)
    np.testing.assert_allclose(out, out_ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(vote, vote_ref, rtol=RTOL, atol=ATOL)


def test_committee_errors_use_the_sign_vote(key):
    n, k, p = 15, 3, 40
    model = models.committee_machine(n, k)
    params = model.init(key)
    x = _x(6, p, n)
    y = np.where(np.random.default_rng(7).standard_normal(p) > 0, 1.0, -1.0).astype(np.float32)
    _, vote = _committee_numpy(np.asarray(params["w"], np.float64), x, k, True, False, np_erf)
    problem = Problem(model, losses.hinge(0.0))
    expected = np.mean(y * vote <= 0)
    np.testing.assert_allclose(problem.errors(params, Batch(x, y)), expected, atol=1e-6)


@pytest.mark.parametrize(
    ("tree", "binary", "k"), [(True, False, 3), (False, False, 5), (True, True, 3)]
)
def test_committee_median_readout_is_the_least_action_unit(key, tree, binary, k):
    n, p = 15, 12
    model = models.committee_machine(n, k, tree=tree, binary=binary, readout="median")
    params = model.init(key)
    x = _x(9, p, n)
    w = np.asarray(params["w"], np.float64)
    _, vote_ref = _committee_numpy(w, x.astype(np.float64), k, tree, binary, np_erf)
    # Each unit's pre-activation: the reference with k = 1 on its own weights and inputs.
    xd = x.astype(np.float64)
    width = n // k if tree else n
    h = np.stack(
        [
            _committee_numpy(
                w[u : u + 1],
                xd[:, u * width : (u + 1) * width] if tree else xd,
                1,
                tree,
                binary,
                lambda v: v,
            )[0]
            for u in range(k)
        ],
        axis=1,
    )
    out = np.asarray(model.apply(params, jnp.asarray(x)))
    assert out.shape == (p,)
    np.testing.assert_allclose(out, np.median(h, axis=1), rtol=RTOL, atol=ATOL)
    assert np.all(np.sign(out) == np.sign(vote_ref))  # the median's sign is the vote
    # The gradient of the median moves one unit per pattern: the middle order statistic.
    grad = jax.grad(lambda prm: model.apply(prm, jnp.asarray(x[:1]))[0])(params)["w"]
    assert int(np.sum(np.any(np.asarray(grad) != 0, axis=1))) == 1
    np.testing.assert_allclose(
        model.classify(params, jnp.asarray(x)), vote_ref, rtol=RTOL, atol=ATOL
    )
    with pytest.raises(ValueError, match="readout"):
        models.committee_machine(n, k, readout="max")


def _dense(params, x):
    return x @ np.asarray(params["kernel"], np.float64) + np.asarray(params["bias"], np.float64)


@pytest.mark.parametrize(("features", "activation"), [([6, 5, 4, 3], "relu"), ([6, 4, 1], "tanh")])
def test_mlp_matches_numpy(key, features, activation):
    model = models.mlp(features, activation=activation)
    params = model.init(key)
    layers = len(features) - 1
    assert sorted(params) == [f"Dense_{i}" for i in range(layers)]
    for i in range(layers):
        assert params[f"Dense_{i}"]["kernel"].shape == (features[i], features[i + 1])
        assert params[f"Dense_{i}"]["bias"].shape == (features[i + 1],)
    g = (lambda h: np.maximum(h, 0.0)) if activation == "relu" else np.tanh
    x = _x(8, 5, features[0])
    h = x.astype(np.float64)
    for i in range(layers):
        h = _dense(params[f"Dense_{i}"], h)
        if i < layers - 1:
            h = g(h)
    if features[-1] == 1:
        h = h[:, 0]
    out = model.apply(params, jnp.asarray(x))
    assert out.shape == h.shape
    np.testing.assert_allclose(out, h, rtol=1e-4, atol=1e-5)


def _conv_same_3x3(x, kernel, bias):
    # x (P, H, W, Cin), kernel (3, 3, Cin, Cout): cross-correlation with zero padding 1
    p, hh, ww, _ = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.zeros((p, hh, ww, kernel.shape[-1]))
    for i in range(hh):
        for j in range(ww):
            patch = xp[:, i : i + 3, j : j + 3, :]
            out[:, i, j, :] = np.einsum("pabc,abcd->pd", patch, kernel)
    return out + bias


def _avg_pool_2x2(x):
    p, hh, ww, c = x.shape
    return x.reshape(p, hh // 2, 2, ww // 2, 2, c).mean(axis=(2, 4))


def test_cnn_matches_numpy(key):
    model = models.cnn(input_shape=(8, 8, 1), channels=(2, 3), hidden=5, outputs=4)
    params = model.init(key)
    x = _x(9, 3, 64)
    relu = lambda h: np.maximum(h, 0.0)
    h = x.astype(np.float64).reshape(3, 8, 8, 1)
    for i in range(2):
        conv = params[f"Conv_{i}"]
        h = relu(
            _conv_same_3x3(h, np.asarray(conv["kernel"], np.float64), np.asarray(conv["bias"]))
        )
        h = _avg_pool_2x2(h)
    h = h.reshape(3, -1)
    h = relu(_dense(params["Dense_0"], h))
    h = _dense(params["Dense_1"], h)
    out = model.apply(params, jnp.asarray(x))
    assert out.shape == (3, 4)
    np.testing.assert_allclose(out, h, rtol=1e-4, atol=1e-5)
    # shaped inputs give the same outputs
    np.testing.assert_allclose(model.apply(params, x.reshape(3, 8, 8, 1)), out, rtol=1e-6)


def test_cnn_single_output_is_binary(key):
    model = models.cnn(channels=(2,), hidden=3, outputs=1)
    assert model.apply(model.init(key), jnp.ones((4, 64))).shape == (4,)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: models.perceptron(0), "n=0"),
        (lambda: models.perceptron(-3), "n=-3"),
        (lambda: models.committee_machine(12, 4), "k=4"),
        (lambda: models.committee_machine(10, 3, tree=True), "divisible"),
        (lambda: models.committee_machine(0, 3), "n=0"),
        (lambda: models.committee_machine(9, 3, activation="relu"), "activation"),
        (lambda: models.mlp([4]), "features"),
        (lambda: models.mlp([4, 0, 2]), r"features\[1\]=0"),
        (lambda: models.mlp([4, 2], activation="nope"), "activation"),
        (lambda: models.cnn(input_shape=(6, 6, 1), channels=(2, 2)), "divisible"),
        (lambda: models.cnn(hidden=0), "hidden=0"),
    ],
)
def test_bad_model_arguments(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_fully_connected_committee_accepts_any_n():
    assert models.committee_machine(10, 3, tree=False).init(jax.random.key(0))["w"].shape == (
        3,
        10,
    )


@pytest.mark.x64
def test_perceptron_and_committee_x64(key):
    n, k, p = 15, 5, 4
    x = np.random.default_rng(10).standard_normal((p, n))
    model = models.committee_machine(n, k, tree=True, readout="sum")
    params = model.init(key)
    out_ref, vote_ref = _committee_numpy(np.asarray(params["w"]), x, k, True, False, np_erf)
    np.testing.assert_allclose(model.apply(params, x), out_ref, rtol=1e-12)
    np.testing.assert_allclose(model.classify(params, x), vote_ref, rtol=1e-12)
    w = np.asarray(models.perceptron(n).init(key)["w"])
    np.testing.assert_allclose(
        models.perceptron(n).apply({"w": w}, x), x @ w / np.linalg.norm(w), rtol=1e-12
    )
