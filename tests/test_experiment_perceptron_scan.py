"""Smoke test of perceptron-scan's quick config, run through the command line."""

from landscape import cli, runs
from landscape.experiments import perceptron_scan


def test_quick_config_runs_and_plots(tmp_path, capsys):
    out = tmp_path / "scan"
    assert cli.main(["run", "perceptron-scan", "--quick", "--out", str(out)]) == 0
    capsys.readouterr()
    config = perceptron_scan.Config.quick()
    rows = runs.read_rows(out)
    assert [r["alpha"] for r in rows] == list(config.alphas)
    assert [r["point_index"] for r in rows] == list(range(len(config.alphas)))
    for row in rows:
        assert row["p"] == round(row["alpha"] * config.n)
        assert 0.0 <= row["fraction_solved"] <= 1.0
        assert 0.0 <= row["error_mean"] <= 1.0
        assert row["loss_mean"] >= 0.0
    by_alpha = {r["alpha"]: r for r in rows}
    # far below Gardner's capacity alpha_c(0) = 2 every sample is solved ...
    assert by_alpha[0.5]["fraction_solved"] == 1.0
    assert by_alpha[0.5]["error_mean"] == 0.0
    # ... and above it no sample can be (UNSAT), so the error stays positive
    assert by_alpha[3.0]["fraction_solved"] == 0.0
    assert by_alpha[3.0]["error_mean"] > 0.0
    arrays = runs.load_params(out, "point0000")
    assert arrays["['w']"].shape == (config.samples, config.n)
    assert (out / "perceptron_scan.png").stat().st_size > 0
    # resuming a finished run redoes nothing and keeps the rows
    assert perceptron_scan.run(config, out) == rows
