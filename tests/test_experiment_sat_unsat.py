"""Smoke tests of the sat-unsat experiment: quick configs run, plot and resume."""

import dataclasses
import math

import jax
import pytest

from landscape import runs
from landscape.experiments import sat_unsat


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
        max_steps=100,
        algorithms=("sgd",),
    )
    rows = sat_unsat.run(committee, tmp_path / "c")
    assert rows[0]["p_sat"] == 1.0
    assert sat_unsat.plot(tmp_path / "c")
    # the overlay: the finite-K RS capacity of sign units (K = 1 is Gardner's 2)
    caps = sat_unsat.committee_capacities([1, 3])
    assert abs(caps[1] - 2.0) < 1e-9
    assert abs(caps[3] - 4.025192) < 1e-6


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


def test_p_sat_matches_cover_at_p_equals_2n():
    keys = jax.random.split(jax.random.key(1), 256)
    row, _ = sat_unsat.spherical_point(keys, n=5, alpha=2.0, kappa=0.0)
    expected = sum(math.comb(9, k) for k in range(5)) / 2**9  # Cover (1965): n = 5, p = 10
    assert expected == 0.5
    assert row["undecided"] == 0
    assert abs(row["p_sat"] - expected) < 4 * math.sqrt(0.25 / 256)


def test_committee_success_smoke():
    keys = jax.random.split(jax.random.key(4), 2)
    solved = sat_unsat.committee_success(keys, n=9, k=3, p=4, max_steps=200, learning_rate=5.0)
    assert solved.shape == (2,)
    assert solved.all()
    with pytest.raises(ValueError, match="algorithm"):
        sat_unsat.committee_success(keys, n=9, k=3, p=4, algorithm="annealing")
    with pytest.raises(ValueError, match="readout"):
        sat_unsat.committee_success(keys, n=9, k=3, p=4, readout="max")


def test_committee_replicated_sgd_smoke():
    keys = jax.random.split(jax.random.key(4), 2)
    solved = sat_unsat.committee_success(
        keys, n=9, k=3, p=4, algorithm="replicated_sgd", max_steps=200, learning_rate=5.0
    )
    assert solved.shape == (2,)
    assert solved.all()


def test_committee_least_action_solves_the_vote_where_erf_training_does_not():
    # Success is judged on the sign-unit vote. Gradient descent on the hinge of the
    # erf sum reaches zero loss with vote errors left; on the median readout (the
    # least-action rule) it solves every sample of the same instances.
    keys = jax.random.split(jax.random.key(5), 4)
    kwargs = dict(n=21, k=3, p=10, max_steps=400, learning_rate=5.0)
    least_action = sat_unsat.committee_success(keys, readout="median", **kwargs)
    erf_sum = sat_unsat.committee_success(keys, readout="sum", **kwargs)
    assert least_action.all()
    assert not erf_sum.all()  # measured: none of the 4 samples solved on the vote
