import json

import numpy as np

from landscape import runs
from landscape.experiments import hessian_spectrum


def test_quick_config_runs_resumes_and_plots(tmp_path):
    config = hessian_spectrum.Config.quick()
    run_dir = runs.create(tmp_path / "run", hessian_spectrum.NAME, config)
    rows = hessian_spectrum.run(config, run_dir)
    assert [r["step"] for r in rows] == list(config.checkpoints)
    for row in rows:
        lam = np.array(row["eigenvalues"])
        assert lam.shape == (config.k,)
        assert np.all(np.diff(lam) <= 0)
        assert row["converged"]
        # the per-layer blocks partition the parameters: their traces add up to the total
        total = sum(m for m, _ in row["layer_traces"].values())
        stderr = np.hypot(
            row["trace_stderr"], np.hypot(*[s for _, s in row["layer_traces"].values()])
        )
        assert abs(total - row["trace_mean"]) < 5 * stderr + 1e-3
    assert rows[-1]["train_error"] < rows[0]["train_error"]
    # resuming recomputes nothing: the stored rows come back unchanged
    before = (run_dir / runs.RESULTS).read_text()
    again = hessian_spectrum.run(config, run_dir)
    assert (run_dir / runs.RESULTS).read_text() == before
    assert [r["eigenvalues"] for r in again] == [
        json.loads(line)["eigenvalues"] for line in before.splitlines()
    ]
    paths = hessian_spectrum.plot(run_dir)
    assert paths
    assert all(p.exists() for p in paths)
