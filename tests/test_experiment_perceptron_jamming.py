"""Smoke test of the perceptron-jamming experiment's quick config."""

import dataclasses

import pytest

from landscape.experiments import perceptron_jamming


def test_quick_runs_and_plots(tmp_path):
    config = dataclasses.replace(
        perceptron_jamming.Config.quick(), n=12, alphas=(1.0, 5.0), samples=2, max_steps=300
    )
    rows = perceptron_jamming.run(config, tmp_path)
    assert len(rows) == 4
    low = [r for r in rows if r["alpha"] == 1.0 and r["kappa"] == 0.0][0]
    high = [r for r in rows if r["alpha"] == 5.0 and r["kappa"] == 0.0][0]
    assert low["energy_per_n"] < 1e-12
    assert high["energy_per_n"] > 0
    assert high["max_norm_error"] < 1e-9
    for field in ("n_delta_per_n", "energy_per_n_stderr", "n_delta_per_n_stderr"):
        assert field in high
    assert len(perceptron_jamming.plot(tmp_path)) == 2


def test_config_errors():
    with pytest.raises(ValueError, match="alphas"):
        perceptron_jamming.Config(alphas=(0.0,))
    with pytest.raises(ValueError, match="samples"):
        perceptron_jamming.Config(samples=0)
