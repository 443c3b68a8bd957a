"""The explore panel for linear mode connectivity writes its figure and summary."""

import time
from typing import Any, NamedTuple

import jax

from landscape import Problem, data, losses, models
from landscape.experiments import panel_lmc


class Ctx(NamedTuple):
    train: Any
    test: Any
    problem: Any
    model: Any
    params: Any
    params_b: Any
    key: Any


def test_panel_lmc(tmp_path):
    train, test = data.digits()
    model = models.mlp([64, 16, 10])
    init = jax.jit(model.init)
    ctx = Ctx(
        train,
        test,
        Problem(model, losses.cross_entropy()),
        model,
        init(jax.random.key(0)),
        init(jax.random.key(1)),
        jax.random.key(2),
    )
    start = time.perf_counter()
    lines = panel_lmc.explore_panel(ctx, tmp_path)
    assert time.perf_counter() - start < 60  # budget 20 s on a free 2-core machine
    assert (tmp_path / "lmc.png").exists()
    assert "barrier" in lines[0]
