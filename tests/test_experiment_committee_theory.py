"""Smoke test of committee-theory's quick config, run through the command line."""

import math

from landscape import cli, runs
from landscape.experiments import committee_theory


def test_quick_config_runs_and_plots(tmp_path, capsys):
    out = tmp_path / "committee"
    assert cli.main(["run", "committee-theory", "--quick", "--out", str(out)]) == 0
    capsys.readouterr()
    config = committee_theory.Config.quick()
    rows = runs.read_rows(out)
    assert len(rows) == len(committee_theory.points(config))
    finite = {r["k"]: r["alpha_c"] for r in rows if r["curve"] == "finite_k_capacity"}
    assert abs(finite[1] - 2.0) < 1e-10
    assert abs(finite[3] - 4.025192) < 1e-6
    assert finite[1] < finite[3] < finite[5]
    caps = {(r["activation"], r["weights"]): r["alpha_c"] for r in rows if r["curve"] == "capacity"}
    assert caps[("sign", "spherical")] is None  # +inf is stored as null
    assert abs(caps[("relu", "spherical")] - 2 * math.pi / (math.pi - 1)) < 1e-12
    assert abs(caps[("relu", "binary")] - 0.903986) < 1e-6
    assert abs(caps[("sign", "binary")] - 0.946952) < 1e-6
    entropies = [r for r in rows if r["curve"] == "entropy"]
    assert all(r["converged"] and 0 < r["entropy"] < math.log(2) for r in entropies)
    assert (out / "committee_theory.png").stat().st_size > 0
    # resuming a finished run redoes nothing and keeps the rows
    assert committee_theory.run(config, out) == rows
