"""The flat-minima study's binary_teacher problem: rows, common random numbers, flip noise.

Nothing here asserts which solver is flatter or generalises better.
"""

import dataclasses

import jax
import numpy as np
import pytest

from landscape import runs
from landscape.experiments import flat_minima

TINY = flat_minima.Config(
    problems=("binary_teacher",),
    seeds=2,
    binary_n=31,
    binary_alpha=0.3,
    binary_solvers=("sbpi", "cp_r"),
    binary_sweeps=100,
    test_examples=200,
    noise_samples=4,
    flip_fractions=(0.0, 0.05, 1.0),
    bootstrap_resamples=20,
)


def _flip_reference(key, w, xi, fractions, num_samples):
    """Python loop over draws and fractions: flip w_i where u_i < p, count stabilities <= 0."""
    keys = jax.random.split(key, num_samples)
    w, xi = np.asarray(w), np.asarray(xi)
    errors = np.zeros((num_samples, len(fractions)))
    for j in range(num_samples):
        u = np.asarray(jax.random.uniform(keys[j], w.shape))
        for i, p in enumerate(fractions):
            flipped = np.where(u < p, -w, w)
            errors[j, i] = np.mean(xi @ flipped <= 0)
    return errors.mean(0), errors.std(0, ddof=1) / np.sqrt(num_samples)


def test_flip_local_energy_by_hand():
    # stabilities of w on the three patterns: 1, 1, -3 -> training error 1/3
    w = np.array([1, 1, -1], dtype=np.int32)
    xi = np.array([[1, 1, 1], [1, -1, -1], [-1, -1, 1]], dtype=np.int32)
    key = jax.random.key(3)
    mean, err = flat_minima.flip_local_energy(key, w, xi, (0.0, 0.3, 1.0), 6)
    assert mean[0] == pytest.approx(1 / 3)
    assert err[0] == 0.0
    assert mean[2] == pytest.approx(2 / 3)
    assert err[2] == 0.0
    ref_mean, ref_err = _flip_reference(key, w, xi, (0.0, 0.3, 1.0), 6)
    np.testing.assert_allclose(mean, ref_mean, atol=1e-6)
    np.testing.assert_allclose(err, ref_err, atol=1e-6)


def test_binary_teacher_rows_and_common_random_numbers(tmp_path):
    flat_minima.run(TINY, tmp_path)
    rows = {r["algorithm"]: r for r in runs.read_rows(tmp_path)}
    assert set(rows) == {"sbpi", "cp_r", flat_minima.ANALYSIS}
    keys = flat_minima.seed_keys(TINY)
    flips = flat_minima.stream(keys, 3)
    sets = [flat_minima.binary_teacher_data(TINY, k) for k in flat_minima.stream(keys, 6)]
    p = round(0.3 * 31)
    for name in ("sbpi", "cp_r"):
        r = rows[name]
        assert r["problem"] == "binary_teacher"
        assert r["sigmas"] == [0.0, 0.05, 1.0]
        for col in ("train_error", "test_error", "test_error_stderr", "solved", "sweeps"):
            assert len(r[col]) == 2, col
        assert np.shape(r["local_energy"]) == (2, 3) == np.shape(r["local_energy_stderr"])
        arrays = runs.load_params(tmp_path, f"point{r['point_index']:04d}")
        w, teacher = arrays["['minimum']"], arrays["['teacher']"]
        for s, d in enumerate(sets):
            np.testing.assert_array_equal(teacher[s], np.asarray(d["teacher"]))
            # independent numpy reference: labels from the teacher, errors of the minimum
            train = np.asarray(d["train"])
            assert train.shape == (p, 31)
            assert np.all(train @ teacher[s] > 0)
            assert r["train_error"][s] == pytest.approx(np.mean(train @ w[s] <= 0))
            assert r["test_error"][s] == pytest.approx(np.mean(np.asarray(d["test"]) @ w[s] <= 0))
            assert r["solved"][s] == (r["train_error"][s] == 0.0)
            # the flip noise of this seed's keys, the same for every solver
            ref, ref_err = _flip_reference(flips[s], w[s], train, TINY.flip_fractions, 4)
            np.testing.assert_allclose(r["local_energy"][s], ref, atol=1e-6)
            np.testing.assert_allclose(r["local_energy_stderr"][s], ref_err, atol=1e-6)
            assert r["local_energy"][s][0] == r["train_error"][s]
            assert r["local_energy"][s][2] == pytest.approx(1 - r["train_error"][s])
    assert sets[0]["teacher"].tolist() != sets[1]["teacher"].tolist()  # seeds differ
    a = rows[flat_minima.ANALYSIS]
    assert a["paired_baseline"] == "sbpi"
    assert a["paired_algorithms"] == ["cp_r"]
    assert "local_energy@0.05" in a["paired_measures"]
    assert a["correlation_measures"] == ["local_energy@0.05", "local_energy@1"]
    text = (tmp_path / "summary.txt").read_text()
    assert "binary_teacher" in text
    assert "algorithm - sbpi" in text
    assert [p.name for p in flat_minima.plot(tmp_path)] == [
        "local_energy_binary_teacher.png",
        "correlation_binary_teacher.png",
    ]


def test_binary_teacher_is_opt_in():
    config = flat_minima.Config()
    assert "binary_teacher" not in config.problems
    assert all(p["problem"] != "binary_teacher" for p in flat_minima.points(config))
    points = flat_minima.points(TINY)
    assert [p["algorithm"] for p in points] == ["sbpi", "cp_r", flat_minima.ANALYSIS]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("binary_n", 30),
        ("binary_n", 0),
        ("binary_alpha", 0.0),
        ("binary_alpha", float("inf")),
        ("binary_solvers", ()),
        ("binary_solvers", ("sgd",)),
        ("binary_solvers", ("sbpi", "sbpi")),
        ("binary_sweeps", 0),
        ("flip_fractions", ()),
        ("flip_fractions", (0.1, 1.5)),
        ("flip_fractions", (-0.1,)),
    ],
)
def test_bad_binary_fields_raise(field, value):
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(TINY, **{field: value})
