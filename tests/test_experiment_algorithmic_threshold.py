"""Smoke test of algorithmic-threshold's quick config, run through the command line."""

import jax
import pytest

from landscape import cli, runs
from landscape.experiments import algorithmic_threshold


def test_quick_config_runs_plots_and_resumes(tmp_path, capsys, monkeypatch):
    # the RS capacity line costs ~15 s of compilation (landscape.theory, tested there): stub it
    monkeypatch.setattr(algorithmic_threshold, "capacity", lambda kappa: 0.833)
    out = tmp_path / "threshold"
    assert cli.main(["run", "algorithmic-threshold", "--quick", "--out", str(out)]) == 0
    capsys.readouterr()
    config = algorithmic_threshold.Config.quick()
    rows = runs.read_rows(out)
    expected = [(s, n, a) for s in config.solvers for n in config.n for a in config.alphas]
    assert [(r["solver"], r["n"], r["alpha"]) for r in rows] == expected
    for row in rows:
        assert 0.0 <= row["p_success"] <= 1.0
        assert row["p_success_stderr"] >= 0.0
        assert row["seconds"] > 0.0
        if row["p_success"] > 0:
            assert 0 <= row["median_sweeps"] <= config.sweeps
        else:
            assert row["median_sweeps"] is None
    by = {(r["solver"], r["alpha"]): r for r in rows}
    # far below the capacity 0.833 every solver solves everything; at n = 51 a load above it
    # is still solvable sometimes (finite size), but less often
    for solver in config.solvers:
        assert by[(solver, 0.3)]["p_success"] == 1.0
        assert by[(solver, 0.9)]["p_success"] < 1.0
    arrays = runs.load_params(out, "point0000")
    assert arrays["['solved']"].shape == (config.samples,)
    assert (out / "algorithmic_threshold.png").stat().st_size > 0
    # resuming a finished run redoes nothing and keeps the rows
    assert algorithmic_threshold.run(config, out) == rows


@pytest.mark.slow
def test_plot_draws_the_theory_capacity(tmp_path):
    config = algorithmic_threshold.Config(
        solvers=("sbpi",), n=(51,), alphas=(0.3,), samples=4, sweeps=50
    )
    algorithmic_threshold.run(config, tmp_path)
    assert abs(algorithmic_threshold.capacity(0.0) - 0.833) < 1e-3
    assert algorithmic_threshold.plot(tmp_path)[0].stat().st_size > 0


def test_focusing_bp_keeps_the_sweep_budget():
    algo, steps = algorithmic_threshold.SOLVERS["focusing_bp"](51, 30, 0.0, 200)
    assert steps == 10  # 10 focusing steps of at most 20 BP sweeps: 200 sweeps at most


def test_binary_replicated_sgd_keeps_the_sweep_budget():
    algo, epochs = algorithmic_threshold.SOLVERS["binary_replicated_sgd"](51, 30, 0.0, 200)
    assert epochs == 28  # 28 epochs of y = 7 replicas: 196 sweeps
    state = algo.init(jax.random.key(0))
    assert state.weights.shape == (7, 51)
    config = algorithmic_threshold.Config(solvers=("binary_replicated_sgd",))
    assert "binary_replicated_sgd" in config.solvers


def test_config_rejects_bad_input():
    assert algorithmic_threshold.Config(solvers=("focusing_bp",)).solvers == ("focusing_bp",)
    with pytest.raises(ValueError, match="solvers"):
        algorithmic_threshold.Config(solvers=("gradient",))
    with pytest.raises(ValueError, match="n has 200"):
        algorithmic_threshold.Config(n=(200,))
    with pytest.raises(ValueError, match="alphas"):
        algorithmic_threshold.Config(alphas=(0.0, 0.5))
    with pytest.raises(ValueError, match="kappa"):
        algorithmic_threshold.Config(kappa=-0.5)
