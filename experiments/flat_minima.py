"""flat-minima: local energy, curvature and test error of minima found by four algorithms.

The comparison of Baldassi, Pittorino & Zecchina (PNAS 2020): plain SGD, SGD with
norm reduction, replicated SGD (the centre of R coupled replicas) and
Entropy-SGD, each trained on the cross-entropy until zero training error (or a
step budget), several seeds, on

- the bundled digits with an MLP 64-H-10;
- teacher-student data for a fully connected committee machine of sign units
  with a teacher of the same architecture. Errors are the sign-unit vote's;
  training runs on the cross-entropy of a smooth surrogate chosen by
  ``readout``: "median" (default), the median hidden pre-activation, whose
  sign is the vote's and whose gradient is the least-action rule (Mitchison
  & Durbin 1989; `landscape.models.committee_machine`), so that the
  algorithms reach zero vote error; "sum", the erf output, which they train
  without solving the vote.

Rows per (problem, algorithm): for every seed the train and test error, whether
the measured minimum is a solution, the local energy curve (training error
under multiplicative noise, `landscape.flatness.local_energy`) on a grid of
sigmas, and the top Hessian eigenvalue of the training loss
(`landscape.curvature.top_eigenpairs`). The seeds expect replicated SGD and
Entropy-SGD minima to have lower local energy and lower test error; this
module only reports what it measures.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import numpy as np
import optax

from landscape import algorithms, data, flatness, losses, models, runs, stats
from landscape._util import check_positive_int
from landscape.curvature import top_eigenpairs
from landscape.models.committee import READOUTS
from landscape.problem import Batch, Problem

NAME = "flat-minima"
DESCRIPTION = (
    "local energy, top Hessian eigenvalue and test error of SGD/NR/rSGD/Entropy-SGD minima"
)
ALGORITHMS = ("sgd", "norm_reduction", "replicated", "entropy_sgd")
PROBLEMS = ("digits", "committee")


@dataclasses.dataclass(frozen=True)
class Config:
    """Minima of a digits MLP and a teacher-student committee machine, four algorithms.

    ``landscape run flat-minima [--quick]``: the default takes about 10 minutes
    on 2 CPU cores (``--quick``: a few seconds after compilation). Expected
    figure: training error vs sigma, one curve per algorithm with error bars
    over seeds, the test error in the legend; the seeds expect the replicated
    SGD and Entropy-SGD curves to lie below SGD's.
    """

    problems: tuple[str, ...] = PROBLEMS
    algorithms: tuple[str, ...] = ALGORITHMS
    seeds: int = 4
    digits_hidden: int = 64
    digits_examples: int = 0  # 0: the whole training split
    n: int = 60
    k: int = 3
    alpha: float = 2.0
    readout: str = "median"  # the committee's training surrogate (models.committee_machine)
    committee_beta: float = 10.0  # cross-entropy beta for the committee (digits: beta)
    committee_lr: float = 1.0  # learning rate for the committee (digits: lr)
    test_examples: int = 2000
    beta: float = 1.0
    lr: float = 0.1
    batch_size: int = 64
    steps: int = 3000
    steps_per_chunk: int = 250
    norm_reduction_rate: float = 1e-4
    replicas: int = 5
    gamma: float = 1e-3
    gamma_growth: float = 1.002
    gamma_max: float = 1.0
    esgd_lr: float = 1.0
    esgd_gamma: float = 0.03
    esgd_gamma_growth: float = 1.001
    langevin_steps: int = 5
    langevin_beta: float = 1e4
    sigmas: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
    noise_samples: int = 100
    eigenvalue: bool = True
    seed: int = 0

    def __post_init__(self):
        for field in ("seeds", "digits_hidden", "n", "k", "test_examples", "batch_size", "steps"):
            check_positive_int(getattr(self, field), field)
        for field in ("steps_per_chunk", "replicas", "langevin_steps", "noise_samples"):
            check_positive_int(getattr(self, field), field)
        if self.k % 2 == 0:
            raise ValueError(f"k={self.k}; expected an odd number of committee units")
        if not self.alpha > 0:
            raise ValueError(f"alpha={self.alpha}; expected a positive load")
        if self.readout not in READOUTS:
            raise ValueError(f"readout={self.readout!r}; expected one of {READOUTS}")
        bad = [p for p in self.problems if p not in PROBLEMS]
        if bad or not self.problems:
            raise ValueError(f"problems={list(self.problems)}; expected some of {PROBLEMS}")
        bad = [a for a in self.algorithms if a not in ALGORITHMS]
        if bad or not self.algorithms:
            raise ValueError(f"algorithms={list(self.algorithms)}; expected some of {ALGORITHMS}")
        if not self.sigmas or min(self.sigmas) < 0:
            raise ValueError(f"sigmas={list(self.sigmas)}; expected noise sizes >= 0")
        if self.gamma < 0 or self.esgd_gamma < 0:
            raise ValueError(f"gamma={self.gamma}, esgd_gamma={self.esgd_gamma}; expected >= 0")

    @classmethod
    def quick(cls) -> Config:
        """A few seconds after compilation: a tiny committee machine, one seed, few steps."""
        return cls(
            problems=("committee",),
            seeds=1,
            n=15,
            alpha=1.0,
            test_examples=200,
            batch_size=8,
            steps=40,
            steps_per_chunk=40,
            replicas=3,
            langevin_steps=2,
            sigmas=(0.0, 0.3, 1.0),
            noise_samples=8,
            eigenvalue=False,
        )

    @classmethod
    def default(cls) -> Config:
        """About 10 minutes on 2 CPU cores."""
        return cls()


_PROBLEMS: dict = {}


def make_problem(config: Config, name: str) -> tuple[Problem, Batch, Batch]:
    """(problem, train, test); cached so every algorithm reuses the compiled measurements."""
    cache_key = (
        name,
        config.digits_hidden,
        config.digits_examples,
        config.n,
        config.k,
        config.alpha,
        config.readout,
        config.test_examples,
        config.beta,
        config.committee_beta,
        config.seed,
    )
    if cache_key in _PROBLEMS:
        return _PROBLEMS[cache_key]
    loss = losses.cross_entropy(config.committee_beta if name == "committee" else config.beta)
    if name == "digits":
        train, test = data.digits()
        if config.digits_examples:
            train = jax.tree.map(lambda x: x[: config.digits_examples], train)
        problem = Problem(models.mlp([64, config.digits_hidden, 10]), loss)
    else:
        model = models.committee_machine(config.n, config.k, tree=False, readout=config.readout)
        key = jax.random.fold_in(jax.random.key(config.seed), 12345)
        p = data.num_patterns(config.alpha, config.n)
        train, teacher = data.teacher_student(jax.random.fold_in(key, 0), model, config.n, p)
        test, _ = data.teacher_student(
            jax.random.fold_in(key, 1),
            model,
            config.n,
            config.test_examples,
            teacher_params=teacher,
        )
        problem = Problem(model, loss)
    _PROBLEMS[cache_key] = (problem, train, test)
    return _PROBLEMS[cache_key]


def make_algorithm(config: Config, problem: Problem, name: str, p: int, lr: float | None = None):
    """The algorithm and the function reading the measured minimum off its state.

    ``lr`` (default ``config.lr``) is the SGD and Langevin learning rate.
    """
    lr = config.lr if lr is None else lr
    bs = min(config.batch_size, p)
    if name in ("sgd", "norm_reduction"):
        rate = config.norm_reduction_rate if name == "norm_reduction" else 0.0
        algo = algorithms.gradient(problem, optax.sgd(lr), batch_size=bs, norm_reduction_rate=rate)
        minimum = lambda s: s.params
    elif name == "replicated":
        algo = algorithms.replicated_sgd(
            problem,
            optax.sgd(lr),
            config.replicas,
            gamma=config.gamma,
            gamma_growth=config.gamma_growth,
            gamma_max=config.gamma_max,
            batch_size=bs,
            shard=False,  # the seed axis is the sharded one
        )
        minimum = lambda s: s.center
    else:
        algo = algorithms.entropy_sgd(
            problem,
            optax.sgd(config.esgd_lr),
            gamma=config.esgd_gamma,
            gamma_growth=config.esgd_gamma_growth,
            langevin_steps=config.langevin_steps,
            langevin_lr=lr,
            langevin_beta=config.langevin_beta,
            batch_size=bs,
        )
        minimum = lambda s: s.params
    return algo, minimum


def measure(config: Config, point: dict, keys: jax.Array):
    """Train one minimum per seed key and measure it; returns (row, arrays)."""
    problem, train, test = make_problem(config, point["problem"])
    lr = config.committee_lr if point["problem"] == "committee" else config.lr
    algo, minimum = make_algorithm(
        config, problem, point["algorithm"], int(train.y.shape[0]), lr=lr
    )
    init_keys = jax.vmap(lambda k: jax.random.fold_in(k, 0))(keys)
    states = jax.vmap(lambda k: algo.init(k, problem.model.init(k)))(init_keys)
    run_keys = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)
    states, _ = algorithms.run(
        algo,
        run_keys,
        states,
        train,
        config.steps,
        steps_per_chunk=min(config.steps_per_chunk, config.steps),
        stop_when_solved=True,
        samples=True,
        data_axis=None,
    )
    params = minimum(states)
    sigmas = np.asarray(config.sigmas)
    row: dict = {
        "train_error": [],
        "test_error": [],
        "solution": [],
        "local_energy": [],
        "local_energy_stderr": [],
    }
    if config.eigenvalue:
        row["top_eigenvalue"] = []
    for s in range(keys.shape[0]):
        w = jax.tree.map(lambda x, s=s: x[s], params)
        train_error = float(problem.errors(w, train))
        row["train_error"].append(train_error)
        row["test_error"].append(float(problem.errors(w, test)))
        row["solution"].append(train_error == 0.0)
        le = flatness.local_energy(
            jax.random.fold_in(keys[s], 2),
            problem.errors,
            w,
            train,
            sigmas,
            num_samples=config.noise_samples,
        )
        row["local_energy"].append(np.asarray(le.mean).tolist())
        row["local_energy_stderr"].append(np.asarray(le.stderr).tolist())
        if "top_eigenvalue" in row:
            eig = top_eigenpairs(jax.random.fold_in(keys[s], 3), problem.loss, w, train, 1)
            row["top_eigenvalue"].append(float(eig.eigenvalues[0]))
        if point["algorithm"] == "replicated":
            state = jax.tree.map(lambda x, s=s: x[s], states)
            report = algorithms.center_report(problem, state, train)
            row.setdefault("center_report", []).append(report.message)
            if not report.is_solution:
                print(f"flat-minima {point}: seed {s}: {report.message}")
    row["sigmas"] = sigmas.tolist()
    return row, None


def run(config: Config, run_dir: Path) -> None:
    """Every (problem, algorithm) point, ``config.seeds`` seeds each (resumable)."""
    points = [{"problem": p, "algorithm": a} for p in config.problems for a in config.algorithms]
    runs.scan(
        run_dir,
        points,
        lambda pt, keys: measure(config, pt, keys),
        seed=config.seed,
        samples=config.seeds,
    )


def plot(run_dir: Path) -> list[Path]:
    """One figure per problem: training error vs sigma per algorithm, test error in the legend."""
    from landscape import plots

    plt = plots.pyplot()
    rows = runs.read_rows(run_dir)
    out = []
    for problem in dict.fromkeys(r["problem"] for r in rows):
        fig, ax = plt.subplots(figsize=(5, 3.6))
        for r in (r for r in rows if r["problem"] == problem):
            curves = np.asarray(r["local_energy"], dtype=float)  # (seeds, S)
            mean, err, _ = stats.estimate(curves)
            if len(curves) == 1:  # one seed: the stderr over its perturbation samples
                err = np.asarray(r["local_energy_stderr"][0])
            test = np.asarray(r["test_error"], dtype=float)
            label = f"{r['algorithm']} (test {test.mean():.3f})"
            plots.errorbar(ax, np.asarray(r["sigmas"]), mean, err, label=label)
        ax.set_xlabel("sigma (multiplicative noise)")
        ax.set_ylabel("training error")
        ax.set_title(f"local energy, {problem}")
        ax.legend(fontsize=7)
        out.append(plots.save(fig, Path(run_dir) / f"local_energy_{problem}.png"))
        plt.close(fig)
    return out
