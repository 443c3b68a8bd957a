"""The flat-minima study: quick config, common random numbers, protocol fields, resume.

Nothing here asserts the sign of any effect (which algorithm is flatter or
generalises better); only that the protocol does what its fields say.
"""

import dataclasses
import json
import struct

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from landscape import Problem, data, losses, models, runs
from landscape.experiments import flat_minima

TIMING = ("seconds",)

QUICK = flat_minima.Config.quick()  # 60 digits, a 64-8-10 MLP, 2 seeds, 2 epochs of 3 batches


def _rows(run_dir):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in runs.read_rows(run_dir)]


def _by_algorithm(run_dir):
    return {r["algorithm"]: r for r in runs.read_rows(run_dir)}


def _arrays(run_dir, row):
    return runs.load_params(run_dir, f"point{row['point_index']:04d}")


def _check_common_random_numbers(run_dir, noise_keys):
    rows = _by_algorithm(run_dir)
    seeds = QUICK.seeds
    # the same perturbation keys for every algorithm, different ones for the seeds
    keys = np.asarray(noise_keys).reshape(len(QUICK.algorithms), seeds, -1)
    for a in range(1, len(QUICK.algorithms)):
        np.testing.assert_array_equal(keys[a], keys[0])
    assert not np.array_equal(keys[0, 0], keys[0, 1])
    # the same initial network: SGD's start is every algorithm's and replica 0's
    sgd = _arrays(run_dir, rows["sgd"])
    rep = _arrays(run_dir, rows["replicated"])
    starts = [k for k in sgd if k.startswith("['start']")]
    assert starts
    for k in starts:
        for name in ("norm_reduction", "entropy_sgd"):
            np.testing.assert_array_equal(_arrays(run_dir, rows[name])[k], sgd[k])
        np.testing.assert_array_equal(rep[k][:, 0], sgd[k])
        if k.endswith("['kernel']"):  # independent replicas: distinct starts
            assert not np.allclose(rep[k][:, 1], rep[k][:, 0])
            assert not np.allclose(sgd[k][1], sgd[k][0])  # and distinct seeds
    # the centre measured is the replica mean (center="mean")
    for k in (k for k in rep if k.startswith("['minimum']")):
        tail = k[len("['minimum']") :]
        np.testing.assert_allclose(rep[k], rep["['replicas']" + tail].mean(axis=1), atol=1e-6)
    # the budget: epochs * (P // B) minibatches per network and replica
    per_network = QUICK.epochs * (QUICK.train_examples // QUICK.batch_size)
    assert rows["sgd"]["gradient_evaluations"] == [per_network] * seeds
    assert rows["replicated"]["gradient_evaluations"] == [per_network * QUICK.replicas] * seeds
    assert rows["entropy_sgd"]["gradient_evaluations"] == [per_network] * seeds
    assert rows["entropy_sgd"]["steps"] == [per_network // QUICK.langevin_steps] * seeds
    assert rows["replicated"]["lr_gamma_max"] == pytest.approx(QUICK.lr * QUICK.gamma_max)
    # gamma="auto" starts at the measured gamma0 and reaches gamma_max at the last step
    assert all(g > 0 for g in rows["replicated"]["gamma_start"])
    assert rows["replicated"]["gamma_end"] == pytest.approx([QUICK.gamma_max] * seeds)
    # gamma_every="step": geometric per step from the measured gamma0 to gamma_max
    gamma = _arrays(run_dir, rows["replicated"])["['gamma']"]  # (seeds, steps)
    t = np.arange(per_network) / (per_network - 1)
    g0 = np.asarray(rows["replicated"]["gamma_start"])[:, None]
    np.testing.assert_allclose(gamma, g0 * (QUICK.gamma_max / g0) ** t, rtol=1e-5)
    assert rows["sgd"]["train_examples"] == QUICK.train_examples
    assert rows["sgd"]["parameters"] == 64 * 8 + 8 + 8 * 10 + 10  # hidden=(8,)
    assert "hessian_trace" not in rows["sgd"]  # curvature=False
    analysis = rows[flat_minima.ANALYSIS]
    assert analysis["paired_algorithms"] == ["norm_reduction", "replicated", "entropy_sgd"]
    assert analysis["correlation_num_minima"] == len(QUICK.algorithms) * seeds
    # one cluster per (algorithm, seed); 2 seeds are too few for a reliable interval
    assert analysis["correlation_num_clusters"] == [len(QUICK.algorithms) * seeds] * 3
    assert analysis["correlation_min_clusters_per_algorithm"] == [seeds] * 3
    assert "not reliable" in analysis["correlation_reliability_note"]
    assert analysis["correlation_measures"] == [
        "local_energy@0.5",
        "local_energy@0.7",
        "local_energy@1",
    ]


def test_quick_shares_keys_across_algorithms_resumes_after_a_kill_and_plots(tmp_path, monkeypatch):
    noise_keys, noise_samples = [], set()
    local_energy = flat_minima.flatness.local_energy

    def recording(key, *args, **kwargs):
        noise_keys.append(np.asarray(jax.random.key_data(key)))
        noise_samples.add(kwargs["num_samples"])
        return local_energy(key, *args, **kwargs)

    monkeypatch.setattr(flat_minima.flatness, "local_energy", recording)
    flat_minima.run(QUICK, tmp_path / "full")
    rows = _rows(tmp_path / "full")
    minima = [r for r in rows if r["algorithm"] != flat_minima.ANALYSIS]
    assert len(minima) == len(QUICK.problems) * len(QUICK.algorithms)
    assert len(rows) == len(minima) + len(QUICK.problems)
    for row in minima:
        assert np.shape(row["local_energy"]) == (QUICK.seeds, len(QUICK.sigmas))
        assert np.shape(row["local_energy_stderr"]) == (QUICK.seeds, len(QUICK.sigmas))
        assert all(0.0 <= e <= 1.0 for e in row["test_error"])
        for key in ("train_error", "test_error_stderr", "solution", "weight_norm"):
            assert len(row[key]) == QUICK.seeds
        assert isinstance(row["note"], str)
    assert "collapsed" in _by_algorithm(tmp_path / "full")["replicated"]
    json.dumps(rows)
    text = (tmp_path / "full" / "summary.txt").read_text()
    assert "Spearman" in text
    assert f"{len(QUICK.algorithms) * QUICK.seeds} clusters" in text
    assert "not reliable" in text
    _check_common_random_numbers(tmp_path / "full", noise_keys)
    assert noise_samples == {QUICK.noise_samples}

    # killed during point 2 (its row torn), then resumed: the same rows and arrays
    measure = flat_minima.measure

    def crashing(config, point):
        if point["algorithm"] == config.algorithms[2]:
            raise KeyboardInterrupt
        return measure(config, point)

    monkeypatch.setattr(flat_minima, "measure", crashing)
    with pytest.raises(KeyboardInterrupt):
        flat_minima.run(QUICK, tmp_path / "cut")
    with open(tmp_path / "cut" / runs.RESULTS, "a") as f:
        f.write('{"point_index": 2, "probl')
    monkeypatch.setattr(flat_minima, "measure", measure)
    flat_minima.run(QUICK, tmp_path / "cut")
    assert _rows(tmp_path / "cut") == rows
    for i in range(len(minima)):
        a = runs.load_params(tmp_path / "cut", f"point{i:04d}")
        b = runs.load_params(tmp_path / "full", f"point{i:04d}")
        assert set(a) == set(b)
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])

    paths = flat_minima.plot(tmp_path / "full")
    names = {p.name for p in paths}
    assert {"local_energy_digits.png", "correlation_digits.png", "replica_spread.png"} <= names
    assert all(p.exists() for p in paths)


