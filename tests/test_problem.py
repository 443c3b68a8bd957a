"""The problem contract: batch checks, parameter checks, and what importing landscape loads."""

import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest

from landscape import Batch, Model, Problem, losses, models
from landscape._util import check_params, check_positive_int
from landscape.problem import check_batch, num_params


def _batch(p=4, n=3):
    x = np.random.default_rng(0).standard_normal((p, n)).astype(np.float32)
    return Batch(x, np.array([1.0, -1.0, 1.0, -1.0][:p], np.float32))


def test_check_batch_accepts_good_batches():
    batch = _batch()
    assert check_batch(batch, binary=True) is batch
    multi = Batch(np.zeros((3, 2), np.float32), np.array([0, 5, 2]))
    assert check_batch(multi) is multi


@pytest.mark.parametrize(
    ("batch", "kwargs", "match"),
    [
        (Batch(np.array([[np.nan, 1.0]]), np.ones(1)), {}, "NaN or inf"),
        (Batch(np.array([[np.inf, 1.0]]), np.ones(1)), {}, "NaN or inf"),
        (Batch(np.zeros((4, 3)), np.ones(3)), {}, r"shape \(4, 3\).*shape \(3,\)"),
        (Batch(np.zeros((0, 3)), np.ones(0)), {}, "no examples"),
        (Batch(np.zeros((3, 2)), np.ones((3, 1))), {}, "one label per example"),
        (Batch(np.zeros((3, 2)), np.array([1.0, 0.0, 2.0])), {"binary": True}, r"\[0.0, 2.0\]"),
        ((np.zeros(3),), {}, "Batch"),
    ],
)
def test_check_batch_bad_input(batch, kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_batch(batch, **kwargs)


def test_check_params_and_sizes():
    check_params({"w": jnp.ones(3)})
    with pytest.raises(ValueError, match=r"params\['w'\] contains NaN"):
        check_params({"w": jnp.array([1.0, jnp.nan])})
    assert check_positive_int(np.int64(3), "n") == 3
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="n="):
            check_positive_int(bad, "n")


def test_num_params_and_model_contract(key):
    model = models.mlp([4, 3, 2])
    assert isinstance(model, Model)
    assert num_params(model.init(key)) == 4 * 3 + 3 + 3 * 2 + 2


def test_problem_with_multiclass_outputs(key):
    model = models.mlp([3, 4])
    problem = Problem(model, losses.cross_entropy(1.0))
    params = model.init(key)
    x = np.random.default_rng(1).standard_normal((6, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 3, 0, 1], np.int32)
    out = np.asarray(model.apply(params, x), np.float64)
    wrong = np.mean(np.argmax(out, axis=1) != y)
    np.testing.assert_allclose(problem.errors(params, Batch(x, y)), wrong, atol=1e-6)
    assert problem.per_example_loss(params, Batch(x, y)).shape == (6,)


def test_importing_landscape_loads_neither_matplotlib_nor_sklearn():
    code = (
        "import sys\n"
        "import landscape, landscape.models, landscape.losses, landscape.data\n"
        "import landscape.algorithms, landscape.parallel, landscape.runs, landscape.stats\n"
        "import landscape.problem, landscape.cli\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'sklearn'))\n"
        "print(repr(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stdout
