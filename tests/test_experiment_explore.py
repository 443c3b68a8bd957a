"""Smoke test of explore's quick config (the foundation's panels: digits MLP and perceptron)."""

import dataclasses

from landscape import runs
from landscape.experiments import explore


def test_quick_config_writes_summary_and_figures(tmp_path, capsys):
    # the measurement panels are tested by their own modules; here the tour's own stages
    config = dataclasses.replace(explore.Config.quick(), panels=())
    explore.run(config, tmp_path)
    capsys.readouterr()
    summary = (tmp_path / "summary.txt").read_text()
    assert "MLP 64-64-10 on digits" in summary
    assert "spherical perceptron" in summary
    rows = {r["panel"]: r for r in runs.read_rows(tmp_path)}
    assert set(rows) == {"mlp_seed0", "mlp_seed1", "perceptron"}
    curves = rows["mlp_seed0"]["curves"]
    assert curves[-1][0] == config.mlp_steps
    assert curves[-1][2] < 0.05  # training error of the digits MLP
    assert curves[-1][4] < 0.1  # test error
    assert len(runs.read_rows(tmp_path / "perceptron-scan")) == len(config.perceptron_alphas)
    figures = explore.plot(tmp_path)
    names = {p.name for p in figures}
    assert {"explore_mlp.png", "explore_perceptron.png"} <= names
    assert all(p.stat().st_size > 0 for p in figures)
    # resuming reloads the minima and redoes nothing
    explore.run(config, tmp_path)
    assert len(runs.read_rows(tmp_path)) == 3
