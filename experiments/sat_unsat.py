"""sat-unsat: SAT/UNSAT and algorithmic thresholds across the load alpha = P/N.

- ``model="spherical"``: the exact decision for every margin at once from one
  certified maximal-stability solve per sample (`landscape.exact.maximal_stability`);
  undecided samples are counted, never guessed.
- ``model="binary"``: exact enumeration of the 2^n binary weights (n <= 24,
  `landscape.exact.binary_enumeration`).
- ``model="committee"``: the fraction of samples SGD (and replicated SGD)
  solves within ``max_steps`` steps, for each number of hidden units k: solved
  means the sign-unit vote classifies every pattern correctly; training runs
  on the hinge of the ``readout`` surrogate (default "median": the
  least-action rule, `committee_success`).

Command: ``landscape run sat-unsat`` (spherical, n = 25, 50, 100, 16 alphas x
64 samples: a few minutes on 2 CPU cores); ``--quick``: seconds;
``--set model=binary --set n=[13,17,21]``; ``--set model=committee``.
Expected figures: p_sat vs alpha on Cover's exact finite-n curve at kappa = 0,
crossing 1/2 at alpha = 2 for every n; for kappa > 0 the curves for several n
cross near alpha_c(kappa) (0.5196 at kappa = 1); the median kappa_max on
the inverse Gardner curve (`landscape.theory.maximal_margin`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import numpy as np

from landscape import data, exact, plots, runs, stats, theory
from landscape._util import check_positive_int, x64
from landscape.models.committee import READOUTS

NAME = "sat-unsat"
DESCRIPTION = "Exact SAT/UNSAT (spherical, binary) and algorithmic success (committee) vs alpha"
MODELS = ("spherical", "binary", "committee")
ALGORITHMS = ("sgd", "replicated_sgd")


@dataclasses.dataclass(frozen=True)
class Config:
    """SAT/UNSAT phase diagram over loads alpha, sizes n (and k for committees).

    ``landscape run sat-unsat [--quick] [--set model=binary] [--set kappa=1.0]``.
    Default: spherical, kappa = 0, n in (25, 50, 100), 64 samples per point;
    a few minutes on 2 CPU cores. Figure ``sat_unsat.png``: p_sat vs alpha
    with Cover's curve and the capacity line; kappa_max vs alpha with the
    inverse Gardner curve.
    """

    model: str = "spherical"
    n: tuple[int, ...] = (25, 50, 100)
    k: tuple[int, ...] = (1, 3, 5)
    alphas: tuple[float, ...] = (
        0.5, 1.0, 1.25, 1.5, 1.625, 1.75, 1.875, 2.0, 2.125, 2.25, 2.375, 2.5, 2.75, 3.0, 3.5, 4.0,
    )  # fmt: skip
    kappa: float = 0.0
    samples: int = 64
    seed: int = 0
    max_steps: int = 20_000
    algorithms: tuple[str, ...] = ("sgd", "replicated_sgd")
    learning_rate: float = 5.0
    tree: bool = True
    readout: str = "median"  # committee training surrogate: "median" (least action) or "sum"
    inputs: str = "gaussian"
    per_device: int | None = 1  # samples vmapped at once (bench_scans.py: 1, a scan, is fastest)

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"model={self.model!r}; expected one of {MODELS}")
        check_positive_int(self.samples, "samples")
        check_positive_int(self.max_steps, "max_steps")
        if not self.alphas or any(not a > 0 for a in self.alphas):
            raise ValueError(f"alphas={list(self.alphas)}; expected positive loads alpha = P/N")
        if not self.n:
            raise ValueError("n=(); expected at least one size")
        for n in self.n:
            check_positive_int(n, "n")
        if self.model == "binary" and max(self.n) > exact.MAX_ENUMERATION_N:
            raise ValueError(
                f"n={list(self.n)}; exact enumeration needs n <= {exact.MAX_ENUMERATION_N}"
            )
        if self.model == "spherical" and not self.kappa >= 0:
            raise ValueError(f"kappa={self.kappa}; the exact spherical decision needs kappa >= 0")
        if self.readout not in READOUTS:
            raise ValueError(f"readout={self.readout!r}; expected one of {READOUTS}")
        for a in self.algorithms:
            if a not in ALGORITHMS:
                raise ValueError(f"algorithms={list(self.algorithms)}; expected {ALGORITHMS}")

    @classmethod
    def quick(cls) -> Config:
        """Seconds: spherical, n = 10 and 20, three loads, 8 samples."""
        return cls(n=(10, 20), alphas=(1.0, 2.0, 3.0), samples=8)

    @classmethod
    def default(cls) -> Config:
        """A few minutes on 2 CPU cores."""
        return cls()


# --------------------------------------------------------------------------------------------
# Rows of one grid point
# --------------------------------------------------------------------------------------------


def spherical_samples(sample_keys: jax.Array, n: int, p: int) -> tuple[jax.Array, jax.Array]:
    """Gaussian patterns and +-1 labels per sample key, in float64: xi (S, P, N), y (S, P)."""
    with x64():
        batches = jax.vmap(lambda k: data.random_patterns(k, n, p))(sample_keys)
        return batches.x, batches.y


def summarize(result: exact.MaximalStability, kappa: float) -> dict:
    """The row of a spherical point from its certified bounds (see `spherical_point`)."""
    decision = exact.decide(result, kappa)
    at_zero = exact.decide(result, 0.0)
    lower = np.maximum(np.asarray(result.kappa_lower), 0.0)
    upper = np.asarray(result.kappa_upper)
    kappa_max = np.where(at_zero.unsat, 0.0, 0.5 * (lower + upper))
    all_sat0 = bool(np.all(at_zero.sat))
    p_sat = stats.proportion(decision.sat)
    return {
        "p_sat": p_sat.mean,
        "p_sat_stderr": p_sat.stderr,
        "undecided": int(np.sum(decision.undecided)),
        "kappa_max_median": float(np.median(kappa_max)),
        "kappa_max_mean": float(np.mean(kappa_max)) if all_sat0 else None,
        "kappa_max_stderr": (
            stats.mean_stderr(kappa_max)[1] if all_sat0 and kappa_max.size > 1 else None
        ),
        "fraction_unsat_at_zero": float(np.mean(at_zero.unsat)),
        "max_bound_gap": float(np.max(np.where(at_zero.unsat, 0.0, upper - lower))),
        "mean_iterations": float(np.mean(result.steps)),
    }


def spherical_point(
    sample_keys: jax.Array,
    *,
    n: int,
    alpha: float,
    kappa: float,
    max_steps: int = 20_000,
    per_device: int | None = 1,
) -> tuple[dict, exact.MaximalStability]:
    """Decide ``len(sample_keys)`` spherical samples at load alpha and summarise them.

    Returns ``(row, result)``: row holds ``p``, ``p_sat`` (fraction SAT at
    kappa among all samples, undecided ones counted as neither) with its
    standard error, ``undecided`` (a count), ``kappa_max_median`` (median of
    max(kappa_max, 0) estimated by the midpoint of the certified bounds),
    ``kappa_max_mean`` / ``kappa_max_stderr`` (None unless every sample is SAT
    at kappa = 0), ``fraction_unsat_at_zero``, ``max_bound_gap`` and
    ``mean_iterations`` (projected-gradient steps).
    """
    p = data.num_patterns(alpha, n)
    xi, y = spherical_samples(sample_keys, n, p)
    result = exact.maximal_stability(
        xi, y, samples=True, max_steps=max_steps, per_device=per_device
    )
    row = summarize(result, kappa)
    row["p"] = p
    return row, result


def binary_point(
    sample_keys: jax.Array, *, n: int, alpha: float, kappa: float, inputs: str = "gaussian"
) -> tuple[dict, exact.Enumeration]:
    """Enumerate every sample at load alpha; row with ``p``, ``p_sat``, its stderr, entropy."""
    p = data.num_patterns(alpha, n)
    batches = jax.vmap(lambda k: data.random_patterns(k, n, p, inputs=inputs))(sample_keys)
    result = exact.binary_enumeration(batches.x, batches.y, kappa, samples=True, per_device=1)
    sat = result.num_solutions > 0
    with np.errstate(divide="ignore"):
        entropy = np.where(sat, np.log(np.maximum(result.num_solutions, 1)) / n, np.nan)
    p_sat = stats.proportion(sat)
    row = {
        "p": p,
        "p_sat": p_sat.mean,
        "p_sat_stderr": p_sat.stderr,
        "undecided": 0,
        "kappa_max_median": float(np.median(result.kappa_max)),
        "entropy_mean": float(np.nanmean(entropy)) if np.any(sat) else None,
    }
    return row, result


def committee_success(
    sample_keys: jax.Array,
    *,
    n: int,
    k: int,
    p: int,
    tree: bool = True,
    algorithm: str = "sgd",
    max_steps: int = 2000,
    learning_rate: float = 0.5,
    batch_size: int | None = None,
    kappa: float = 0.0,
    num_replicas: int = 3,
    gamma: float = 0.05,
    gamma_growth: float = 1.001,
    steps_per_chunk: int = 100,
    readout: str = "median",
    gamma_max: float | None = None,
) -> np.ndarray:
    """Whether an algorithm finds a zero-training-error committee machine, per sample (S,) bool.

    Random patterns (P, n) with random labels; the committee machine is the
    sign-unit one, (1/sqrt(k)) sum_l sign(h_l)
    (`landscape.models.committee_machine`'s ``classify``), and a sample counts
    as solved if this vote classifies every pattern correctly
    (`Problem.errors`) at the end of any chunk of ``steps_per_chunk`` steps
    within ``max_steps``. Training is gradient-based on the hinge loss at
    margin kappa of a surrogate output: ``readout="median"`` (default), the
    median hidden pre-activation, whose sign is the vote's and whose gradient
    is the least-action rule (Mitchison & Durbin 1989; kappa is then the
    hidden-unit margin); ``readout="sum"``, the erf output (1/sqrt(k)) sum_l
    erf(h_l), which gradient descent drives to zero loss without solving the
    vote (the control). ``"sgd"``: `landscape.algorithms.gradient` with
    ``optax.sgd``; ``"replicated_sgd"``: `landscape.algorithms.replicated_sgd`
    with ``num_replicas`` replicas coupled by ``gamma`` growing by
    ``gamma_growth`` per step up to ``gamma_max`` (default ``1 /
    learning_rate``, where a step moves a replica onto the centre), judged by
    its centre; the replicas start from independent random weights
    (``independent_starts``), so that full-batch replicas do not all follow
    one trajectory. The run stops once every sample is solved (each
    algorithm's ``solved``: zero training error of the measured minimum on
    the full data). The fraction solved vs alpha locates the algorithmic
    threshold (Baldassi et al., PRE 2022).
    """
    import optax

    from landscape import algorithms, losses, models
    from landscape.problem import Problem

    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm={algorithm!r}; expected one of {ALGORITHMS}")
    model = models.committee_machine(n, k, tree=tree, readout=readout)
    # Trained through `apply` (the surrogate), judged by `classify` (the vote).
    problem = Problem(model, losses.hinge(kappa))
    optimizer = optax.sgd(learning_rate)
    if algorithm == "sgd":
        algo = algorithms.gradient(problem, optimizer, batch_size=batch_size)
    else:
        algo = algorithms.replicated_sgd(
            problem,
            optimizer,
            num_replicas,
            gamma=gamma,
            gamma_growth=gamma_growth,
            gamma_max=max(gamma, 1.0 / learning_rate) if gamma_max is None else gamma_max,
            batch_size=batch_size,
            shard=False,
            independent_starts=True,
        )

    def setup(key):
        k_data, k_init = jax.random.split(key)
        batch = data.random_patterns(k_data, n, p)
        return batch, algo.init(k_init, model.init(k_init))

    batches, states = jax.jit(jax.vmap(setup))(sample_keys)

    # `algo.solved`: the vote of the measured minimum (the centre for replicated SGD) has
    # zero training error; a sample counts as solved if that holds after any chunk.
    solved_now = jax.jit(jax.vmap(algo.solved))
    solved = np.zeros(len(sample_keys), dtype=bool)

    def callback(done, state, info):  # noqa: ARG001
        solved[:] |= np.asarray(solved_now(state, batches))

    algorithms.run(
        algo,
        sample_keys,
        states,
        batches,
        max_steps,
        steps_per_chunk=min(steps_per_chunk, max_steps),
        callback=callback,
        stop_when_solved=True,  # every sample solved: nothing left to find
        samples=True,
    )
    return solved


# --------------------------------------------------------------------------------------------
# The scan
# --------------------------------------------------------------------------------------------


def points(config: Config) -> list[dict]:
    """The grid: (n, alpha) for spherical/binary; (n, k, algorithm, alpha) for committees."""
    if config.model == "committee":
        return [
            {"n": n, "k": k, "algorithm": a, "alpha": float(alpha)}
            for n in config.n
            for k in config.k
            for a in config.algorithms
            for alpha in config.alphas
        ]
    return [{"n": n, "alpha": float(alpha)} for n in config.n for alpha in config.alphas]


def run(config: Config, run_dir: Path) -> list[dict]:
    """Scan the grid; one row per point, resumable."""

    def measure(point, keys):
        n, alpha = point["n"], point["alpha"]
        if config.model == "spherical":
            row, res = spherical_point(
                keys,
                n=n,
                alpha=alpha,
                kappa=config.kappa,
                max_steps=config.max_steps,
                per_device=config.per_device,
            )
            arrays = {"kappa_lower": res.kappa_lower, "kappa_upper": res.kappa_upper}
        elif config.model == "binary":
            row, res = binary_point(
                keys, n=n, alpha=alpha, kappa=config.kappa, inputs=config.inputs
            )
            arrays = {"num_solutions": res.num_solutions, "kappa_max": res.kappa_max}
        else:
            p = data.num_patterns(alpha, n)
            solved = committee_success(
                keys,
                n=n,
                k=point["k"],
                p=p,
                tree=config.tree,
                algorithm=point["algorithm"],
                max_steps=config.max_steps,
                learning_rate=config.learning_rate,
                kappa=config.kappa,
                readout=config.readout,
            )
            p_sat = stats.proportion(solved)
            row = {
                "p": p,
                "readout": config.readout,
                "p_sat": p_sat.mean,
                "p_sat_stderr": p_sat.stderr,
                "undecided": 0,
            }
            arrays = {"solved": solved}
        return {"kappa": config.kappa, "model": config.model, **row}, arrays

    return runs.scan(run_dir, points(config), measure, seed=config.seed, samples=config.samples)


# --------------------------------------------------------------------------------------------
# Figure (theory lines from landscape.theory)
# --------------------------------------------------------------------------------------------


def _capacity(model: str, kappa: float) -> float | None:
    """The RS capacity line: Gardner's (spherical) or Krauth & Mezard's (binary)."""
    if model == "spherical":
        return float(theory.gardner_capacity(kappa))
    if model == "binary" and -10.0 <= kappa <= 3.0:
        return float(theory.binary_capacity(kappa).value)
    return None


def _tree(run_dir: Path) -> bool:
    """Whether the run's committee machines are tree ones (the config's default if unknown)."""
    try:
        return bool(runs.read_config(run_dir)["config"].get("tree", Config.tree))
    except (FileNotFoundError, ValueError, KeyError):
        return Config.tree


def committee_capacities(ks) -> dict[int, float]:
    """RS capacity of the tree committee machine with sign units (kappa = 0), per odd k.

    `landscape.theory.committee_capacity(k=k)`: an overestimate (replica symmetry breaks
    for k > 1), drawn as such beside the algorithms' success curves.
    """
    return {
        int(k): float(
            theory.committee_capacity(0.0, activation="sign", weights="spherical", k=int(k)).value
        )
        for k in ks
    }


def _inverse_gardner(alphas: np.ndarray) -> np.ndarray:
    """kappa_max(alpha), the inverse of Gardner's capacity curve (`theory.maximal_margin`)."""
    return np.array([float(theory.maximal_margin(float(a)).value) for a in alphas])