def test_protocol_fields_change_what_they_say(tmp_path):
    config = dataclasses.replace(
        QUICK,
        algorithms=("replicated",),
        epochs=3,
        batch_size=15,
        replicas=2,
        independent_replicas=False,
        gamma=0.5,
        gamma_every="epoch",
        center="explicit",
        sigmas=(0.0, 0.3, 0.6, 1.0),
        local_entropy=True,
        local_entropy_gammas=(10.0, 100.0),
        local_entropy_chains=2,
        local_entropy_steps=4,
    )
    flat_minima.run(config, tmp_path)
    row = _by_algorithm(tmp_path)["replicated"]
    arrays = _arrays(tmp_path, row)
    assert row["gradient_evaluations"] == [3 * 4 * 2] * 2  # epochs * (60 // 15) * replicas
    assert row["sigmas"] == [0.0, 0.3, 0.6, 1.0]
    assert np.shape(row["local_entropy"]) == (2, 2)
    assert row["gamma_start"] == pytest.approx([0.5, 0.5])
    gamma = arrays["['gamma']"][0]  # (steps,): constant within each epoch of 4 steps
    assert gamma.shape == (12,)
    np.testing.assert_allclose(gamma.reshape(3, 4), gamma.reshape(3, 4)[:, :1].repeat(4, 1))
    assert gamma[-1] == pytest.approx(config.gamma_max)
    assert gamma[4] > gamma[0]
    kernels = [k for k in arrays if k.startswith("['start']") and k.endswith("['kernel']")]
    for k in kernels:  # replicas from one point
        np.testing.assert_array_equal(arrays[k][:, 1], arrays[k][:, 0])
    # an explicit centre is its own variable, not the replica mean
    k = kernels[0].replace("['start']", "['minimum']")
    mean = arrays[k.replace("['minimum']", "['replicas']")].mean(axis=1)
    assert not np.allclose(arrays[k], mean, atol=1e-7)


