"""Smoke test of the flat-minima study's quick config (reports only; no ordering asserted)."""

import json

from landscape import runs
from landscape.experiments import flat_minima


def test_quick_runs_and_plots(tmp_path):
    config = flat_minima.Config.quick()
    flat_minima.run(config, tmp_path)
    rows = runs.read_rows(tmp_path)
    assert len(rows) == len(config.problems) * len(config.algorithms)
    for row in rows:
        assert len(row["local_energy"]) == config.seeds
        assert len(row["local_energy"][0]) == len(config.sigmas)
        assert 0.0 <= row["test_error"][0] <= 1.0
    json.dumps(rows)
    flat_minima.run(config, tmp_path)  # resumes: nothing redone
    assert len(runs.read_rows(tmp_path)) == len(rows)
    paths = flat_minima.plot(tmp_path)
    assert paths
    assert all(p.exists() for p in paths)
