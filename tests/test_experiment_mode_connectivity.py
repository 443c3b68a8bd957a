"""Smoke test of the mode-connectivity study's quick config."""

import dataclasses

import pytest

from landscape import runs
from landscape.experiments import mode_connectivity


def test_quick_run_and_plot(tmp_path):
    config = dataclasses.replace(
        mode_connectivity.Config.quick(), alphas=(1.0,), algorithms=("sgd",), num_points=5
    )
    config = dataclasses.replace(config, digits=False)  # digits: the slow test below
    rows = mode_connectivity.run(config, tmp_path)
    assert len(rows) == 1
    for row in rows:
        for kind in mode_connectivity.PATH_KINDS:
            assert row[f"{kind}_error_barrier"] >= 0
        assert row["objective_after"] >= row["objective_before"] - 1e-6
    again = mode_connectivity.run(config, tmp_path)  # resumes: nothing recomputed
    assert [r["seconds"] for r in again] == [r["seconds"] for r in rows]
    assert runs.load_params(tmp_path, "point0000")["['linear_error']"].shape == (2, 5)
    figures = mode_connectivity.plot(tmp_path)
    assert [f.name for f in figures] == ["mode_connectivity.png"]
    assert figures[0].exists()


@pytest.mark.slow
def test_quick_config_in_full(tmp_path):
    rows = mode_connectivity.run(mode_connectivity.Config.quick(), tmp_path)
    assert len(rows) == 6  # two alphas and digits, SGD and replicated SGD
    figures = mode_connectivity.plot(tmp_path)
    assert [f.name for f in figures] == ["mode_connectivity.png", "profiles.png"]