@pytest.mark.slow
def test_stop_when_solved_stops_at_the_first_solved_epoch(tmp_path):
    config = dataclasses.replace(
        QUICK,
        algorithms=("sgd",),
        seeds=1,
        hidden=(32,),
        train_examples=20,
        batch_size=10,
        lr=0.1,
        epochs=100,
        stop_when_solved=True,
        curvature=True,
        curvature_matvecs=6,
    )
    flat_minima.run(config, tmp_path)
    row = _by_algorithm(tmp_path)["sgd"]
    assert row["solution"] == [True]
    assert row["steps"][0] < 200
    assert row["steps"][0] % 2 == 0  # whole epochs of 2 batches
    for key in ("top_eigenvalue", "hessian_trace", "invariant_trace", "invariant_trace_stderr"):
        assert np.isfinite(row[key][0])


def test_optimizer_fields_follow_their_formulas():
    grads = {"w": jnp.array([1.0, -2.0])}
    params = {"w": jnp.array([0.5, 0.5])}
    base = dataclasses.replace(QUICK, momentum=0.0)

    def updates(config, steps=3, lr=0.1, per_epoch=1):
        opt = flat_minima.optimizer(config, lr, per_epoch)
        state = opt.init(params)
        out = []
        for _ in range(steps):
            u, state = opt.update(grads, state, params)
            out.append(np.asarray(u["w"]))
        return out

    g, w = np.asarray(grads["w"]), np.asarray(params["w"])
    for u in updates(base):
        np.testing.assert_allclose(u, -0.1 * g, rtol=1e-6)
    heavy = updates(dataclasses.replace(base, momentum=0.5))
    np.testing.assert_allclose(heavy[2], -0.1 * g * (1 + 0.5 + 0.25), rtol=1e-6)
    nesterov = updates(dataclasses.replace(base, momentum=0.5, nesterov=True))
    np.testing.assert_allclose(nesterov[0], -0.1 * g * (1 + 0.5), rtol=1e-6)
    decay = updates(dataclasses.replace(base, weight_decay=0.1))
    np.testing.assert_allclose(decay[0], -0.1 * (g + 0.1 * w), rtol=1e-6)
    drop = updates(dataclasses.replace(base, lr_drops=(1,), lr_drop_factor=0.5), per_epoch=2)
    np.testing.assert_allclose(drop[1], -0.1 * g, rtol=1e-6)  # epoch 0: steps 0, 1
    np.testing.assert_allclose(drop[2], -0.05 * g, rtol=1e-6)  # epoch 1
    # norm reduction shrinks the weights by (1 - rate) on top of the step (a perceptron:
    # cheap to compile)
    problem = Problem(models.perceptron(4), losses.hinge(0.1))
    train_set = data.random_patterns(jax.random.key(0), n=4, p=60)
    variant = flat_minima.variants(QUICK, "digits")[0]
    config = dataclasses.replace(base, norm_reduction_rate=0.25)
    algo, _, _ = flat_minima.make_algorithm(config, problem, "norm_reduction", 60, variant)
    plain, _, _ = flat_minima.make_algorithm(config, problem, "sgd", 60, variant)
    w0 = problem.model.init(jax.random.key(0))
    key = jax.random.key(1)
    a = algo.step(key, algo.init(key, w0), train_set)[0].params
    b = plain.step(key, plain.init(key, w0), train_set)[0].params
    for x, y, z in zip(jax.tree.leaves(a), jax.tree.leaves(b), jax.tree.leaves(w0), strict=True):
        np.testing.assert_allclose(x, y - 0.25 * z, atol=1e-6)
    assert isinstance(flat_minima.optimizer(base, 0.1, 1), optax.GradientTransformation)


