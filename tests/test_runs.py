"""Run directories: rows, params, resumable scans, and resume after SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from landscape import runs


def test_append_and_read_rows_drop_a_torn_line(tmp_path):
    assert runs.read_rows(tmp_path) == []
    runs.append_row(tmp_path, {"a": 1, "x": np.float32(0.5), "v": jnp.arange(2)})
    runs.append_row(tmp_path, {"a": 2})
    with open(tmp_path / runs.RESULTS, "a") as f:
        f.write('{"a": 3, "x": 0.2')  # a killed writer
    assert runs.read_rows(tmp_path) == [{"a": 1, "x": 0.5, "v": [0, 1]}, {"a": 2}]


def test_save_and_load_params_roundtrip(tmp_path):
    tree = {"Dense_0": {"kernel": np.ones((3, 2), np.float32), "bias": np.arange(2.0)}, "w": 1.5}
    runs.save_params(tmp_path, "p", tree)
    flat = runs.load_params(tmp_path, "p")
    assert set(flat) == {"['Dense_0']['bias']", "['Dense_0']['kernel']", "['w']"}
    loaded = runs.load_params(tmp_path, "p", like=tree)
    assert jax.tree.structure(loaded) == jax.tree.structure(tree)
    for a, b in zip(jax.tree.leaves(loaded), jax.tree.leaves(tree), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(ValueError, match="does not exist"):
        runs.load_params(tmp_path, "missing")
    with pytest.raises(ValueError, match="lacks"):
        runs.load_params(tmp_path, "p", like={"other": np.zeros(1)})


def test_create_and_read_config(tmp_path):
    out = runs.create(tmp_path / "run", "demo", {"n": 3, "alphas": (0.5, 1.0)})
    record = runs.read_config(out)
    assert record["experiment"] == "demo"
    assert record["config"] == {"n": 3, "alphas": [0.5, 1.0]}
    assert "jax" in record["versions"]
    assert len(record["devices"]) == 8
    runs.append_row(out, {"point_index": 0})
    with pytest.raises(ValueError, match="already holds results"):
        runs.create(out, "demo", {})
    with pytest.raises(ValueError, match="no config.json"):
        runs.read_config(tmp_path)
    (tmp_path / runs.CONFIG).write_text("{not json")
    with pytest.raises(ValueError, match="unreadable"):
        runs.read_config(tmp_path)


def _measure(calls):
    def measure(point, keys):
        calls.append(point["i"])
        draws = jax.vmap(lambda k: jax.random.normal(k, (2,)))(keys)
        row = {"mean": float(jnp.mean(draws)), "key0": jax.random.key_data(keys[0]).tolist()}
        return row, {"draws": draws}

    return measure


def test_scan_keys_skip_and_resume(tmp_path):
    points = [{"i": i} for i in range(4)]
    calls = []
    (tmp_path / "a").mkdir()
    full = runs.scan(tmp_path / "a", points, _measure(calls), seed=3, samples=3, log=None)
    assert calls == [0, 1, 2, 3]
    assert [r["point_index"] for r in full] == [0, 1, 2, 3]
    # keys derive from the seed and indices only
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(3), 2), 0)
    assert full[2]["key0"] == jax.random.key_data(key).tolist()
    arrays = runs.load_params(tmp_path / "a", "point0002")
    assert arrays["['draws']"].shape == (3, 2)

    # a scan killed during point 2 (its row torn), then resumed
    calls = []
    measure = _measure(calls)

    def crashing(point, keys):
        if point["i"] == 2:
            raise KeyboardInterrupt
        return measure(point, keys)

    (tmp_path / "b").mkdir()
    with pytest.raises(KeyboardInterrupt):
        runs.scan(tmp_path / "b", points, crashing, seed=3, samples=3, log=None)
    with open(tmp_path / "b" / runs.RESULTS, "a") as f:
        f.write('{"point_index": 2, "me')
    resumed = runs.scan(tmp_path / "b", points, measure, seed=3, samples=3, log=None)
    assert calls == [0, 1, 2, 3]  # 0, 1 before the crash; 2, 3 after it
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    assert strip(resumed) == strip(full)
    assert strip(runs.read_rows(tmp_path / "b")) == strip(full)
    # nothing left to do
    calls.clear()
    runs.scan(tmp_path / "b", points, measure, seed=3, samples=3, log=None)
    assert calls == []
    with pytest.raises(ValueError, match="samples=0"):
        runs.scan(tmp_path / "c", points, measure, seed=3, samples=0)


SCAN_SET = ["--set", "n=12", "--set", "alphas=[0.5,2.5]", "--set", "samples=3"]
SCAN_SET += ["--set", "steps=40"]
TIMING = ("seconds",)


def _cli(*args):
    return [sys.executable, "-m", "landscape.cli", *args]


def _rows(run_dir):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in runs.read_rows(run_dir)]


def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path):
    # one CPU device in the subprocesses: cheaper to compile, and the same for both runs
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    ref_dir, cut_dir = tmp_path / "ref", tmp_path / "cut"
    ref = subprocess.Popen(
        _cli("run", "perceptron-scan", *SCAN_SET, "--out", str(ref_dir)),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    cut = subprocess.Popen(
        _cli("run", "perceptron-scan", *SCAN_SET, "--out", str(cut_dir)),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while not runs.read_rows(cut_dir):
        assert cut.poll() is None, "the run ended before its first row"
        assert time.monotonic() < deadline, "no row after 240 s"
        time.sleep(0.02)
    cut.send_signal(signal.SIGKILL)
    cut.wait(timeout=60)
    assert cut.returncode == -signal.SIGKILL
    killed_rows = runs.read_rows(cut_dir)
    assert len(killed_rows) == 1
    resumed = subprocess.run(
        _cli("run", "perceptron-scan", "--resume", str(cut_dir)),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    _, ref_err = ref.communicate(timeout=300)
    assert ref.returncode == 0, ref_err
    assert _rows(cut_dir) == _rows(ref_dir)
    assert [r["alpha"] for r in _rows(ref_dir)] == [0.5, 2.5]
    for i in range(2):
        a = runs.load_params(cut_dir, f"point{i:04d}")
        b = runs.load_params(ref_dir, f"point{i:04d}")
        np.testing.assert_array_equal(a["['w']"], b["['w']"])
    assert (cut_dir / "perceptron_scan.png").exists()
    assert json.loads((cut_dir / runs.CONFIG).read_text())["config"]["n"] == 12
