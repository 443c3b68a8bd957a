"""Losses against NumPy loops over examples; Problem's mean, per-example loss and errors."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from landscape import Batch, Problem, losses, models

TOL = {"rtol": 1e-5, "atol": 1e-6}

# binary outputs with exact zeros, labels +-1
OUT_B = np.array([0.7, -0.2, 0.0, 1.5, -3.0, 0.0, 0.05], np.float32)
Y_B = np.array([1.0, 1.0, 1.0, -1.0, -1.0, -1.0, 1.0], np.float32)
# multi-class outputs (P, C), including a tie between the true class and another
OUT_M = np.array(
    [[2.0, 1.0, 0.0], [0.5, 0.5, -1.0], [-1.0, 3.0, 2.5], [0.0, 0.0, 0.0], [1.0, -2.0, 4.0]],
    np.float32,
)
Y_M = np.array([0, 1, 2, 2, 2], np.int32)


def _stab_loop(out, y):
    deltas = []
    for mu in range(len(y)):
        if out.ndim == 1:
            deltas.append(float(y[mu]) * float(out[mu]))
        else:
            c = int(y[mu])
            others = [float(out[mu, j]) for j in range(out.shape[1]) if j != c]
            deltas.append(float(out[mu, c]) - max(others))
    return np.array(deltas)


@pytest.mark.parametrize(("out", "y"), [(OUT_B, Y_B), (OUT_M, Y_M)])
def test_stability(out, y):
    np.testing.assert_allclose(
        losses.stability(jnp.asarray(out), jnp.asarray(y)), _stab_loop(out, y)
    )


@pytest.mark.parametrize(("out", "y"), [(OUT_B, Y_B), (OUT_M, Y_M)])
def test_error_counts_zero_stability_as_error(out, y):
    expected = [1.0 if d <= 0 else 0.0 for d in _stab_loop(out, y)]
    got = losses.error()(jnp.asarray(out), jnp.asarray(y))
    np.testing.assert_array_equal(got, expected)
    assert got[2] == 1.0  # Delta exactly 0 (binary zero output; multi-class: y=2 is not max)


def test_error_on_exact_ties():
    out = jnp.array([0.0, 0.0])
    np.testing.assert_array_equal(losses.error()(out, jnp.array([1.0, -1.0])), [1.0, 1.0])
    tie = jnp.array([[1.0, 1.0, 0.0]])
    np.testing.assert_array_equal(losses.error()(tie, jnp.array([0])), [1.0])


@pytest.mark.parametrize("kappa", [0.0, 0.5])
@pytest.mark.parametrize(("out", "y"), [(OUT_B, Y_B), (OUT_M, Y_M)])
def test_hinge_and_quadratic_hinge(out, y, kappa):
    deltas = _stab_loop(out, y)
    hinge = [max(0.0, kappa - d) for d in deltas]
    quad = [0.5 * max(0.0, kappa - d) ** 2 for d in deltas]
    np.testing.assert_allclose(losses.hinge(kappa)(jnp.asarray(out), jnp.asarray(y)), hinge, **TOL)
    np.testing.assert_allclose(
        losses.quadratic_hinge(kappa)(jnp.asarray(out), jnp.asarray(y)), quad, **TOL
    )


@pytest.mark.parametrize("beta", [0.5, 1.0, 4.0])
def test_cross_entropy_binary(beta):
    deltas = _stab_loop(OUT_B, Y_B)
    expected = [math.log1p(math.exp(-beta * d)) / beta for d in deltas]
    got = losses.cross_entropy(beta)(jnp.asarray(OUT_B), jnp.asarray(Y_B))
    np.testing.assert_allclose(got, expected, **TOL)


@pytest.mark.parametrize("beta", [0.5, 1.0, 4.0])
def test_cross_entropy_multiclass(beta):
    expected = []
    for mu in range(len(Y_M)):
        row = [beta * float(v) for v in OUT_M[mu]]
        top = max(row)
        lse = top + math.log(sum(math.exp(v - top) for v in row))
        expected.append((lse - row[Y_M[mu]]) / beta)
    got = losses.cross_entropy(beta)(jnp.asarray(OUT_M), jnp.asarray(Y_M))
    np.testing.assert_allclose(got, expected, **TOL)


def test_cross_entropy_tends_to_hinge_at_large_beta():
    got = losses.cross_entropy(200.0)(jnp.asarray(OUT_B), jnp.asarray(Y_B))
    hinge = losses.hinge(0.0)(jnp.asarray(OUT_B), jnp.asarray(Y_B))
    np.testing.assert_allclose(got, hinge, atol=0.01)


def test_squared():
    expected_b = [0.5 * (float(o) - float(t)) ** 2 for o, t in zip(OUT_B, Y_B)]
    np.testing.assert_allclose(losses.squared()(jnp.asarray(OUT_B), jnp.asarray(Y_B)), expected_b)
    expected_m = []
    for mu in range(len(Y_M)):
        target = [1.0 if c == Y_M[mu] else 0.0 for c in range(OUT_M.shape[1])]
        expected_m.append(0.5 * sum((float(o) - t) ** 2 for o, t in zip(OUT_M[mu], target)))
    np.testing.assert_allclose(losses.squared()(jnp.asarray(OUT_M), jnp.asarray(Y_M)), expected_m)


def test_by_name():
    assert losses.by_name("hinge", kappa=0.3).name == "hinge(kappa=0.3)"
    assert losses.by_name("squared").name == "squared"


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: losses.hinge(float("inf")), "kappa=inf"),
        (lambda: losses.quadratic_hinge(float("nan")), "kappa=nan"),
        (lambda: losses.cross_entropy(0.0), "beta=0.0"),
        (lambda: losses.cross_entropy(-1.0), "beta=-1.0"),
        (lambda: losses.by_name("nope"), "loss='nope'"),
    ],
)
def test_bad_loss_arguments(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_problem_methods_against_numpy():
    n, p = 6, 11
    rng = np.random.default_rng(0)
    x = rng.standard_normal((p, n)).astype(np.float32)
    y = np.where(rng.standard_normal(p) > 0, 1.0, -1.0).astype(np.float32)
    w = rng.standard_normal(n).astype(np.float32)
    problem = Problem(models.perceptron(n), losses.quadratic_hinge(0.2))
    batch = Batch(jnp.asarray(x), jnp.asarray(y))
    deltas = y * (x.astype(np.float64) @ w) / np.linalg.norm(w)
    per = 0.5 * np.maximum(0.0, 0.2 - deltas) ** 2
    params = {"w": jnp.asarray(w)}
    np.testing.assert_allclose(problem.stabilities(params, batch), deltas, **TOL)
    np.testing.assert_allclose(problem.per_example_loss(params, batch), per, **TOL)
    np.testing.assert_allclose(problem.loss(params, batch), per.mean(), **TOL)
    np.testing.assert_allclose(problem.errors(params, batch), np.mean(deltas <= 0), **TOL)
    # chunked means (chunk size not dividing P) equal the plain ones
    np.testing.assert_allclose(problem.loss(params, batch, examples_per_chunk=4), per.mean(), **TOL)
    np.testing.assert_allclose(
        problem.errors(params, batch, examples_per_chunk=4), np.mean(deltas <= 0), **TOL
    )


@pytest.mark.x64
def test_losses_x64():
    out = np.array([0.3, -1.1, 0.0, 2.0])
    y = np.array([1.0, -1.0, 1.0, 1.0])
    deltas = y * out
    np.testing.assert_allclose(
        losses.cross_entropy(2.0)(jnp.asarray(out), jnp.asarray(y)),
        np.log1p(np.exp(-2.0 * deltas)) / 2.0,
        rtol=1e-13,
    )
    np.testing.assert_allclose(
        losses.quadratic_hinge(1.0)(jnp.asarray(out), jnp.asarray(y)),
        0.5 * np.maximum(0, 1.0 - deltas) ** 2,
        rtol=1e-13,
    )