def _write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_mnist_reads_the_four_idx_files_and_says_which_are_missing(tmp_path):
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte"):
        flat_minima.Config(problems=("mnist",))
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    config = dataclasses.replace(
        QUICK, problems=("mnist",), data_path=str(folder), train_examples=0
    )
    with pytest.raises(ValueError, match="train-images-idx3-ubyte"):
        flat_minima.make_problem(config, "mnist")
    for split, p in (("train", 30), ("t10k", 10)):
        _write_idx(folder / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (p, 28, 28)))
        _write_idx(folder / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, p))
    problem, train_set, test = flat_minima.make_problem(config, "mnist")
    assert train_set.x.shape == (30, 784)
    assert test.x.shape == (10, 784)
    for name in ("mnist", "mnist_cnn"):  # shapes only (traced, not compiled)
        model = flat_minima.make_problem(config, name)[0].model
        params = jax.eval_shape(model.init, jax.random.key(0))
        assert jax.eval_shape(model.apply, params, test.x).shape == (10, 10)


@pytest.mark.slow
def test_default_protocol_on_digits_finds_solutions_with_every_column(tmp_path):
    config = dataclasses.replace(flat_minima.Config.default(), problems=("digits",), seeds=2)
    flat_minima.run(config, tmp_path)
    rows = runs.read_rows(tmp_path)
    minima = [r for r in rows if r["algorithm"] != flat_minima.ANALYSIS]
    assert [r["algorithm"] for r in minima] == list(config.algorithms)
    columns = {"train_error", "test_error", "test_error_stderr", "local_energy"}
    columns |= {"local_energy_stderr", "top_eigenvalue", "hessian_trace", "invariant_trace"}
    columns |= {"hessian_trace_stderr", "invariant_trace_stderr", "weight_norm"}
    columns |= {"gradient_evaluations", "solution", "note"}
    for r in minima:
        assert columns <= set(r), columns - set(r)
        assert r["solution"] == [True, True], (r["algorithm"], r["train_error"])
    rep = next(r for r in minima if r["algorithm"] == "replicated")
    assert {"replica_spread", "collapsed", "lr_gamma_max", "gamma_start"} <= set(rep)
    assert (tmp_path / "summary.txt").exists()


# ----------------------------------------------------------------------------- config checks