def plot(run_dir: Path) -> list[Path]:
    """``sat_unsat.png``: p_sat vs alpha (and kappa_max vs alpha for the spherical model)."""
    rows = runs.read_rows(run_dir)
    if not rows:
        return []
    plt = plots.pyplot()
    model, kappa = rows[0]["model"], rows[0]["kappa"]
    spherical = model == "spherical"
    fig, axes = plt.subplots(1, 2 if spherical else 1, figsize=(11 if spherical else 5.5, 4))
    ax = axes[0] if spherical else axes
    groups: dict = {}
    for r in rows:
        label = f"n={r['n']}" if model != "committee" else f"k={r['k']} {r['algorithm']}"
        groups.setdefault(label, []).append(r)
    for i, (label, rs) in enumerate(groups.items()):
        rs = sorted(rs, key=lambda r: r["alpha"])
        color = f"C{i}"
        plots.errorbar(
            ax,
            [r["alpha"] for r in rs],
            [r["p_sat"] for r in rs],
            [r["p_sat_stderr"] for r in rs],
            color=color,
            label=label,
        )
        if spherical and kappa == 0:
            n = rs[0]["n"]
            fine = np.linspace(min(r["alpha"] for r in rs), max(r["alpha"] for r in rs), 200)
            cover = [theory.cover_probability(n, round(a * n)) for a in fine]
            ax.plot(fine, cover, color=color, lw=0.8, ls=":")
    if model == "committee" and kappa == 0 and _tree(run_dir):
        ks = sorted({int(r["k"]) for r in rows})
        for k, cap_k in committee_capacities(ks).items():
            ax.axvline(cap_k, color="0.4", ls="-.", lw=0.8)
            ax.text(cap_k, 0.5, f" k={k}", fontsize=7, rotation=90, va="center")
        ax.plot([], [], color="0.4", ls="-.", lw=0.8, label="capacity, RS (an overestimate)")
    cap = _capacity(model, kappa)
    if cap is not None:
        ax.axvline(cap, color="k", ls="--", lw=1, label=rf"$\alpha_c({kappa:g})$={cap:.4g}")
    if spherical and kappa == 0:
        ax.plot([], [], "k:", lw=0.8, label="Cover (exact, finite n)")
    undecided = sum(r.get("undecided", 0) for r in rows)
    ylabel = "fraction solved by the algorithm" if model == "committee" else r"$p_{sat}$"
    ax.set_xlabel(r"$\alpha = P/N$")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{model}, kappa={kappa:g} (undecided samples: {undecided})", fontsize=9)
    ax.legend(fontsize=7)
    if spherical:
        ax2 = axes[1]
        for i, (label, rs) in enumerate(groups.items()):
            rs = sorted(rs, key=lambda r: r["alpha"])
            ax2.plot(
                [r["alpha"] for r in rs],
                [r["kappa_max_median"] for r in rs],
                "o-",
                ms=3,
                color=f"C{i}",
                label=label,
            )
        alphas = np.array(sorted({r["alpha"] for r in rows}))
        fine = np.linspace(max(alphas.min(), 0.05), min(alphas.max(), 1.999), 200)
        if fine.size and fine[0] < fine[-1]:
            ax2.plot(fine, _inverse_gardner(fine), "k--", lw=1, label="Gardner (inverse)")
        ax2.set_xlabel(r"$\alpha = P/N$")
        ax2.set_ylabel(r"median $\max(\kappa_{max}, 0)$")
        ax2.legend(fontsize=7)
    return [plots.save(fig, Path(run_dir) / "sat_unsat.png")]
