"""Smoke tests of the sat-unsat experiment: quick configs run, plot and resume."""

import dataclasses

import pytest

from experiments import sat_unsat
from landscape import runs


def test_quick_spherical_runs_plots_and_resumes(tmp_path):
    config = dataclasses.replace(sat_unsat.Config.quick(), n=(8,), alphas=(1.0, 3.0), samples=4)
    rows = sat_unsat.run(config, tmp_path)
    assert [r["alpha"] for r in rows] == [1.0, 3.0]
    assert rows[0]["p_sat"] == 1.0
    assert rows[1]["p_sat"] < 1.0
    for field in ("p_sat_stderr", "undecided", "kappa_max_median", "fraction_unsat_at_zero"):
        assert field in rows[0]
    assert sat_unsat.plot(tmp_path)
    # Resume: drop the last row, run again, get the same rows.
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    (tmp_path / "results.jsonl").write_text(lines[0] + "\n")
    again = sat_unsat.run(config, tmp_path)
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]
    assert strip(again) == strip(rows)
    assert len(runs.read_rows(tmp_path)) == 2


def test_quick_binary_and_committee(tmp_path):
    binary = dataclasses.replace(
        sat_unsat.Config.quick(), model="binary", n=(9,), alphas=(0.5, 2.0), samples=3
    )
    rows = sat_unsat.run(binary, tmp_path / "b")
    assert rows[0]["p_sat"] == 1.0
    assert rows[1]["p_sat"] == 0.0
    assert sat_unsat.plot(tmp_path / "b")
    committee = dataclasses.replace(
        sat_unsat.Config.quick(),
        model="committee",
        n=(9,),
        k=(3,),
        alphas=(0.5,),
        samples=2,
        max_iters=100,
        algorithms=("sgd",),
    )
    rows = sat_unsat.run(committee, tmp_path / "c")
    assert rows[0]["p_sat"] == 1.0
    assert sat_unsat.plot(tmp_path / "c")


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("alphas", (1.0, -1.0), "alphas"),
        ("samples", 0, "samples"),
        ("model", "tree", "model"),
    ],
)
def test_config_errors(field, value, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(sat_unsat.Config.quick(), **{field: value})


def test_binary_n_too_large():
    with pytest.raises(ValueError, match="n="):
        sat_unsat.Config(model="binary", n=(25,))