BAD = [
    ({"independent_replicas": False, "gamma": "auto"}, "independent_replicas"),
    ({"gamma": 0.0}, "gamma"),
    ({"bootstrap_resamples": 1}, "bootstrap_resamples"),
    ({"nesterov": True, "momentum": 0.0}, "nesterov"),
    ({"weight_decay": -0.1}, "weight_decay"),
    ({"lr_drops": (0,)}, "lr_drops"),
    ({"lr_drops": (5, -1)}, "lr_drops"),
    ({"lr_drop_factor": 0.0}, "lr_drop_factor"),
    ({"langevin_beta": 0.0}, "langevin_beta"),
    ({"langevin_lr": -0.1}, "langevin_lr"),
    ({"esgd_ema": 0.0}, "esgd_ema"),
    ({"esgd_ema": 1.5}, "esgd_ema"),
    ({"esgd_lr": 0.0}, "esgd_lr"),
    ({"norm_reduction_rate": -1e-4}, "norm_reduction_rate"),
    ({"gamma_max": 0.0, "gamma": 0.0}, "gamma"),
    ({"gamma_max": -1.0}, "gamma_max"),
    ({"cnn_channels": ()}, "cnn_channels"),
    ({"committee_lr": 0.0}, "committee_lr"),
    ({"langevin_weight_decay": -1e-4}, "langevin_weight_decay"),
    # P=60, B=20, L=20, epochs=2: 6 minibatches, no full outer step of 20
    ({"langevin_steps": 20}, "langevin_steps=20 with epochs=2"),
    ({"problems": ("committee",), "alpha": 1.0, "langevin_steps": 7}, "langevin_steps"),
]


