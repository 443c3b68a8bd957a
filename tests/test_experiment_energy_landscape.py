"""The energy-landscape study: rows, graphs, resume, the perceptron's SAT filter, bad config."""

import dataclasses
import json

import numpy as np
import pytest

from landscape.energy import MinimaDatabase
from landscape.experiments import energy_landscape

TINY = dataclasses.replace(
    energy_landscape.Config.quick(), l2s=(1e-3, 1e-2), chains=2, hops=6, connections=1
)


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def test_xor_rows_graphs_and_resume(tmp_path):
    rows = energy_landscape.run(TINY, tmp_path)
    assert [r["l2"] for r in rows] == [1e-3, 1e-2]
    for row in rows:
        assert row["quenches"] == TINY.chains * TINY.hops
        assert 1 <= row["distinct_minima"] <= row["quenches"] + 2 * row["saddles"]
        assert row["energies"] == sorted(row["energies"])
        assert 0 <= row["saturation"] <= 1
        assert 0 < row["global_fraction"] <= 1
        assert row["graph_minima"] + row["dropped"] == row["distinct_minima"]
        assert all(b > 0 for b in row["barriers"])
        assert all(e > row["global_energy"] for e in row["saddle_energies"])
    # l2 raises the energy of the global minimum (the penalty of a non-zero network).
    assert rows[1]["global_energy"] > rows[0]["global_energy"]
    figures = energy_landscape.plot(tmp_path)
    assert len(figures) == sum(r["graph_minima"] > 1 for r in rows)
    # A run killed after the first point resumes to the same rows (hopping checkpoints too).
    results = tmp_path / "results.jsonl"
    first = results.read_text().splitlines()[0]
    results.write_text(first + "\n")
    again = energy_landscape.run(TINY, tmp_path)
    assert _strip(again) == _strip(json.loads(json.dumps(rows)))


@pytest.mark.slow
def test_perceptron_counts_and_drops_sat_samples(tmp_path):
    # alpha = 1 at kappa = -0.5 is deep in the SAT phase: every sample is dropped.
    config = dataclasses.replace(
        energy_landscape.Config.quick(),
        problem="perceptron",
        alphas=(1.0, 8.0),
        samples=2,
        chains=2,
        hops=6,
        connections=1,
    )
    low, high = energy_landscape.run(config, tmp_path)
    assert low["sat_dropped"] == 2
    assert low["samples_used"] == 0
    assert high["sat_dropped"] == 0
    assert high["samples_used"] == 2
    assert all(e > 0 for e in high["global_energy"])
    assert all(m >= 1 for m in high["distinct_minima"])


def test_summary_when_no_saddle_reaches_the_global_minimum():
    database, _ = MinimaDatabase.empty(1).add_minima([[0.0], [1.0], [2.0]], [0.0, 0.5, 0.7])
    database = database.add_transition_state([1.5], 2.0, (1, 2))
    row = energy_landscape.summarise(database)
    assert row["saddles"] == 1
    assert row["graph_minima"] == 1
    assert row["dropped"] == 2
    assert row["barriers"] == []
    joined = database.add_transition_state([0.5], 1.0, (0, 1))
    row = energy_landscape.summarise(joined)
    assert row["graph_minima"] == 3
    assert row["dropped"] == 0
    np.testing.assert_allclose(row["barriers"], [0.5, 1.3])  # 1.0 - 0.5, 2.0 - 0.7


def test_config_errors():
    with pytest.raises(ValueError, match="problem"):
        energy_landscape.Config(problem="lj")
    with pytest.raises(ValueError, match="l2s"):
        energy_landscape.Config(l2s=(-1.0,))
    with pytest.raises(ValueError, match="chains"):
        energy_landscape.Config(chains=0)
    with pytest.raises(ValueError, match="temperature"):
        energy_landscape.Config(temperature=0.0)
