"""The explore Hessian panel on the digits MLP (slow: about 10-20 s on 2 cores)."""

import time

import jax
import pytest

from landscape import data, losses, models
from landscape.experiments import panel_hessian
from landscape.experiments.explore import ExploreContext
from landscape.problem import Problem


@pytest.mark.slow
def test_explore_panel_hessian(tmp_path):
    train, test = data.digits()
    model = models.mlp([64, 64, 10])
    problem = Problem(model, losses.cross_entropy(1.0))
    params = model.init(jax.random.key(0))
    ctx = ExploreContext(train, test, problem, model, params, params, jax.random.key(1))
    start = time.perf_counter()
    lines = panel_hessian.explore_panel(ctx, tmp_path)
    print(f"panel: {time.perf_counter() - start:.1f} s", *lines, sep="\n")
    assert (tmp_path / "hessian_spectrum.png").exists()
    assert len(lines) == 2
    assert "converged: True" in lines[0]