@pytest.mark.parametrize(("overrides", "match"), BAD)
def test_config_rejects_bad_input_naming_the_field(overrides, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(QUICK, **overrides)


def test_defaults_follow_the_stability_rule_and_the_authors():
    default = flat_minima.Config.default()
    assert default.committee_lr * default.gamma_max <= 1
    assert default.langevin_weight_decay == 1e-4  # Pittorino et al. 2021
    assert default.langevin_beta == 1e8  # epsilon = 1e-4
    corr = flat_minima.Config.correlation()
    assert corr.seeds >= flat_minima.MIN_CLUSTERS
    minima = len(corr.algorithms) * corr.seeds * len(flat_minima.variants(corr, "digits"))
    assert minima >= 60
    # the digits size the Config checks against is the loaded split's
    config = dataclasses.replace(QUICK, train_examples=0)
    assert flat_minima.known_train_examples(config, "digits") == int(
        flat_minima.make_problem(config, "digits")[1].y.shape[0]
    )


# ----------------------------------------------------------------------------- Entropy-SGD budget


def test_entropy_sgd_budget_note_and_fractional_lr_drops(monkeypatch):
    # nb = 60 // 20 = 3, L = 2, epochs = 3: 9 minibatches, 4 outer steps use 8
    config = dataclasses.replace(
        QUICK, epochs=3, langevin_steps=2, momentum=0.0, lr_drops=(1, 2), lr_drop_factor=0.5
    )
    plan = flat_minima.budget(config, "entropy_sgd", 60, 20)
    assert (plan["steps"], plan["minibatches"], plan["steps_per_epoch"]) == (4, 8, 1.5)
    note = flat_minima.budget_note(config, plan)
    assert "8 minibatches" in note
    assert "9" in note
    assert not flat_minima.budget_note(config, flat_minima.budget(config, "sgd", 60, 20))
    exact = dataclasses.replace(config, epochs=4)  # 12 minibatches, 6 outer steps
    assert not flat_minima.budget_note(exact, flat_minima.budget(exact, "entropy_sgd", 60, 20))
    with pytest.raises(ValueError, match="langevin_steps"):
        flat_minima.budget(dataclasses.replace(config, langevin_steps=5), "entropy_sgd", 20, 20)
    # the epoch ends (stop checks) and the drops: outer step round(e * 3 / 2)
    reference = sorted({min(round(e * 3 / 2), 4) for e in range(1, 4)})
    assert flat_minima.epoch_ends(plan) == reference == [2, 3, 4]
    assert flat_minima.epoch_ends(flat_minima.budget(config, "sgd", 60, 20)) == [3, 6, 9]

    built = {}

    def recording(config, lr, steps_per_epoch):
        built["lr"], built["steps_per_epoch"] = lr, steps_per_epoch
        return optimizer(config, lr, steps_per_epoch)

    optimizer = flat_minima.optimizer
    monkeypatch.setattr(flat_minima, "optimizer", recording)
    problem, _, _ = flat_minima.make_problem(config, "digits")
    variant = {"hidden": [8], "lr": 2 * config.lr, "batch_size": 20}
    flat_minima._make_algorithm(config, problem, "entropy_sgd", 60, variant, "digits")
    assert built["steps_per_epoch"] == 1.5
    assert built["lr"] == pytest.approx(2 * config.esgd_lr)  # scaled with the variant's lr
    opt = optimizer(config, 1.0, built["steps_per_epoch"])
    state = opt.init(jnp.zeros(1))
    rates = []
    for _ in range(5):
        u, state = opt.update(jnp.ones(1), state, jnp.zeros(1))
        rates.append(-float(u[0]))
    drops = [round(e * 3 / 2) for e in config.lr_drops]  # outer steps 2 and 3
    expected = [0.5 ** sum(t >= d for d in drops) for t in range(5)]
    np.testing.assert_allclose(rates, expected, rtol=1e-6)


def test_fields_reach_the_algorithms_they_configure(monkeypatch):
    config = dataclasses.replace(
        QUICK,
        esgd_lr=0.7,
        esgd_gamma=0.04,
        esgd_gamma_max=0.9,
        langevin_steps=3,
        langevin_lr=0.02,
        langevin_beta=3e7,
        esgd_ema=0.6,
        langevin_weight_decay=2e-4,
        gamma=0.3,
        gamma_max=7.0,
        gamma_every="step",
        replicas=4,
        center="explicit",
    )
    calls = {}

    def recorder(name):
        def fn(problem, opt, *args, **kwargs):  # noqa: ARG001
            calls[name] = (args, kwargs)
            return name

        return fn

    monkeypatch.setattr(flat_minima.algorithms, "entropy_sgd", recorder("entropy_sgd"))
    monkeypatch.setattr(flat_minima.algorithms, "replicated_sgd", recorder("replicated"))
    problem, _, _ = flat_minima.make_problem(config, "digits")
    variant = flat_minima.variants(config, "digits")[0]
    _, _, plan = flat_minima._make_algorithm(config, problem, "entropy_sgd", 60, variant)
    kw = calls["entropy_sgd"][1]
    expected = {
        "gamma": 0.04,
        "gamma_max": 0.9,
        "langevin_steps": 3,
        "langevin_lr": 0.02,
        "langevin_beta": 3e7,
        "ema": 0.6,
        "langevin_weight_decay": 2e-4,
        "num_steps": 2,  # 2 epochs x 3 batches // 3
        "batch_size": 20,
        "sampling": "epoch",
    }
    assert {k: kw[k] for k in expected} == expected
    assert plan["steps"] == 2
    _, _, plan = flat_minima._make_algorithm(config, problem, "replicated", 60, variant)
    args, kw = calls["replicated"]
    assert args == (4,)
    expected = {"gamma": 0.3, "gamma_max": 7.0, "gamma_every": "step", "center": "explicit"}
    assert {k: kw[k] for k in expected} == {**expected}
    assert kw["num_steps"] == plan["steps"] == 6
    assert flat_minima.esgd_learning_rate(config, "digits", 0.1) == pytest.approx(0.7 * 2)
    assert flat_minima.esgd_learning_rate(config, "committee", config.committee_lr) == 0.7


def test_seed_fields_give_the_keys():
    config = dataclasses.replace(QUICK, seed=7, seeds=3)
    keys = flat_minima.seed_keys(config)
    assert keys.shape == (3,)
    for s in range(3):  # fold_in(key(seed), s), by hand
        np.testing.assert_array_equal(
            jax.random.key_data(keys[s]),
            jax.random.key_data(jax.random.fold_in(jax.random.key(7), s)),
        )
    other = flat_minima.seed_keys(dataclasses.replace(config, seed=8))
    assert not np.array_equal(jax.random.key_data(other), jax.random.key_data(keys))


def test_coupling_notes_say_when_the_stability_rule_breaks_or_auto_gamma_decays():
    notes = flat_minima.coupling_notes(
        QUICK, "replicated", {"lr_gamma_max": 1.5, "gamma_start": [1.0, 3.0]}
    )
    assert len(notes) == 2
    assert "seed 1" in notes[0]
    assert "decays" in notes[0]
    assert "lr * gamma_max = 1.5 > 1" in notes[1]
    assert not flat_minima.coupling_notes(
        dataclasses.replace(QUICK, lr_drops=(1,)), "replicated", {"lr_gamma_max": 1.5}
    )
    assert not flat_minima.coupling_notes(QUICK, "entropy_sgd", {"lr_gamma_max": 1.0})


def test_correlations_count_clusters_by_seed_across_variants():
    rng = np.random.default_rng(0)
    config = dataclasses.replace(QUICK, seeds=6, algorithms=("sgd", "replicated"))
    rows = []
    for name in config.algorithms:
        for lr in (0.05, 0.1):  # two variants: the same 6 seeds, 6 clusters
            e = rng.uniform(0.05, 0.2, 6)
            rows.append(
                {
                    "algorithm": name,
                    "lr": lr,
                    "test_error": e.tolist(),
                    "test_error_stderr": (0.01 + 0 * e).tolist(),
                    "local_energy": rng.uniform(0, 1, (6, len(config.sigmas))).tolist(),
                    "test_examples": 360,
                }
            )
    out = flat_minima.correlations(config, rows)
    assert out["num_minima"] == 24
    assert out["num_clusters"] == [12] * 3
    assert out["min_clusters_per_algorithm"] == [6] * 3
    assert "not reliable" not in out["reliability_note"]
    keys = ("test_error", "test_error_stderr", "local_energy")
    few = flat_minima.correlations(config, [r | {k: r[k][:5] for k in keys} for r in rows])
    assert few["min_clusters_per_algorithm"] == [5] * 3
    assert "not reliable" in few["reliability_note"]


def test_entropy_sgd_lr_variants_differ_and_stop_at_the_outer_step_ending_an_epoch(monkeypatch):
    # nb = 3, L = 2: epochs end at outer steps round(1.5) = 2, 3, ...; solved from the start
    config = dataclasses.replace(
        QUICK, algorithms=("entropy_sgd",), seeds=1, epochs=4, stop_when_solved=True
    )
    make = flat_minima.make_algorithm

    def always_solved(*args):
        algo, minimum, plan = make(*args)
        return algo._replace(solved=lambda state, data: state.step > 0), minimum, plan

    monkeypatch.setattr(flat_minima, "make_algorithm", always_solved)
    # a perceptron on 60 random patterns: the same budget (nb = 3), far cheaper to compile
    problem = Problem(models.perceptron(4), losses.hinge(0.1))
    train_set = data.random_patterns(jax.random.key(0), n=4, p=60)
    minima = []
    for lr in (0.05, 0.1):
        variant = {"hidden": [], "lr": lr, "batch_size": 20}
        _, _, w, infos, plan = flat_minima.train(
            config, problem, train_set, "entropy_sgd", variant, "digits"
        )
        assert plan["steps"] == 6
        assert len(infos[0].gamma) == 2  # not 1 (floor nb // L), not 6 (no stop)
        minima.append(w)
    diff = [float(jnp.max(jnp.abs(a - b))) for a, b in zip(*map(jax.tree.leaves, minima))]
    assert max(diff) > 1e-6
