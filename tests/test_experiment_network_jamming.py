"""Smoke test of the network-jamming experiment's quick config."""

import pytest

from landscape.experiments import network_jamming


def test_quick_runs_and_plots(tmp_path):
    rows = network_jamming.run(network_jamming.Config.quick(), tmp_path)
    assert [r["width"] for r in rows] == [2, 16]
    narrow, wide = rows
    assert narrow["fraction_jammed"] == 1.0
    assert wide["n_delta_per_n"] < narrow["n_delta_per_n"]
    assert "hessian_zero_modes" in wide
    assert network_jamming.plot(tmp_path)


def test_config_errors():
    with pytest.raises(ValueError, match="dataset"):
        network_jamming.Config(dataset="mnist")
    with pytest.raises(ValueError, match="samples"):
        network_jamming.Config(samples=0)
