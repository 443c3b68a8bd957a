"""dense-regions: the margin identity, the uniform control, the quick run and resume.

(`landscape.exact.solution_set` and `neighbour_counts` are tested against
brute force in tests/test_exact.py.) References: the mid-rank definition worked by hand; the exact
identity mean_s pct(s) = 1/2; the margin identity N_j = C(n, j) for j <= k when
the margin is >= 2k + 1.
"""

import json
import math

import jax
import numpy as np
import pytest

from landscape import cli, runs
from landscape.algorithms import binary
from landscape.experiments import dense_regions as dr


def test_margin_identity_holds():
    # margin >= 2k + 1 forces every configuration within distance k to be a solution
    n = 13
    xi = np.asarray(binary.random_binary_patterns(jax.random.key(5), n, 0.3))
    inst = dr.Instance(xi, 3)
    checked = 0
    for counts, m in zip(inst.counts, inst.margins, strict=True):
        for k in range(1, 4):
            if m >= 2 * k + 1:
                assert counts[:k].tolist() == [math.comb(n, j) for j in range(1, k + 1)]
                checked += 1
    assert checked > 0


def test_mid_ranks_by_hand():
    # values 2, 5, 5, 9, 0: below 2 there is one (0), so (1 + 1/2)/5 = 0.3; the two 5s have two
    # below and tie with each other, (2 + 1)/5 = 0.6; 9: (4 + 1/2)/5 = 0.9; 0: (0 + 1/2)/5 = 0.1
    np.testing.assert_allclose(dr.mid_ranks([2, 5, 5, 9, 0]), [0.3, 0.6, 0.6, 0.9, 0.1])
    np.testing.assert_allclose(dr.mid_ranks([4, 4, 4]), [0.5, 0.5, 0.5])
    rng = np.random.default_rng(0)
    assert dr.mid_ranks(rng.integers(0, 5, 101)).mean() == pytest.approx(0.5, abs=1e-12)


def test_uniform_sampler_has_mean_percentile_one_half():
    n, restarts = 15, 2000
    xi = np.random.default_rng(2).choice(
        np.array([-1, 1]), (2, 6, n)
    )  # P = 6: hundreds of solutions
    instances = [dr.Instance(x, 3) for x in xi]
    for inst in instances:  # the exact identity behind the control
        np.testing.assert_allclose(inst.percentiles.mean(axis=0), 0.5, atol=1e-12)
    keys = jax.random.split(jax.random.key(1), 2)
    landings = dr.land(dr.UNIFORM, instances, keys, restarts)
    for inst, idx in zip(instances, landings, strict=True):
        assert idx.shape == (restarts,)
        assert idx.min() >= 0
        assert idx.max() < inst.codes.shape[0]
        pct = inst.percentiles[idx]  # (restarts, K)
        stderr = pct.std(axis=0, ddof=1) / math.sqrt(restarts)
        assert np.all(np.abs(pct.mean(axis=0) - 0.5) < 3 * stderr + 1e-9), (pct.mean(0), stderr)
    row = dr.summarise(instances, landings)
    ratio = np.asarray(row["density_ratio"])
    assert np.all(np.abs(ratio - 1) < 3 * np.asarray(row["density_ratio_stderr"]) + 0.05)


EXPECTED = {
    "n", "alpha", "solver", "ks", "mean_percentile", "density_ratio", "instances",
    "distinct_solutions", "mean_percentile_stderr", "density_ratio_stderr", "margins",
    "margin_fraction", "solution_margin_fraction", "mean_percentile_by_margin", "seconds",
}  # fmt: skip


def test_quick_run_has_every_column_plots_and_resumes(tmp_path, capsys, monkeypatch):
    # the Franz-Parisi curves cost ~30 s of compilation (landscape.theory, tested there): stub them
    monkeypatch.setattr(
        dr, "franz_parisi_curves", lambda alphas, ds: [[-0.01 * d for d in ds] for _ in alphas]
    )
    out = tmp_path / "dense"
    assert cli.main(["run", "dense-regions", "--quick", "--out", str(out)]) == 0
    capsys.readouterr()
    config = dr.Config.quick()
    rows = runs.read_rows(out)
    expected = [
        (n, a, s) for n in config.n for a in config.alphas for s in (dr.UNIFORM, *config.solvers)
    ]
    assert [(r["n"], r["alpha"], r["solver"]) for r in rows] == expected
    for row in rows:
        assert row["sat_instances"] >= 1
        assert set(row) >= EXPECTED
        k = len(row["ks"])
        assert row["ks"] == list(range(1, 15 // 4 + 1))
        assert len(row["mean_percentile"]) == k
        assert len(row["density_ratio"]) == k
        assert 1 <= row["instances"] <= row["sat_instances"]
        assert 1 <= row["distinct_solutions"] <= row["solutions"]
        assert all(0 < p < 1 for p in row["mean_percentile"])
        assert sum(row["margin_fraction"]) == pytest.approx(1.0)
        assert sum(row["solution_margin_fraction"]) == pytest.approx(1.0)
    assert (out / "dense_regions.png").stat().st_size > 0
    assert json.loads((out / dr.FP_FILE).read_text())
    # resume: drop the control's row, run again: the same rows (timing aside)
    lines = (out / runs.RESULTS).read_text().splitlines()
    assert json.loads(lines[0])["solver"] == dr.UNIFORM
    (out / runs.RESULTS).write_text("\n".join(lines[1:]) + "\n")
    again = dr.run(config, out)

    def strip(rs):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in rs]

    assert strip(again) == strip(rows)


def test_config_rejects_bad_input():
    assert dr.Config(max_k=2).ks(21) == [1, 2]
    assert dr.Config().ks(23) == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="solvers"):
        dr.Config(solvers=("gradient",))
    with pytest.raises(ValueError, match="n has 22"):
        dr.Config(n=(22,))
    with pytest.raises(ValueError, match="n has 25"):
        dr.Config(n=(25,))
    with pytest.raises(ValueError, match="alphas"):
        dr.Config(alphas=(0.0,))
    with pytest.raises(ValueError, match="restarts"):
        dr.Config(restarts=0)
    with pytest.raises(ValueError, match="max_k"):
        dr.Config(max_k=0)
    with pytest.raises(ValueError, match="no solution"):
        dr.Instance(np.array([[1, 1, 1], [-1, -1, -1]]), 1)
