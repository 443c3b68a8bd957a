"""mode-connectivity: barriers between minima from different seeds, before and after alignment.

For each point (a problem, a load alpha, an algorithm) and each of ``pairs``
pairs of minima found from two different seeds (same data):

- the training error and loss along the straight line between them, and the
  barriers read off (error: ``max_minus_mean_endpoints``, Frankle et al. 2020;
  loss: ``max_minus_linear``);
- the same after aligning the second minimum's hidden units to the first's by
  weight matching (Ainsworth et al. 2023), with the matching objective before
  and after;
- the same along a quadratic Bezier curve trained between the (unaligned)
  minima (Garipov et al. 2018).

Problems: a fully connected committee machine (k units, erf activations,
sign-vote errors) on random patterns at several loads alpha = P/N, and an MLP
on scikit-learn's digits. Algorithms: SGD (Adam on the cross-entropy) and
replicated SGD (the centre of R elastically coupled replicas, Baldassi et al.
2016; `landscape.algorithms.replicated_sgd`). All pairs of a point train,
align, and are evaluated in a few compiled calls (pairs on the sample axis).

Command: ``landscape run mode-connectivity`` (about 10 minutes on 2 CPU cores;
``--quick``: about a minute, 2.5 minutes on a busy machine). Expected figure:
error barriers vs alpha for the committee machine, per algorithm, along the
line, after alignment and along the Bezier curve; measured at alpha = 1
(default sizes, 8 pairs): 0.013, 0.003 and 0; for the digits MLP the loss
barrier falls from 0.07 (line) to 0.003 (aligned) and 1e-4 (Bezier).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from landscape import algorithms, data, losses, models, paths, plots, runs, stats
from landscape._util import check_positive_int
from landscape.problem import Problem

NAME = "mode-connectivity"
DESCRIPTION = "linear/aligned/Bezier barriers between minima from different seeds vs alpha"
ALGORITHMS = ("sgd", "replicated")
PATH_KINDS = ("linear", "aligned", "bezier")


@dataclasses.dataclass(frozen=True)
class Config:
    """Pairs of minima of a committee machine (random patterns) and a digits MLP.

    ``landscape run mode-connectivity [--quick] [--set alphas=[0.5,1.0]]``:
    about 10 minutes on 2 CPU cores (``--quick``: about a minute).
    """

    n: int = 40
    k: int = 5
    alphas: tuple[float, ...] = (0.25, 0.5, 1.0, 1.5, 2.0)
    beta: float = 4.0
    readout: str = "median"  # the committee's training surrogate (models.committee_machine)
    digits: bool = True
    digits_hidden: int = 32
    digits_examples: int = 0  # 0: the whole training split
    algorithms: tuple[str, ...] = ALGORITHMS
    pairs: int = 8
    steps: int = 2000
    lr: float = 0.01
    batch_size: int = 64
    replicas: int = 3
    gamma: float = 0.01
    gamma_growth: float = 1.002
    num_points: int = 25
    bezier_steps: int = 1000
    bezier_lr: float = 0.01
    seed: int = 0

    def __post_init__(self):
        for field in ("n", "k", "pairs", "steps", "batch_size", "replicas", "num_points"):
            check_positive_int(getattr(self, field), field)
        check_positive_int(self.bezier_steps, "bezier_steps")
        check_positive_int(self.digits_hidden, "digits_hidden")
        if self.k % 2 == 0:
            raise ValueError(f"k={self.k}; expected an odd number of committee units")
        if any(not a > 0 for a in self.alphas):
            raise ValueError(f"alphas={list(self.alphas)}; expected positive loads")
        unknown = [a for a in self.algorithms if a not in ALGORITHMS]
        if unknown or not self.algorithms:
            raise ValueError(f"algorithms={list(self.algorithms)}; expected some of {ALGORITHMS}")
        if self.num_points < 3:
            raise ValueError(f"num_points={self.num_points}; expected at least 3 points along t")
        if self.digits_examples < 0:
            raise ValueError(f"digits_examples={self.digits_examples}; expected >= 0")

    @classmethod
    def quick(cls) -> Config:
        """About a minute: tiny sizes, two pairs, SGD and replicated SGD."""
        return cls(
            n=20,
            k=3,
            alphas=(0.5, 1.5),
            digits_hidden=16,
            digits_examples=300,
            pairs=2,
            steps=200,
            lr=0.03,
            num_points=9,
            bezier_steps=100,
            bezier_lr=0.03,
        )

    @classmethod
    def default(cls) -> Config:
        """About 10 minutes on 2 CPU cores."""
        return cls()


def _problem(config: Config, point: dict, key: jax.Array):
    """(problem, per-pair data (S, ...) or shared data, data_axis, minibatch size)."""
    loss = losses.cross_entropy(config.beta)
    if point["problem"] == "committee":
        n = config.n
        p = data.num_patterns(point["alpha"], n)
        model = models.committee_machine(n, config.k, tree=False, readout=config.readout)
        keys = jax.vmap(lambda s: jax.random.fold_in(key, s))(jnp.arange(config.pairs))
        batches = jax.jit(jax.vmap(lambda k: data.random_patterns(k, n, p)))(keys)
        batch_size = min(config.batch_size, p)
        return Problem(model, loss), batches, 0, batch_size
    train, _ = data.digits()
    if config.digits_examples:
        train = jax.tree.map(lambda x: x[: config.digits_examples], train)
    model = models.mlp([64, config.digits_hidden, 10])
    return Problem(model, loss), train, None, config.batch_size


def _algorithm(config: Config, problem: Problem, name: str, batch_size: int):
    if name == "sgd":
        return algorithms.gradient(problem, optax.adam(config.lr), batch_size=batch_size)
    return algorithms.replicated_sgd(
        problem,
        optax.adam(config.lr),
        config.replicas,
        gamma=config.gamma,
        gamma_growth=config.gamma_growth,
        batch_size=batch_size,
        shard=False,
    )


def find_pairs(config: Config, point: dict, keys: jax.Array):
    """Train 2S networks (two seeds per pair, same data); the pairs (a, b) and what made them."""
    problem, batches, data_axis, batch_size = _problem(config, point, keys[0])
    algo = _algorithm(config, problem, point["algorithm"], batch_size)
    seeds = jnp.concatenate(
        [jax.vmap(lambda k, i=i: jax.random.fold_in(k, i))(keys) for i in (1, 2)]
    )
    states = jax.jit(jax.vmap(lambda k: algo.init(k, problem.model.init(k))))(seeds)
    both = (
        batches if data_axis is None else jax.tree.map(lambda x: jnp.concatenate([x, x]), batches)
    )
    states, _ = algorithms.run(
        algo,
        seeds,
        states,
        both,
        config.steps,
        steps_per_chunk=min(config.steps, 500),
        samples=True,
        data_axis=data_axis,
    )
    params = states.params if point["algorithm"] == "sgd" else states.center
    s = config.pairs
    a = jax.tree.map(lambda x: x[:s], params)
    b = jax.tree.map(lambda x: x[s:], params)
    return a, b, batches, data_axis, problem, batch_size


def _loss_and_error(problem: Problem):
    def fn(params, batch):
        return problem.loss(params, batch), problem.errors(params, batch)

    return fn


def measure_point(config: Config, point: dict, keys: jax.Array):
    """One row (barrier means and standard errors over pairs) and the profiles (S, T)."""
    a, b, batches, data_axis, problem, batch_size = find_pairs(config, point, keys)
    fn = _loss_and_error(problem)  # one object: the three routes share compiled code
    ts = jnp.linspace(0.0, 1.0, config.num_points)
    tree = None if point["problem"] == "digits" else False
    spec = paths.permutation_spec(jax.tree.map(lambda x: x[0], a), tree=tree)
    match = paths.weight_matching(a, b, spec, samples=True)
    curve, _ = paths.train_curve(
        jax.vmap(lambda k: jax.random.fold_in(k, 3))(keys),
        problem.loss,
        a,
        b,
        batches,
        optimizer=optax.adam(config.bezier_lr),
        max_steps=config.bezier_steps,
        batch_size=batch_size,
        steps_per_chunk=min(config.bezier_steps, 500),
        samples=True,
        data_axis=data_axis,
    )
    routes = {
        "linear": paths.linear(a, b),
        "aligned": paths.linear(a, match.params),
        "bezier": curve,
    }
    row: dict = {"p": int(batches.y.shape[-1])}
    arrays = {"ts": np.asarray(ts)}
    for kind, route in routes.items():
        loss, error = paths.evaluate(fn, route, ts, batches, samples=True, data_axis=data_axis)
        arrays[f"{kind}_loss"] = np.asarray(loss)
        arrays[f"{kind}_error"] = np.asarray(error)
        for name, values, barrier_kind in (
            ("error", error, "max_minus_mean_endpoints"),
            ("loss", loss, "max_minus_linear"),
        ):
            heights = np.asarray(paths.barrier(values, kind=barrier_kind).height)
            mean, stderr = stats.mean_stderr(heights)
            row[f"{kind}_{name}_barrier"] = mean
            row[f"{kind}_{name}_barrier_stderr"] = stderr
    endpoint_errors = arrays["linear_error"][:, [0, -1]]
    row["endpoint_error"], row["endpoint_error_stderr"] = stats.mean_stderr(
        endpoint_errors.mean(axis=1)
    )
    row["objective_before"] = float(np.mean(match.objective_before))
    row["objective_after"] = float(np.mean(match.objective_after))
    return row, arrays


def run(config: Config, run_dir: Path) -> list[dict]:
    """Scan (problem, alpha, algorithm); one row per point, resumable."""
    points = [
        {"problem": "committee", "alpha": float(alpha), "algorithm": algo}
        for algo in config.algorithms
        for alpha in config.alphas
    ]
    if config.digits:
        points += [{"problem": "digits", "alpha": None, "algorithm": a} for a in config.algorithms]
    return runs.scan(
        run_dir,
        points,
        lambda point, keys: measure_point(config, point, keys),
        seed=config.seed,
        samples=config.pairs,
    )


def plot(run_dir: Path) -> list[Path]:
    """``mode_connectivity.png``: error barriers vs alpha (committee), digits MLP barriers."""
    rows = runs.read_rows(run_dir)
    if not rows:
        return []
    plt = plots.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    committee = [r for r in rows if r["problem"] == "committee"]
    for algo in sorted({r["algorithm"] for r in committee}):
        sel = sorted((r for r in committee if r["algorithm"] == algo), key=lambda r: r["alpha"])
        for kind, style in zip(PATH_KINDS, ("-", "--", ":")):
            plots.errorbar(
                axes[0],
                [r["alpha"] for r in sel],
                [r[f"{kind}_error_barrier"] for r in sel],
                [r[f"{kind}_error_barrier_stderr"] for r in sel],
                ls=style,
                label=f"{algo}, {kind}",
            )
    axes[0].set_xlabel(r"$\alpha = P/N$")
    axes[0].set_ylabel("training-error barrier (max - mean of ends)")
    axes[0].set_title("fully connected committee machine, random patterns", fontsize=9)
    axes[0].legend(fontsize=7)
    digits = [r for r in rows if r["problem"] == "digits"]
    width = 0.8 / max(1, len(digits))
    for i, r in enumerate(digits):
        x = np.arange(len(PATH_KINDS)) + i * width
        axes[1].bar(
            x,
            [r[f"{kind}_loss_barrier"] for kind in PATH_KINDS],
            width,
            yerr=[np.nan_to_num(r[f"{kind}_loss_barrier_stderr"]) for kind in PATH_KINDS],
            label=r["algorithm"],
        )
    axes[1].set_xticks(np.arange(len(PATH_KINDS)) + 0.4 - width / 2, PATH_KINDS)
    axes[1].set_ylabel("loss barrier (max above the line)")
    axes[1].set_title("MLP on digits", fontsize=9)
    if digits:
        axes[1].legend(fontsize=7)
    figures = [plots.save(fig, Path(run_dir) / "mode_connectivity.png")]
    figures += _plot_profiles(run_dir, rows)
    return figures


def _plot_profiles(run_dir: Path, rows: list[dict]) -> list[Path]:
    """``profiles.png``: mean error and loss along the three routes for the digits MLP (SGD)."""
    from landscape.paths import plots as path_plots

    chosen = [r for r in rows if r["problem"] == "digits" and r["algorithm"] == "sgd"]
    if not chosen:
        return []
    arrays = runs.load_params(run_dir, f"point{chosen[0]['point_index']:04d}")
    ts = arrays["['ts']"]
    plt = plots.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, name, kind in (
        (axes[0], "error", "max_minus_mean_endpoints"),
        (axes[1], "loss", "max_minus_linear"),
    ):
        path_plots.plot_profiles(
            ts,
            {route: arrays[f"['{route}_{name}']"] for route in PATH_KINDS},
            kind=kind,
            ax=ax,
            ylabel=f"training {name} (mean over pairs)",
        )
    fig.suptitle("MLP on digits, SGD minima from two seeds", fontsize=9)
    return [plots.save(fig, Path(run_dir) / "profiles.png")]
