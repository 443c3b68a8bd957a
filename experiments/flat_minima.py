"""flat-minima: flatness, curvature and test error of minima found by four algorithms.

The comparison of Baldassi, Pittorino & Zecchina (PNAS 2020) and Pittorino et
al. (ICLR 2021): plain SGD, SGD with norm reduction, replicated SGD (the centre
of y coupled replicas) and Entropy-SGD (Chaudhari et al., ICLR 2017), run as the
authors run them, on

- ``digits``: the bundled 8x8 digits with a ReLU MLP 64-hidden-10 (`models.mlp`);
- ``digits_cnn``: the same data with the small CNN of `models.cnn` (a second
  architecture: conv-pool blocks ``cnn_channels``, a dense layer ``hidden[0]``);
- ``mnist`` / ``mnist_cnn``: MNIST or Fashion-MNIST from the four IDX files in
  ``data_path`` (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
  ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each optionally
  ``.gz``; `landscape.data.load`), an MLP 784-hidden-10 or the CNN on 28x28;
- ``committee``: teacher-student data for a fully connected committee machine of
  sign units, trained on the cross-entropy of the ``readout`` surrogate
  (`landscape.models.committee_machine`);
- ``binary_teacher`` (opt-in, ``--set 'problems=["binary_teacher"]'``): binary
  perceptron minima of teacher-student data. Per seed a teacher w* uniform in
  {-1, +1}^n (``binary_n``, odd), P = round(``binary_alpha`` n) random +-1
  patterns labelled y = sign(w* . x) and absorbed (xi <- y xi, as the binary
  solvers expect), and ``test_examples`` test patterns of the same teacher.
  The algorithms are the binary solvers ``binary_solvers`` of
  `landscape.algorithms` (``sbpi``, ``cp_r``, ``focusing_bp``,
  ``binary_replicated_sgd``, ``replicated_annealing``), built as the
  algorithmic-threshold study builds them (its ``SOLVERS``: one budget of
  ``binary_sweeps`` sweeps, focusing BP's reinforcement spread over it) and run
  with `landscape.algorithms.solve` at kappa = 0. The minimum is the first
  solution found, else the solver's current configuration (the sign of its
  hidden states, fields or replica majority). Measured per seed: train error,
  ``solved``, sweeps, test error (binomial standard error), the overlap
  w . w* / n with the teacher, and the flip-noise local energy: for each
  p in ``flip_fractions`` the training error after flipping each weight
  independently with probability p, averaged over ``noise_samples`` draws
  (`flip_local_energy`; one uniform u per weight and draw, flipped where
  u < p, so p = 0 is the train error and p = 1 the error of -w). The protocol
  fields below (optimizer, replicas, sigmas, curvature) do not apply to it;
  paired differences are taken against ``sbpi`` (else the first solver) and
  the correlations use the local energy at every p > 0.

Protocol (every field of `Config`):

- a fixed budget of ``epochs`` passes over the ``train_examples`` (a prefix of
  the fixed training split; 0 = all), minibatches of ``batch_size`` drawn
  without replacement within an epoch (``sampling="epoch"`` of
  `landscape.algorithms`); ``stop_when_solved`` (default false) stops at the
  first epoch whose minimum has zero training error. Every algorithm gets the
  same epochs per replica: SGD and replicated SGD ``epochs * (P // B)`` steps,
  Entropy-SGD ``epochs * (P // B) // langevin_steps`` outer steps of
  ``langevin_steps`` minibatches each (`Config` rejects a budget with no full
  outer step, epochs * (P // B) < langevin_steps; when epochs * (P // B) is not
  a multiple of langevin_steps the remainder is dropped and the row's ``note``
  gives both counts). Rows report the minibatch gradients computed
  (``gradient_evaluations``, all replicas together).
- one optimizer for all: SGD with ``lr``, ``momentum`` (heavy ball, or Nesterov
  with ``nesterov``), coupled ``weight_decay`` and the learning rate multiplied
  by ``lr_drop_factor`` at the epochs in ``lr_drops`` (`algorithms.sgd`; for
  Entropy-SGD epoch e is outer step round(e * (P // B) / langevin_steps)).
- replicated SGD as in the authors' code (Pittorino et al. 2021, ``RobustNet``):
  ``replicas`` replicas, each with its own minibatch order; with
  ``independent_replicas`` replica 0 starts at SGD's network and replica a >= 1
  at its own ``model.init`` draw; the coupling grows geometrically from
  ``gamma`` (or ``"auto"``: gamma0 = 2 L / mean_a |w_a - c|^2 at the start) to
  ``gamma_max``, per step or per epoch (``gamma_every``); the centre ``center``
  is the replica mean or an explicit variable. The library's coupling
  (gamma/2)|w_a - c|^2 is the authors' g |w_a - c|^2 with gamma = 2 g. With
  momentum mu heavy-ball SGD is unstable once lr * curvature > 2 (1 + mu) and
  the coupling adds curvature gamma (2 gamma for an explicit centre): keep
  lr * gamma_max <= 1 unless ``lr_drops`` decay the rate; the row reports
  ``lr_gamma_max`` and its ``note`` says when lr * gamma_max > 1 with no
  drops, or when an ``"auto"`` gamma0 above gamma_max makes the coupling
  decay. The final relative spread sqrt(mean_a |w_a - c|^2) / |c| is reported
  per seed; below `COLLAPSED` the replicas have collapsed, and the row's
  ``note`` says when a measured centre has not collapsed or is not a solution.
- Entropy-SGD with the authors' defaults: inner Langevin noise epsilon
  sqrt(2 eta') with epsilon = 1e-4 (``langevin_beta`` = 1/epsilon^2 = 1e8), inner
  step ``langevin_lr`` = 0.1 and ``langevin_steps`` = 20, averaging
  ``esgd_ema`` = 0.75 (Chaudhari et al. 2017, sec. 5 and their code), inner
  weight decay ``langevin_weight_decay`` = 1e-4 (Pittorino et al. 2021, their
  code's ``weight_decay_sgld`` default); outer step ``esgd_lr`` * g (w - mu)
  (Pittorino et al. 2021) through the shared momentum SGD, g scoped
  geometrically per outer step from ``esgd_gamma`` = 0.03 (Chaudhari et al.'s
  gamma_0) to ``esgd_gamma_max``. A variant's learning rate scales the outer
  rate: a run at rate lr uses ``esgd_lr * lr / base``, base the problem's own
  rate (``lr``; ``committee_lr`` for the committee), so every ``vary_lr``
  variant of Entropy-SGD is a different run.
- SGD with norm reduction (PNAS 2020): the weights shrink by a factor
  (1 - ``norm_reduction_rate``) every step on top of the shared optimizer.
- common random numbers: seed s has the key fold_in(key(``seed``), s) and every
  algorithm derives from it the same network initialisation (``fold_in(., 0)``),
  minibatch orders (``fold_in(., 1)``: SGD's order is replica 0's), step noise
  (``fold_in(., 2)``), perturbations of the local energy (``fold_in(., 3)``),
  curvature probes (``fold_in(., 4)``) and local-entropy chains
  (``fold_in(., 5)``); the point index plays no part. ``binary_teacher`` draws
  its teacher, training and test patterns from ``fold_in(., 6)``, the solver's
  randomness from ``fold_in(., 1)`` and the flips from ``fold_in(., 3)``,
  the same for every solver of a seed. `summary.txt` gives
  paired per-seed differences (algorithm minus SGD) with a two-sided sign test.

Measurements of every minimum, per seed: train and test error (with the test
error's binomial standard error), the local energy curve (training error under
multiplicative noise w (1 + sigma z) on every leaf, biases included, so zero
biases stay zero; the same perturbation keys for every algorithm;
`flatness.local_energy`), the replica local entropy where ``local_entropy``
(`flatness.local_entropy`), the top Hessian eigenvalue and the Hessian trace
(Hutch++, with its standard error) of the training loss, the
rescaling-invariant trace tr(diag(w) H diag(w)) (cross-entropy past zero error
inflates the weight norm, which shrinks Hessian measures, while multiplicative
local energy is invariant to rescaling ReLU layers; `curvature.invariant_trace`),
and the norm of every parameter leaf. ``curvature=False`` skips the Hessian.

Flatness against generalisation (PNAS 2020's last claim): over all minima of a
problem, Spearman correlations between the test error and the local energy at
each sigma > 0, the Hessian trace (its log has the same ranks), the invariant
trace and the top eigenvalue, pooled and within algorithm (demeaned), with a
cluster bootstrap resampling seeds within algorithm
(`landscape.stats.cluster_bootstrap_correlation`; the clusters are the seeds,
shared by every variant, and each interval is reported with its number of
clusters, ``num_clusters``). With 16 minima a correlation of 0.5 has a 95%
interval reaching below 0, so `Config.correlation` varies width, learning rate
and batch size (``vary_hidden``, ``vary_lr``, ``vary_batch_size``) for more
minima, over `MIN_CLUSTERS` seeds; the analysis row says when fewer than
`MIN_CLUSTERS` clusters per algorithm make the intervals unreliable and when
the test set is too small to resolve the differences between minima.

Rows: one per (problem, [hidden, lr, batch_size,] algorithm) with per-seed
lists, then one ``analysis`` row per problem with the paired differences and
the correlations. This module asserts nothing about the sign of any effect; it
reports what it measures.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from landscape import algorithms, curvature, data, flatness, losses, models, runs, stats
from landscape._util import check_positive_int
from landscape.algorithms.binary import check_odd, count_errors, stabilities
from landscape.algorithms.binary_replicated import center_weights
from landscape.algorithms.gradient import batches_per_epoch, sgd
from landscape.algorithms.replicated import replica_spread
from landscape.curvature.trace import invariant_trace, weight_norms
from landscape.experiments import algorithmic_threshold
from landscape.models.committee import READOUTS
from landscape.problem import Batch, Problem

NAME = "flat-minima"
DESCRIPTION = (
    "local energy, Hessian, test error of SGD/NR/rSGD/Entropy-SGD minima; flatness vs test error"
)
ALGORITHMS = ("sgd", "norm_reduction", "replicated", "entropy_sgd")
PROBLEMS = ("digits", "digits_cnn", "mnist", "mnist_cnn", "committee", "binary_teacher")
BINARY = "binary_teacher"
BINARY_SOLVERS = ("sbpi", "cp_r", "focusing_bp", "binary_replicated_sgd", "replicated_annealing")
BINARY_BASELINE = "sbpi"  # the binary solvers' paired differences are taken against it
REAL = {"digits": "digits", "digits_cnn": "digits", "mnist": "idx", "mnist_cnn": "idx"}
COLLAPSED = 1e-2  # relative replica spread below which the replicas have collapsed
EXAMPLES_PER_CHUNK = 4096  # Hessian products and errors over larger sets go in chunks
ANALYSIS = "analysis"
SUMMARY_SIGMAS = (0.5, 0.7, 1.0)
MEASURES = ("top_eigenvalue", "hessian_trace", "invariant_trace")
MIN_CLUSTERS = 6  # seeds per algorithm below which a cluster-bootstrap interval is unreliable
DIGITS_TRAIN = 1797 - round(0.2 * 1797)  # `data.digits`' training split (1438 of 1797)


@dataclasses.dataclass(frozen=True)
class Config:
    """Minima of four algorithms on digits (MLP and CNN), a committee machine or MNIST.

    ``landscape run flat-minima [--quick]``: the default (digits, MLP 64-256-10,
    4 seeds) took 2 min 11 s on 2 shared CPU cores (``--quick``: a few seconds
    after compilation); ``--set 'problems=["digits","digits_cnn"]'`` adds the
    CNN, about 3 minutes per algorithm on CPU. Figures: the
    training error vs sigma per algorithm with error bars over seeds and the
    test error in the legend; scatters of every flatness measure against the
    test error (the algorithms marked, Spearman's rho in the titles); the
    replica spread and gamma along one replicated run. ``summary.txt``: the
    table per algorithm, the paired differences to SGD with sign tests, the
    correlations with their intervals. MNIST: ``--set
    problems=mnist --set data_path=DIR`` (see `Config.mnist`). Binary
    perceptron minima of teacher-student data: ``--set
    'problems=["binary_teacher"]'`` with the ``binary_*`` fields, the
    ``flip_fractions``, ``test_examples`` and ``noise_samples`` (see the
    module docstring; n = 201 at alpha = 0.6, below the solvers' algorithmic
    thresholds at 1000 sweeps).
    """

    problems: tuple[str, ...] = ("digits",)
    algorithms: tuple[str, ...] = ALGORITHMS
    seeds: int = 4
    # networks and data
    hidden: tuple[int, ...] = (256,)
    cnn_channels: tuple[int, ...] = (8, 16)
    train_examples: int = 0  # a prefix of the training split; 0 = all
    data_path: str = ""  # a directory of MNIST-format IDX files (mnist, mnist_cnn)
    beta: float = 1.0  # cross-entropy inverse temperature
    # the committee machine (teacher-student)
    n: int = 60
    k: int = 3
    alpha: float = 2.0
    readout: str = "median"
    test_examples: int = 2000  # the committee's test set
    committee_beta: float = 10.0
    committee_lr: float = 0.1  # committee_lr * gamma_max <= 1 (see the stability rule)
    # the binary perceptron (teacher-student, problem binary_teacher)
    binary_n: int = 201  # odd
    binary_alpha: float = 0.6
    binary_solvers: tuple[str, ...] = BINARY_SOLVERS
    binary_sweeps: int = 1000  # every solver's budget (algorithmic-threshold's SOLVERS)
    flip_fractions: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1)
    # the shared optimizer and budget
    batch_size: int = 32
    lr: float = 0.05
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    lr_drops: tuple[int, ...] = ()  # epochs at which lr is multiplied by lr_drop_factor
    lr_drop_factor: float = 0.1
    epochs: int = 30
    stop_when_solved: bool = False
    # SGD with norm reduction
    norm_reduction_rate: float = 1e-4
    # replicated SGD
    replicas: int = 3
    independent_replicas: bool = True
    gamma: float | str = "auto"
    gamma_max: float = 10.0
    gamma_every: str = "step"
    center: str = "mean"
    # Entropy-SGD
    esgd_lr: float = 1.0
    esgd_gamma: float = 0.03
    esgd_gamma_max: float = 1.0
    langevin_steps: int = 20
    langevin_lr: float = 0.1
    langevin_beta: float = 1e8
    esgd_ema: float = 0.75
    langevin_weight_decay: float = 1e-4  # Pittorino et al. 2021 (weight_decay_sgld)
    # measurements
    sigmas: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
    noise_samples: int = 40
    curvature: bool = True
    curvature_matvecs: int = 30
    local_entropy: bool = False
    local_entropy_gammas: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0, 100.0)
    local_entropy_chains: int = 4
    local_entropy_steps: int = 50
    # flatness against generalisation
    vary_hidden: tuple[tuple[int, ...], ...] = ()
    vary_lr: tuple[float, ...] = ()
    vary_batch_size: tuple[int, ...] = ()
    bootstrap_resamples: int = 1000
    steps_per_chunk: int = 0  # 0: one epoch per compiled chunk
    seed: int = 0

    def __post_init__(self):
        for field in ("seeds", "n", "k", "test_examples", "batch_size", "epochs", "replicas"):
            check_positive_int(getattr(self, field), field)
        for field in ("langevin_steps", "noise_samples", "curvature_matvecs"):
            check_positive_int(getattr(self, field), field)
        for field in ("local_entropy_chains", "local_entropy_steps", "bootstrap_resamples"):
            check_positive_int(getattr(self, field), field)
        if self.bootstrap_resamples < 2:
            raise ValueError(
                f"bootstrap_resamples={self.bootstrap_resamples}; expected at least 2 resamples"
            )
        if not self.cnn_channels or min(self.cnn_channels) < 1:
            raise ValueError(
                f"cnn_channels={list(self.cnn_channels)}; expected positive channel counts"
            )
        for field, bound in (
            ("gamma_max", "> 0"),
            ("committee_lr", "> 0"),
            ("lr_drop_factor", "> 0"),
            ("langevin_beta", "> 0"),
            ("langevin_lr", "> 0"),
            ("esgd_lr", "> 0"),
            ("weight_decay", ">= 0"),
            ("norm_reduction_rate", ">= 0"),
            ("langevin_weight_decay", ">= 0"),
        ):
            value = getattr(self, field)
            ok = value > 0 if bound == "> 0" else value >= 0
            if isinstance(value, bool) or not ok:
                raise ValueError(f"{field}={value!r}; expected a number {bound}")
        if not 0 < self.esgd_ema <= 1:
            raise ValueError(f"esgd_ema={self.esgd_ema}; expected 0 < esgd_ema <= 1")
        if any(not (e > 0 and math.isfinite(e)) for e in self.lr_drops):
            raise ValueError(f"lr_drops={list(self.lr_drops)}; expected epochs > 0")
        if isinstance(self.train_examples, bool) or self.train_examples < 0:
            raise ValueError(f"train_examples={self.train_examples!r}; expected 0 (all) or more")
        if self.steps_per_chunk < 0:
            raise ValueError(f"steps_per_chunk={self.steps_per_chunk}; expected >= 0")
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"hidden={list(self.hidden)}; expected positive layer widths")
        for widths in self.vary_hidden:
            if not widths or min(widths) < 1:
                raise ValueError(f"vary_hidden={self.vary_hidden}; expected lists of widths")
        for b in self.vary_batch_size:
            check_positive_int(b, "vary_batch_size")
        if any(not lr > 0 for lr in (self.lr, *self.vary_lr)):
            raise ValueError(f"lr={self.lr}, vary_lr={list(self.vary_lr)}; expected lr > 0")
        if self.k % 2 == 0:
            raise ValueError(f"k={self.k}; expected an odd number of committee units")
        if not self.alpha > 0:
            raise ValueError(f"alpha={self.alpha}; expected a positive load")
        if self.readout not in READOUTS:
            raise ValueError(f"readout={self.readout!r}; expected one of {READOUTS}")
        bad = [p for p in self.problems if p not in PROBLEMS]
        if bad or not self.problems:
            raise ValueError(f"problems={list(self.problems)}; expected some of {PROBLEMS}")
        if any(REAL.get(p) == "idx" for p in self.problems) and not self.data_path:
            raise ValueError(
                f"problems={list(self.problems)} with data_path=''; expected data_path=DIR "
                "holding train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (.gz allowed)"
            )
        bad = [a for a in self.algorithms if a not in ALGORITHMS]
        if bad or not self.algorithms:
            raise ValueError(f"algorithms={list(self.algorithms)}; expected some of {ALGORITHMS}")
        if not self.sigmas or min(self.sigmas) < 0:
            raise ValueError(f"sigmas={list(self.sigmas)}; expected noise sizes >= 0")
        if isinstance(self.gamma, str):
            if self.gamma != "auto":
                raise ValueError(f"gamma={self.gamma!r}; expected a coupling >= 0 or 'auto'")
            if not self.independent_replicas:
                raise ValueError(
                    "gamma='auto' with independent_replicas=False (every replica at one "
                    "point: zero distance); expected a number gamma or independent_replicas=True"
                )
        elif not 0 < self.gamma <= self.gamma_max:
            raise ValueError(f"gamma={self.gamma}; expected 0 < gamma <= gamma_max")
        if self.gamma_every not in ("step", "epoch"):
            raise ValueError(f"gamma_every={self.gamma_every!r}; expected 'step' or 'epoch'")
        if self.center not in ("mean", "explicit"):
            raise ValueError(f"center={self.center!r}; expected 'mean' or 'explicit'")
        if not 0 <= self.esgd_gamma <= self.esgd_gamma_max:
            raise ValueError(
                f"esgd_gamma={self.esgd_gamma}; expected 0 <= esgd_gamma <= esgd_gamma_max"
            )
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum={self.momentum}; expected 0 <= momentum < 1")
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True with momentum=0; expected momentum > 0 for Nesterov")
        self._check_binary()
        if "entropy_sgd" in self.algorithms:
            for problem in (p for p in self.problems if p != BINARY):
                p = known_train_examples(self, problem)
                for v in variants(self, problem) if p is not None else ():
                    _check_outer_step(self, batches_per_epoch(p, min(v["batch_size"], p)))

    def _check_binary(self) -> None:
        check_odd(self.binary_n, "binary_n")
        check_positive_int(self.binary_sweeps, "binary_sweeps")
        a = self.binary_alpha
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not 0 < a < math.inf:
            raise ValueError(f"binary_alpha={a!r}; expected a finite positive load P / n")
        known = [s for s in BINARY_SOLVERS if algorithmic_threshold.SOLVERS.get(s)]
        bad = [s for s in self.binary_solvers if s not in known]
        if (
            bad
            or not self.binary_solvers
            or len(set(self.binary_solvers)) < len(self.binary_solvers)
        ):
            raise ValueError(
                f"binary_solvers={list(self.binary_solvers)}; expected distinct names from {known}"
            )
        f = self.flip_fractions
        if not f or any(isinstance(x, bool) or not 0 <= x <= 1 for x in f):
            raise ValueError(f"flip_fractions={list(f)}; expected probabilities in [0, 1]")

    @classmethod
    def quick(cls) -> Config:
        """A few seconds after compilation: 60 digits, a 64-8-10 MLP, 2 seeds, 2 epochs."""
        return cls(
            problems=("digits",),
            seeds=2,
            hidden=(8,),
            train_examples=60,
            batch_size=20,
            epochs=2,
            replicas=3,
            gamma_max=2.0,
            langevin_steps=2,
            sigmas=(0.0, 0.5, 0.7, 1.0),
            noise_samples=4,
            curvature=False,
            bootstrap_resamples=20,
        )

    @classmethod
    def default(cls) -> Config:
        """Digits with the 64-256-10 MLP, 4 seeds, 30 epochs: about 2 minutes on 2 CPU cores."""
        return cls()

    @classmethod
    def correlation(cls) -> Config:
        """Flatness against test error over 96 digit minima: 2 widths x 2 rates x 2 batch sizes.

        ``landscape run flat-minima --set ...`` with these fields (or the
        fields of this method); 2 algorithms x 6 seeds x 8 variants = 96
        minima. The cluster bootstrap resamples seeds within algorithm, so the
        seeds (`MIN_CLUSTERS` = 6 of them, shared by every variant) are the
        independent units; more variants add minima but not clusters.
        """
        return dataclasses.replace(
            cls(),
            problems=("digits",),
            algorithms=("sgd", "replicated"),
            seeds=MIN_CLUSTERS,
            vary_hidden=((32,), (256,)),
            vary_lr=(0.02, 0.1),
            vary_batch_size=(16, 64),
            gamma_max=5.0,
            epochs=20,
            curvature_matvecs=20,
        )

    @classmethod
    def mnist(cls, data_path: str = "") -> Config:
        """MNIST or Fashion-MNIST (``--set problems=mnist --set data_path=DIR``), papers' sizes.

        A 784-500-10 MLP sized for an accelerator: 60000 examples, batch 128,
        50 epochs, lr 0.05 with momentum 0.9 and drops at epochs 30 and 45,
        replicated SGD with 3 independent replicas; the Hessian over all
        training examples in chunks.
        """
        return dataclasses.replace(
            cls(),
            problems=("mnist",),
            data_path=data_path or "mnist",
            hidden=(500,),
            batch_size=128,
            epochs=50,
            lr_drops=(30, 45),
            gamma_max=20.0,
            seeds=4,
            noise_samples=20,
            curvature_matvecs=30,
        )


# ---------------------------------------------------------------------------------------
# problems and variants


_PROBLEMS: dict = {}


def _network(config: Config, name: str, hidden: tuple[int, ...], dim: int, side: int):
    if name.endswith("_cnn"):
        return models.cnn((side, side, 1), channels=config.cnn_channels, hidden=hidden[0])
    return models.mlp([dim, *hidden, 10])


def make_problem(
    config: Config, name: str, hidden: tuple[int, ...] | None = None
) -> tuple[Problem, Batch, Batch]:
    """(problem, train, test) of problem ``name`` with hidden widths ``hidden``.

    Cached, so every algorithm of a problem reuses the compiled measurements.
    ``train`` is the first ``train_examples`` of the fixed training split
    (0 = all); MNIST-format data is read from ``config.data_path``.
    """
    hidden = tuple(config.hidden if hidden is None else hidden)
    committee = name == "committee"
    cache_key = (
        name,
        hidden if not committee else None,
        config.cnn_channels,
        config.train_examples,
        config.data_path if REAL.get(name) == "idx" else None,
        (config.n, config.k, config.alpha, config.readout, config.test_examples)
        if committee
        else None,
        config.committee_beta if committee else config.beta,
        config.seed,
    )
    if cache_key in _PROBLEMS:
        return _PROBLEMS[cache_key]
    loss = losses.cross_entropy(config.committee_beta if committee else config.beta)
    if committee:
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
    else:
        if REAL[name] == "digits":
            train, test = data.digits()
        else:
            train = data.load(config.data_path, split="train")
            test = data.load(config.data_path, split="test")
        if config.train_examples:
            if config.train_examples > train.y.shape[0]:
                raise ValueError(
                    f"train_examples={config.train_examples}; expected at most the "
                    f"{train.y.shape[0]} training examples of {name}"
                )
            train = jax.tree.map(lambda x: x[: config.train_examples], train)
        dim = int(train.x.shape[1])
        side = math.isqrt(dim)
        model = _network(config, name, hidden, dim, side)
    train = Batch(jnp.asarray(train.x), jnp.asarray(train.y))
    test = Batch(jnp.asarray(test.x), jnp.asarray(test.y))
    _PROBLEMS[cache_key] = (Problem(model, loss), train, test)
    return _PROBLEMS[cache_key]


def variants(config: Config, problem: str) -> list[dict]:
    """The (hidden, lr, batch_size) of every run of a problem: the product of the vary_* lists.

    The committee machine has the one variant of its own fields.
    """
    if problem == "committee":
        return [{"hidden": [], "lr": config.committee_lr, "batch_size": config.batch_size}]
    hiddens = config.vary_hidden or (config.hidden,)
    lrs = config.vary_lr or (config.lr,)
    sizes = config.vary_batch_size or (config.batch_size,)
    return [
        {"hidden": list(h), "lr": float(lr), "batch_size": int(b)}
        for h, lr, b in itertools.product(hiddens, lrs, sizes)
    ]


def points(config: Config) -> list[dict]:
    """Every (problem, variant, algorithm), then one analysis point per problem."""
    out = []
    varied = bool(config.vary_hidden or config.vary_lr or config.vary_batch_size)
    for p in config.problems:
        if p == BINARY:
            out += [{"problem": p, "algorithm": a} for a in config.binary_solvers]
            continue
        for v in variants(config, p):
            for a in config.algorithms:
                out.append({"problem": p, **(v if varied else {}), "algorithm": a})
    out += [{"problem": p, "algorithm": ANALYSIS} for p in config.problems]
    return out


def _variant(config: Config, point: dict) -> dict:
    if "hidden" in point:
        return {k: point[k] for k in ("hidden", "lr", "batch_size")}
    return variants(config, point["problem"])[0]


# ---------------------------------------------------------------------------------------
# keys: common random numbers


def seed_keys(config: Config) -> jax.Array:
    """The (seeds,) keys fold_in(key(seed), s): the same for every algorithm and point."""
    return runs.sample_keys(jax.random.key(config.seed), config.seeds)


def stream(keys: jax.Array, index: int) -> jax.Array:
    """Stream ``index`` of every seed key: 0 init, 1 order, 2 steps, 3 noise, 4 probes, 5 chains."""
    return jax.vmap(lambda k: jax.random.fold_in(k, index))(keys)


# ---------------------------------------------------------------------------------------
# algorithms


def known_train_examples(config: Config, problem: str) -> int | None:
    """P of ``problem`` known without reading data: None for IDX data with ``train_examples=0``."""
    if problem == "committee":
        return data.num_patterns(config.alpha, config.n)
    if config.train_examples:
        return config.train_examples
    return DIGITS_TRAIN if REAL[problem] == "digits" else None


def _check_outer_step(config: Config, per_epoch: int) -> None:
    """ValueError when epochs * nb minibatches hold no full Entropy-SGD outer step."""
    if config.epochs * per_epoch < config.langevin_steps:
        raise ValueError(
            f"langevin_steps={config.langevin_steps} with epochs={config.epochs} of "
            f"{per_epoch} minibatches: Entropy-SGD would get no full outer step within the "
            f"budget; expected epochs * batches_per_epoch >= langevin_steps"
        )


def budget(config: Config, name: str, num_examples: int, batch_size: int) -> dict:
    """Steps and gradient evaluations of algorithm ``name`` for the whole run (one seed).

    With nb = P // B and L = ``langevin_steps``: ``steps`` are SGD's and
    replicated SGD's epochs * nb, Entropy-SGD's epochs * nb // L outer steps
    (ValueError when that is 0). ``steps_per_epoch``: optimizer steps per
    epoch, nb or nb / L (a fraction for Entropy-SGD; `algorithms.sgd` puts the
    drop of epoch e at step round(e * steps_per_epoch)). ``minibatches``: per
    network, steps * L for Entropy-SGD (the remainder epochs * nb mod L unused),
    epochs * nb for the others. ``per_step``: gradients per step, all
    replicas (inner Langevin steps) counted.
    """
    per_epoch = batches_per_epoch(num_examples, batch_size)
    if name == "entropy_sgd":
        _check_outer_step(config, per_epoch)
        steps = config.epochs * per_epoch // config.langevin_steps
        return {
            "steps": steps,
            "batches_per_epoch": per_epoch,
            "steps_per_epoch": per_epoch / config.langevin_steps,
            "per_step": config.langevin_steps,
            "minibatches": steps * config.langevin_steps,
        }
    per_step = config.replicas if name == "replicated" else 1
    return {
        "steps": config.epochs * per_epoch,
        "batches_per_epoch": per_epoch,
        "steps_per_epoch": per_epoch,
        "per_step": per_step,
        "minibatches": config.epochs * per_epoch,
    }


def budget_note(config: Config, plan: dict) -> str:
    """The row's note when Entropy-SGD's outer steps leave minibatches of the budget unused."""
    others = config.epochs * plan["batches_per_epoch"]
    if plan["minibatches"] == others:
        return ""
    return (
        f"Entropy-SGD used {plan['minibatches']} minibatches per network against the others' "
        f"{others} ({config.epochs} epochs x {plan['batches_per_epoch']}; "
        f"{others} is not a multiple of langevin_steps={config.langevin_steps})"
    )


def epoch_ends(plan: dict) -> list[int]:
    """The optimizer steps (counted from 1) at which epochs end: round(e * steps_per_epoch).

    e = 1 .. epochs, clipped to the run's steps and deduplicated; for
    Entropy-SGD with nb / L fractional these are the outer steps nearest the
    epoch ends, the same steps at which `optimizer`'s drops take effect.
    """
    ends = set()
    e = 1
    while True:
        t = min(round(e * plan["steps_per_epoch"]), plan["steps"])
        if t >= 1:
            ends.add(t)
        if t >= plan["steps"]:
            return sorted(ends)
        e += 1


def esgd_learning_rate(config: Config, problem: str, lr: float) -> float:
    """Entropy-SGD's outer rate at a variant's rate ``lr``: esgd_lr * lr / base.

    ``base`` is the problem's own rate (``committee_lr`` for the committee,
    else ``lr``), so the default variant runs at ``esgd_lr`` and a ``vary_lr``
    variant at the same multiple of it as its SGD rate is of ``lr``.
    """
    base = config.committee_lr if problem == "committee" else config.lr
    return config.esgd_lr * (lr / base)


def optimizer(config: Config, lr: float, steps_per_epoch: float):
    """The shared optimizer: SGD with momentum (Nesterov), weight decay and lr drops.

    `landscape.algorithms.sgd`; ``lr_drops`` are epochs, ``steps_per_epoch``
    the optimizer steps of one epoch (Entropy-SGD: nb / L outer steps, a
    fraction, so the drop of epoch e lands at outer step round(e * nb / L)).
    """
    return sgd(
        lr,
        momentum=config.momentum,
        nesterov=config.nesterov,
        weight_decay=config.weight_decay,
        lr_drops=tuple(config.lr_drops),
        drop_factor=config.lr_drop_factor,
        steps_per_epoch=steps_per_epoch,
    )


_ALGORITHMS: dict = {}
_MEASUREMENT_ONLY = {
    "stop_when_solved": False,
    "sigmas": (0.0,),
    "noise_samples": 1,
    "curvature": False,
    "curvature_matvecs": 1,
    "local_entropy": False,
    "seeds": 1,
    "vary_hidden": (),
    "vary_lr": (),
    "vary_batch_size": (),
    "bootstrap_resamples": 2,
    "steps_per_chunk": 0,
}


def make_algorithm(
    config: Config, problem: Problem, name: str, p: int, variant: dict, problem_name: str = ""
):
    """(algorithm, minimum, budget): the algorithm, the function reading its minimum, its budget.

    ``problem_name`` picks Entropy-SGD's base rate (`esgd_learning_rate`).
    Cached (the same objects for the same arguments), so a rerun or a resume in
    one process reuses the driver's compiled chunks.
    """
    training = dataclasses.replace(config, **_MEASUREMENT_ONLY)
    cache_key = (training, problem, name, p, tuple(variant["hidden"]), variant["lr"])
    cache_key += (variant["batch_size"], problem_name == "committee")
    if cache_key not in _ALGORITHMS:
        _ALGORITHMS[cache_key] = _make_algorithm(config, problem, name, p, variant, problem_name)
    return _ALGORITHMS[cache_key]


def _make_algorithm(
    config: Config, problem: Problem, name: str, p: int, variant: dict, problem_name: str = ""
):
    lr, bs = variant["lr"], min(variant["batch_size"], p)
    plan = budget(config, name, p, bs)
    per_epoch = plan["batches_per_epoch"]
    if name in ("sgd", "norm_reduction"):
        rate = config.norm_reduction_rate if name == "norm_reduction" else 0.0
        algo = algorithms.gradient(
            problem,
            optimizer(config, lr, per_epoch),
            batch_size=bs,
            norm_reduction_rate=rate,
            sampling="epoch",
        )
        minimum = lambda s: s.params
    elif name == "replicated":
        algo = algorithms.replicated_sgd(
            problem,
            optimizer(config, lr, per_epoch),
            config.replicas,
            gamma=config.gamma,
            gamma_max=config.gamma_max,
            num_steps=plan["steps"],
            gamma_every=config.gamma_every,
            center=config.center,
            batch_size=bs,
            shard=False,  # the seed axis is the sharded one
            independent_replicas=config.independent_replicas,
            sampling="epoch",
        )
        minimum = lambda s: s.center
    else:
        algo = algorithms.entropy_sgd(
            problem,
            optimizer(
                config, esgd_learning_rate(config, problem_name, lr), plan["steps_per_epoch"]
            ),
            gamma=config.esgd_gamma,
            gamma_max=config.esgd_gamma_max,
            num_steps=plan["steps"],
            langevin_steps=config.langevin_steps,
            langevin_lr=config.langevin_lr,
            langevin_beta=config.langevin_beta,
            ema=config.esgd_ema,
            langevin_weight_decay=config.langevin_weight_decay,
            batch_size=bs,
            sampling="epoch",
        )
        minimum = lambda s: s.params
    return algo, minimum, plan


class _Solved(Exception):  # noqa: N818 (control flow, not an error)
    """Raised by the stop check of `train` with the state and infos so far."""


def train(
    config: Config,
    problem: Problem,
    train_set: Batch,
    name: str,
    variant: dict,
    problem_name: str = "",
):
    """Train one network per seed; returns (states, starts, minima, infos, plan).

    ``states``, ``starts`` and ``minima`` carry a leading seed axis;
    ``starts`` are the initial parameters (replicated SGD: of every replica,
    leaves (seeds, R, ...)); every algorithm's network 0 of seed s starts at
    ``model.init(stream(seed_keys, 0)[s])``. ``infos`` is a list, one per seed,
    of the per-step Info (its length the steps run: ``stop_when_solved``
    stops each seed at its own first solved epoch, checked at `epoch_ends`:
    for Entropy-SGD with nb / L fractional the outer steps nearest the ends of
    epochs). The seeds run one after the other through one compiled chunk (on
    CPU far cheaper to compile than the sample-mapped driver).
    """
    p = int(train_set.y.shape[0])
    algo, minimum, plan = make_algorithm(config, problem, name, p, variant, problem_name)
    keys = seed_keys(config)
    init_keys, algo_keys, run_keys = stream(keys, 0), stream(keys, 1), stream(keys, 2)
    ends = epoch_ends(plan)
    regular = ends == list(range(ends[0], plan["steps"] + 1, ends[0]))
    if config.steps_per_chunk or regular or not config.stop_when_solved:
        chunk = config.steps_per_chunk or (ends[0] if regular else round(plan["steps_per_epoch"]))
        checks = None  # the driver checks at the end of every chunk
    else:  # epoch ends at irregular outer steps: one step per chunk, checked at the ends
        chunk, checks = 1, set(ends)
        solved = jax.jit(algo.solved)
    starts, finals, infos = [], [], []
    for s in range(config.seeds):
        state = algo.init(algo_keys[s], problem.model.init(init_keys[s]))
        starts.append(state.params)
        if checks is None:
            state, info = algorithms.run(
                algo,
                run_keys[s],
                state,
                train_set,
                plan["steps"],
                steps_per_chunk=min(chunk, plan["steps"]),
                stop_when_solved=config.stop_when_solved,
            )
        else:
            got = []

            def check(done, state, info, got=got):
                got.append((state, info))
                if done in checks and bool(solved(state, train_set)):
                    raise _Solved

            with contextlib.suppress(_Solved):
                algorithms.run(
                    algo, run_keys[s], state, train_set, plan["steps"], callback=check,
                    steps_per_chunk=1,
                )  # fmt: skip
            state = got[-1][0]
            info = jax.tree.map(lambda *xs: np.concatenate(xs), *[i for _, i in got])
        finals.append(state)
        infos.append(info)
    stack = lambda trees: jax.tree.map(lambda *xs: jnp.stack(xs), *trees)
    states = stack(finals)
    return states, stack(starts), minimum(states), infos, plan


# ---------------------------------------------------------------------------------------
# measurements


def measure_minimum(
    config: Config, problem: Problem, train_set: Batch, test: Batch, w, keys: dict
) -> dict:
    """Every measurement of one minimum ``w``; ``keys`` holds its noise, probes and chains keys."""
    p = int(train_set.y.shape[0])
    chunk = EXAMPLES_PER_CHUNK if p > EXAMPLES_PER_CHUNK else None
    train_error = float(problem.errors(w, train_set))
    test_error = float(problem.errors(w, test))
    num_test = int(test.y.shape[0])
    out = {
        "train_error": train_error,
        "test_error": test_error,
        "test_error_stderr": math.sqrt(test_error * (1 - test_error) / num_test),
        "solution": train_error == 0.0,
        "train_loss": float(problem.loss(w, train_set, chunk)),
    }
    le = flatness.local_energy(
        keys["noise"],
        problem.errors,
        w,
        train_set,
        np.asarray(config.sigmas),
        num_samples=config.noise_samples,
    )
    out["local_energy"] = np.asarray(le.mean).tolist()
    out["local_energy_stderr"] = np.asarray(le.stderr).tolist()
    if config.curvature:
        k_eig, k_trace, k_inv = jax.random.split(keys["probes"], 3)
        eig = curvature.top_eigenpairs(
            k_eig, problem.loss, w, train_set, 1, examples_per_chunk=chunk
        )
        out["top_eigenvalue"] = float(eig.eigenvalues[0])
        tr = curvature.trace(
            k_trace,
            problem.loss,
            w,
            train_set,
            num_matvecs=config.curvature_matvecs,
            examples_per_chunk=chunk,
        )
        out["hessian_trace"] = float(tr.mean)
        out["hessian_trace_stderr"] = float(tr.stderr)
        inv = invariant_trace(
            k_inv,
            problem.loss,
            w,
            train_set,
            num_matvecs=config.curvature_matvecs,
            examples_per_chunk=chunk,
        )
        out["invariant_trace"] = float(inv.mean)
        out["invariant_trace_stderr"] = float(inv.stderr)
    out["weight_norm"] = [float(v) for v in weight_norms(w).values()]
    if config.local_entropy:
        if train_error == 0.0:
            ent = flatness.local_entropy(
                keys["chains"],
                problem.errors,
                w,
                train_set,
                np.asarray(config.local_entropy_gammas),
                num_chains=config.local_entropy_chains,
                num_steps=config.local_entropy_steps,
                burn_in=config.local_entropy_steps // 2,
            )
            out["local_entropy"] = np.asarray(ent.entropy).tolist()
            out["local_entropy_stderr"] = np.asarray(ent.entropy_stderr).tolist()
            out["local_entropy_distance"] = np.asarray(ent.distance).tolist()
        else:  # the hard-constraint estimate needs a solution as reference
            nan = [math.nan] * len(config.local_entropy_gammas)
            out["local_entropy"] = nan
            out["local_entropy_stderr"] = nan
            out["local_entropy_distance"] = nan
    return out


def measure(config: Config, point: dict):
    """Train one minimum per seed and measure it; returns (row, arrays).

    The keys come from the seed index alone (`seed_keys`, `stream`), never from
    the point, so every algorithm sees the same initialisation and noise.
    """
    problem, train_set, test = make_problem(config, point["problem"], _hidden(config, point))
    name = point["algorithm"]
    variant = _variant(config, point)
    states, starts, minima, infos, plan = train(
        config, problem, train_set, name, variant, point["problem"]
    )
    keys = seed_keys(config)
    noise, probes, chains = stream(keys, 3), stream(keys, 4), stream(keys, 5)
    steps_run = [int(np.shape(jax.tree.leaves(info)[0])[0]) for info in infos]
    per_step, per_epoch = plan["per_step"], plan["batches_per_epoch"]
    inner = per_step if name == "entropy_sgd" else 1  # minibatches per step and network
    notes = []
    row: dict = {
        "sigmas": [float(s) for s in config.sigmas],
        "train_examples": int(train_set.y.shape[0]),
        "test_examples": int(test.y.shape[0]),
        "parameters": int(sum(np.size(x) for x in jax.tree.leaves(problem.model.init(keys[0])))),
        "steps": steps_run,
        "epochs_run": [t * inner / per_epoch for t in steps_run],
        "gradient_evaluations": [t * per_step for t in steps_run],
        "layers": list(weight_norms(jax.tree.map(lambda x: x[0], minima))),
    }
    per_seed: dict = {}
    for s in range(config.seeds):
        w = jax.tree.map(lambda x, s=s: x[s], minima)
        got = measure_minimum(
            config,
            problem,
            train_set,
            test,
            w,
            {"noise": noise[s], "probes": probes[s], "chains": chains[s]},
        )
        for key, value in got.items():
            per_seed.setdefault(key, []).append(value)
        if not got["solution"]:
            notes.append(f"seed {s}: not a solution (training error {got['train_error']:.4g})")
    row.update(per_seed)
    arrays = {"minimum": minima, "start": starts}
    if name == "replicated":
        spread = np.asarray(jax.vmap(replica_spread)(states), dtype=float)
        row["replica_spread"] = spread.tolist()
        row["collapsed"] = [bool(x < COLLAPSED) for x in spread]
        row["gamma_start"] = [float(info.gamma[0]) for info in infos]
        row["gamma_end"] = [float(info.gamma[-1]) for info in infos]
        row["lr_gamma_max"] = variant["lr"] * config.gamma_max
        for s, x in enumerate(spread):
            if not x < COLLAPSED:
                notes.append(f"seed {s}: the centre has not collapsed (spread {x:.3g})")
        arrays["spread"] = _ragged([info.spread for info in infos])
        arrays["gamma"] = _ragged([info.gamma for info in infos])
        arrays["replicas"] = states.params
    elif name == "entropy_sgd":
        row["gamma_start"] = [float(info.gamma[0]) for info in infos]
        row["gamma_end"] = [float(info.gamma[-1]) for info in infos]
        outer_lr = esgd_learning_rate(config, point["problem"], variant["lr"])
        row["esgd_lr"] = outer_lr
        row["lr_gamma_max"] = outer_lr * config.esgd_gamma_max
        if budget_note(config, plan):
            notes.insert(0, budget_note(config, plan))
    notes += coupling_notes(config, name, row)
    row["note"] = "; ".join(notes)
    if notes:
        print(f"flat-minima {point}: " + "; ".join(notes))
    return row, arrays


def coupling_notes(config: Config, name: str, row: dict) -> list[str]:
    """Notes on a row's coupling: lr * gamma_max > 1 with no drops; an auto gamma0 > gamma_max.

    ``row`` needs ``lr_gamma_max`` (replicated SGD, Entropy-SGD) and, for
    replicated SGD with ``gamma="auto"``, the measured ``gamma_start`` per seed:
    above ``gamma_max`` the geometric schedule decays instead of growing.
    """
    notes = []
    if name == "replicated" and config.gamma == "auto":
        for s, g in enumerate(row.get("gamma_start", [])):
            if g > config.gamma_max:
                notes.append(
                    f"seed {s}: gamma='auto' measured gamma0 = {g:.3g} above "
                    f"gamma_max = {config.gamma_max:g}, so the coupling decays over the run"
                )
    if row.get("lr_gamma_max", 0.0) > 1 and not config.lr_drops:
        notes.append(
            f"lr * gamma_max = {row['lr_gamma_max']:.3g} > 1 with no lr_drops: beyond the "
            "stability rule (keep lr * gamma_max <= 1 unless the rate decays)"
        )
    return notes


def _ragged(traces: list) -> np.ndarray:
    """(seeds, max steps) from per-seed traces, NaN after a seed's last step."""
    out = np.full((len(traces), max(len(t) for t in traces)), np.nan)
    for i, t in enumerate(traces):
        out[i, : len(t)] = np.asarray(t, dtype=float)
    return out


def _hidden(config: Config, point: dict) -> tuple[int, ...] | None:
    if point["problem"] == "committee":
        return None
    return tuple(point.get("hidden", config.hidden))


# ---------------------------------------------------------------------------------------
# binary perceptron minima of teacher-student data (problem binary_teacher)


def binary_teacher_data(config: Config, key: jax.Array) -> dict:
    """One seed's teacher and absorbed training and test patterns from ``key``.

    Teacher w* uniform in {-1, +1}^n (``fold_in(key, 0)``), P = round(alpha n)
    training inputs (``fold_in(key, 1)``) and ``test_examples`` test inputs
    (``fold_in(key, 2)``) uniform in {-1, +1}^n, labels y = sign(w* . x)
    (n odd: never 0), absorbed xi = y x. Returns ``teacher`` (n,), ``train``
    (P, n) and ``test`` (T, n), int32.
    """
    n = config.binary_n
    p = data.num_patterns(config.binary_alpha, n)

    def spins(k, shape):
        return jnp.where(jax.random.bernoulli(k, 0.5, shape), 1, -1).astype(jnp.int32)

    teacher = spins(jax.random.fold_in(key, 0), (n,))

    def absorbed(k, count):
        x = spins(k, (count, n))
        y = jnp.where(stabilities(teacher, x) > 0, 1, -1).astype(jnp.int32)
        return x * y[:, None]

    return {
        "teacher": teacher,
        "train": absorbed(jax.random.fold_in(key, 1), p),
        "test": absorbed(jax.random.fold_in(key, 2), config.test_examples),
    }


def binary_error(w: jax.Array, xi: jax.Array) -> jax.Array:
    """Fraction of absorbed patterns with stability w . xi_mu <= 0; w (..., n), xi (P, n)."""
    return count_errors(stabilities(w, xi), 1) / xi.shape[-2]


def flip_local_energy(
    key: jax.Array, w: jax.Array, xi: jax.Array, fractions, num_samples: int
) -> tuple[np.ndarray, np.ndarray]:
    """Training error after flipping each weight with probability p, for every p in ``fractions``.

    E(p) = E_u [ err(w * (1 - 2 [u < p])) ], u uniform in [0, 1)^n, one u per
    draw for every p (``jax.random.split(key, num_samples)``, draw j
    ``jax.random.uniform(keys[j], (n,))``), so the curves are coupled across
    p, E(0) is the training error of w and E(1) that of -w. Returns the mean
    and standard error std(ddof=1)/sqrt(S) over the draws, each (len(fractions),).
    """
    fractions = jnp.asarray(fractions, dtype=jnp.float32)
    keys = jax.random.split(key, num_samples)

    def one(k):
        u = jax.random.uniform(k, w.shape)
        flipped = jnp.where(u[None, :] < fractions[:, None], -w[None, :], w[None, :])
        return binary_error(flipped, xi)  # (F,)

    errors = np.asarray(jax.vmap(one)(keys), dtype=float)  # (S, F)
    est = stats.estimate(errors)
    return np.asarray(est.mean, dtype=float), np.asarray(est.stderr, dtype=float)


def current_weights(state) -> jax.Array:
    """A binary solver's configuration: its first solution when solved, else its current one.

    Clipped rules (SBPI, CP+R): sign(h); focusing BP: the sign of the total
    fields (ties +1); binary rSGD and annealing: the replicas' majority
    sign(sum_a w_a); one sample's state, (n,) int32.
    """
    if hasattr(state, "messages"):
        total = state.focusing + jnp.sum(state.messages, axis=0)
        now = jnp.where(total >= 0, 1, -1)
    elif hasattr(state, "weights"):
        now = state.weights if state.weights.ndim == 1 else center_weights(state.weights)
    else:
        now = jnp.where(state.hidden > 0, 1, -1)
    return jnp.where(state.solved, state.solution, now).astype(jnp.int32)


def binary_solver(config: Config, name: str):
    """(algorithm, max_steps) of solver ``name`` from algorithmic-threshold's ``SOLVERS``."""
    p = data.num_patterns(config.binary_alpha, config.binary_n)
    return algorithmic_threshold.SOLVERS[name](config.binary_n, p, 0.0, config.binary_sweeps)


def measure_binary(config: Config, point: dict):
    """Run one binary solver on every seed's teacher-student instance and measure its minima.

    Keys from the seed alone: data ``fold_in(seed key, 6)``, the solver
    ``fold_in(., 1)`` (`algorithms.solve` folds 0 for init, 1 for the run),
    flips ``fold_in(., 3)``; the same for every solver. Returns (row, arrays).
    """
    keys = seed_keys(config)
    sets = [binary_teacher_data(config, k) for k in stream(keys, 6)]
    xi = jnp.stack([d["train"] for d in sets])
    algo, max_steps = binary_solver(config, point["algorithm"])
    out = algorithms.solve(
        algo, stream(keys, 1), xi, max_steps, samples=True,
        steps_per_chunk=min(max_steps, 50),
    )  # fmt: skip
    flips = stream(keys, 3)
    row: dict = {
        "sigmas": [float(f) for f in config.flip_fractions],
        "train_examples": int(xi.shape[1]),
        "test_examples": config.test_examples,
        "n": config.binary_n,
        "alpha": config.binary_alpha,
        "sweeps_budget": config.binary_sweeps,
        "solved": [bool(x) for x in out.solved],
        "sweeps": [int(x) for x in out.sweeps],
        "solved_at": [int(x) for x in out.solved_at],
    }
    minima, notes = [], []
    for s, d in enumerate(sets):
        state = jax.tree.map(lambda x, s=s: x[s], out.state)
        w = current_weights(state)
        minima.append(w)
        train_error = float(binary_error(w, d["train"]))
        test_error = float(binary_error(w, d["test"]))
        le, le_err = flip_local_energy(
            flips[s], w, d["train"], config.flip_fractions, config.noise_samples
        )
        got = {
            "train_error": train_error,
            "test_error": test_error,
            "test_error_stderr": math.sqrt(test_error * (1 - test_error) / config.test_examples),
            "solution": train_error == 0.0,
            "teacher_overlap": float(jnp.mean(w * d["teacher"])),
            "local_energy": le.tolist(),
            "local_energy_stderr": le_err.tolist(),
        }
        for key, value in got.items():
            row.setdefault(key, []).append(value)
        if not got["solution"]:
            notes.append(f"seed {s}: not solved (training error {train_error:.4g})")
    row["note"] = "; ".join(notes)
    arrays = {"minimum": np.stack(minima), "teacher": np.stack([d["teacher"] for d in sets])}
    return row, arrays


def view(config: Config, problem: str) -> dict:
    """What a problem's analysis compares: ``names``, ``baseline``, ``sigmas`` and columns.

    The network problems: `config.algorithms` against ``sgd`` at `config.sigmas`;
    ``binary_teacher``: ``binary_solvers`` against ``sbpi`` (else the first)
    at the ``flip_fractions``, with the local energy at every fraction, the
    test and train errors (``summary``) and the local energy at every p > 0
    (``correlation``).
    """
    if problem != BINARY:
        return {
            "names": tuple(config.algorithms),
            "baseline": "sgd",
            "sigmas": tuple(config.sigmas),
            "summary": summary_columns(config),
            "correlation": correlation_columns(config),
        }
    names = tuple(config.binary_solvers)
    fractions = tuple(config.flip_fractions)
    return {
        "names": names,
        "baseline": BINARY_BASELINE if BINARY_BASELINE in names else names[0],
        "sigmas": fractions,
        "summary": [("local_energy", i) for i in range(len(fractions))]
        + [("test_error", None), ("train_error", None)],
        "correlation": [("local_energy", i) for i, p in enumerate(fractions) if p > 0],
    }


# ---------------------------------------------------------------------------------------
# analysis: paired differences and correlations


def summary_columns(config: Config) -> list[tuple[str, int | None]]:
    """(row key, sigma index or None) of the measures compared between algorithms."""
    cols = []
    for sigma in SUMMARY_SIGMAS:
        if sigma in config.sigmas:
            cols.append(("local_energy", list(config.sigmas).index(sigma)))
    if config.curvature:
        cols += [(m, None) for m in MEASURES]
    cols += [("test_error", None), ("train_error", None)]
    return cols


def column_label(config: Config, col: tuple[str, int | None], sigmas=None) -> str:
    """``local_energy@0.5`` (at ``sigmas``, default `config.sigmas`), or the row key."""
    key, i = col
    sigmas = config.sigmas if sigmas is None else sigmas
    return f"{key}@{sigmas[i]:g}" if i is not None else key


def _values(row: dict, col: tuple[str, int | None]) -> np.ndarray:
    key, i = col
    if key not in row:
        return np.full(len(row["test_error"]), np.nan)
    v = np.asarray(row[key], dtype=float)
    return v[:, i] if i is not None else v


def _variant_key(row: dict) -> tuple:
    return (tuple(row.get("hidden", [])), row.get("lr"), row.get("batch_size"))


def paired_differences(config: Config, rows: list[dict], problem: str = "") -> dict:
    """Per algorithm other than SGD: mean, stderr and sign-test p of (algorithm - SGD) per seed.

    Pairs are the same (variant, seed): equal initialisation and noise (common
    random numbers). Returns ``{"algorithms", "measures", "mean", "stderr",
    "sign_test_p", "pairs"}`` with (algorithm, measure) lists. For
    ``problem="binary_teacher"`` the solvers against the baseline of `view`.
    """
    spec = view(config, problem)
    cols, base = spec["summary"], spec["baseline"]
    sgd = {_variant_key(r): r for r in rows if r["algorithm"] == base}
    out = {"algorithms": [], "measures": [column_label(config, c, spec["sigmas"]) for c in cols]}
    out.update(baseline=base, mean=[], stderr=[], sign_test_p=[], pairs=[])
    for name in spec["names"]:
        if name == base or not sgd:
            continue
        mine = [r for r in rows if r["algorithm"] == name and _variant_key(r) in sgd]
        means, errs, ps, ns = [], [], [], []
        for c in cols:
            d = np.concatenate(
                [_values(r, c) - _values(sgd[_variant_key(r)], c) for r in mine] or [[]]
            )
            d = d[np.isfinite(d)]
            if d.size:
                m, e = stats.mean_stderr(d)
                means.append(m)
                errs.append(e)
                ps.append(stats.sign_test(d))
            else:
                means.append(math.nan)
                errs.append(math.nan)
                ps.append(math.nan)
            ns.append(int(d.size))
        out["algorithms"].append(name)
        out["mean"].append(means)
        out["stderr"].append(errs)
        out["sign_test_p"].append(ps)
        out["pairs"].append(ns)
    return out


def correlation_columns(config: Config) -> list[tuple[str, int | None]]:
    """The flatness measures correlated with the test error."""
    cols = [("local_energy", i) for i, s in enumerate(config.sigmas) if s > 0]
    if config.curvature:
        cols += [(m, None) for m in ("hessian_trace", "invariant_trace", "top_eigenvalue")]
    return cols


def correlations(config: Config, rows: list[dict], problem: str = "") -> dict:
    """Spearman's rho between the test error and every flatness measure over all minima.

    Pooled and within algorithm (demeaned), each with a cluster-bootstrap
    interval resampling seeds within algorithm; ``num_clusters`` (per measure)
    counts the (algorithm, seed) clusters behind each interval and
    ``min_clusters_per_algorithm`` the fewest seeds of one algorithm;
    ``reliability_note`` says when that is below `MIN_CLUSTERS`, too few for a
    reliable interval. The typical test-error standard error beside the spread
    of test errors says whether the test set resolves the differences between
    minima.
    """
    groups, clusters, test, stderr = [], [], [], []
    for r in rows:
        groups += [r["algorithm"]] * len(r["test_error"])
        clusters += list(range(len(r["test_error"])))
        test += list(r["test_error"])
        stderr += list(r["test_error_stderr"])
    test_arr = np.asarray(test, dtype=float)
    out: dict = {
        "num_minima": int(test_arr.size),
        "measures": [],
        "num_clusters": [],
        "min_clusters_per_algorithm": [],
    }
    for kind in ("pooled", "within"):
        for part in ("", "_low", "_high"):
            out[f"rho_{kind}{part}"] = []
    key = jax.random.fold_in(jax.random.key(config.seed), 999)
    spec = view(config, problem)
    for j, c in enumerate(spec["correlation"]):
        x = np.concatenate([_values(r, c) for r in rows]) if rows else np.zeros(0)
        ok = np.isfinite(x)
        out["measures"].append(column_label(config, c, spec["sigmas"]))
        pairs = {(g, k) for g, k, f in zip(groups, clusters, ok, strict=True) if f}
        per_algorithm = [sum(1 for g, _ in pairs if g == a) for a in dict.fromkeys(groups)]
        out["num_clusters"].append(len(pairs))
        out["min_clusters_per_algorithm"].append(min(per_algorithm) if per_algorithm else 0)
        for kind in ("pooled", "within"):
            if ok.sum() >= 3:
                res = stats.cluster_bootstrap_correlation(
                    jax.random.fold_in(key, j),
                    x[ok],
                    test_arr[ok],
                    np.asarray(groups)[ok],
                    np.asarray(clusters)[ok],
                    within=kind == "within",
                    num_resamples=config.bootstrap_resamples,
                )
                vals = (res.coefficient, res.low, res.high)
            else:
                vals = (math.nan,) * 3
            for part, v in zip(("", "_low", "_high"), vals, strict=True):
                out[f"rho_{kind}{part}"].append(v)
    fewest = min(out["min_clusters_per_algorithm"], default=0)
    if fewest < MIN_CLUSTERS:
        out["reliability_note"] = (
            f"the intervals are not reliable: the cluster bootstrap resamples seeds within "
            f"algorithm and has only {fewest} clusters (seeds) per algorithm, fewer than "
            f"{MIN_CLUSTERS}"
        )
    else:
        out["reliability_note"] = (
            f"{fewest} or more clusters (seeds) per algorithm behind every interval"
        )
    spread = float(np.std(test_arr, ddof=1)) if test_arr.size > 1 else math.nan
    typical = float(np.median(stderr)) if stderr else math.nan
    out["test_error_spread"] = spread
    out["test_error_stderr_median"] = typical
    out["resolved"] = bool(spread > typical)
    if not spread > typical:
        out["resolution_note"] = (
            f"the test set is too small to resolve the differences between minima: their "
            f"test errors spread by {spread:.3g} (sd), less than the typical standard error "
            f"{typical:.3g} of one minimum's test error ({rows[0]['test_examples']} examples)"
            if rows
            else "no minima"
        )
    else:
        out["resolution_note"] = (
            f"test errors spread by {spread:.3g} (sd) against a typical standard error "
            f"{typical:.3g} per minimum ({rows[0]['test_examples']} test examples)"
        )
    return out


def analysis(config: Config, run_dir: Path, problem: str) -> dict:
    """The analysis row of a problem: paired differences and correlations over its rows."""
    rows = [
        r
        for r in runs.read_rows(run_dir)
        if r.get("problem") == problem and r.get("algorithm") != ANALYSIS
    ]
    paired = paired_differences(config, rows, problem)
    corr = correlations(config, rows, problem)
    return {
        **{f"paired_{k}": v for k, v in paired.items()},
        **{f"correlation_{k}": v for k, v in corr.items()},
    }


def run(config: Config, run_dir: Path) -> None:
    """Every (problem, variant, algorithm), then the analyses and ``summary.txt`` (resumable)."""
    run_dir = Path(run_dir)

    def one(point: dict, sample_keys: jax.Array):  # noqa: ARG001 (keys come from the seed)
        if point["algorithm"] == ANALYSIS:
            return analysis(config, run_dir, point["problem"]), None
        if point["problem"] == BINARY:
            return measure_binary(config, point)
        return measure(config, point)

    runs.scan(run_dir, points(config), one, seed=config.seed, samples=config.seeds)
    runs.write_text(run_dir, "summary.txt", summary(config, runs.read_rows(run_dir)))


def _finite(value) -> bool:
    return value is not None and bool(np.isfinite(value))


def _pm(mean: float | None, err: float | None) -> str:
    if not _finite(mean):
        return "n/a"
    return f"{mean:.4g} ± {err:.2g}" if _finite(err) else f"{mean:.4g}"


def summary(config: Config, rows: list[dict]) -> str:
    """Per problem: the table of means, the paired differences to SGD, the correlations."""
    lines = []
    for problem in config.problems:
        spec = view(config, problem)
        cols = spec["summary"]
        labels = [column_label(config, c, spec["sigmas"]) for c in cols]
        width = max(16, 2 + max(len(name) for name in spec["names"]))
        mine = [r for r in rows if r.get("problem") == problem and r["algorithm"] != ANALYSIS]
        lines.append(f"== {problem}: mean ± stderr over {config.seeds} seeds (all variants) ==")
        lines.append("algorithm".ljust(width) + "".join(f"{lab:>22s}" for lab in labels))
        for name in spec["names"]:
            rs = [r for r in mine if r["algorithm"] == name]
            if not rs:
                continue
            cells = []
            for c in cols:
                v = np.concatenate([_values(r, c) for r in rs])
                v = v[np.isfinite(v)]
                cells.append(_pm(*stats.mean_stderr(v)) if v.size else "n/a")
            lines.append(name.ljust(width) + "".join(f"{x:>22s}" for x in cells))
        extra = []
        for r in mine:
            if "gradient_evaluations" in r:
                extra.append(
                    f"  {r['algorithm']}: {max(r['gradient_evaluations'])} gradient evaluations, "
                    f"{max(r['epochs_run']):.3g} epochs"
                    + (
                        f", lr*gamma_max {r['lr_gamma_max']:.3g}, spread "
                        + ", ".join(f"{x:.2g}" for x in r["replica_spread"])
                        if "replica_spread" in r
                        else ""
                    )
                )
            if "sweeps_budget" in r:
                extra.append(
                    f"  {r['algorithm']}: solved {sum(r['solved'])}/{len(r['solved'])}, sweeps "
                    + ", ".join(str(x) for x in r["sweeps"])
                    + f" of {r['sweeps_budget']}, teacher overlap "
                    + ", ".join(f"{x:.3f}" for x in r["teacher_overlap"])
                )
            if r.get("note"):
                extra.append(f"  note {r['algorithm']}: {r['note']}")
        lines += extra[:12]
        found = [r for r in rows if r.get("problem") == problem and r["algorithm"] == ANALYSIS]
        if found:
            a = found[0]
            if a["paired_algorithms"]:
                base = a.get("paired_baseline", "sgd")
                lines.append(
                    f"paired differences (algorithm - {base}), mean ± stderr [sign-test p]:"
                )
                for i, name in enumerate(a["paired_algorithms"]):
                    cells = [
                        f"{_pm(m, e)} [{p:.2g}]" if _finite(m) else "n/a"
                        for m, e, p in zip(
                            a["paired_mean"][i],
                            a["paired_stderr"][i],
                            a["paired_sign_test_p"][i],
                            strict=True,
                        )
                    ]
                    lines.append(name.ljust(width) + "".join(f"{x:>30s}" for x in cells))
            n = a["correlation_num_minima"]
            lines.append(
                f"Spearman rho with the test error over {n} minima, "
                "[95% cluster-bootstrap interval]:"
            )
            for j, m in enumerate(a["correlation_measures"]):
                pooled = _interval(a, "pooled", j)
                within = _interval(a, "within", j)
                k = a["correlation_num_clusters"][j]
                lines.append(
                    f"  {m:24s} pooled {pooled:28s} within algorithm {within:28s} {k} clusters"
                )
            lines.append("  " + a["correlation_reliability_note"])
            lines.append("  " + a["correlation_resolution_note"])
        lines.append("")
    return "\n".join(lines) + "\n"


def _interval(a: dict, kind: str, j: int) -> str:
    rho = a[f"correlation_rho_{kind}"][j]
    low, high = a[f"correlation_rho_{kind}_low"][j], a[f"correlation_rho_{kind}_high"][j]
    if not _finite(rho):
        return "n/a"
    return f"{rho:+.2f} [{low:+.2f}, {high:+.2f}]"


# ---------------------------------------------------------------------------------------
# figures


def plot(run_dir: Path) -> list[Path]:
    """Local energy vs sigma per problem, the correlation scatters, one replica-spread trace."""
    from landscape import plots

    plt = plots.pyplot()
    run_dir = Path(run_dir)
    rows = runs.read_rows(run_dir)
    minima = [r for r in rows if r.get("algorithm") != ANALYSIS]
    out = []
    for problem in dict.fromkeys(r["problem"] for r in minima):
        mine = [r for r in minima if r["problem"] == problem]
        base = _variant_key(mine[0])
        fig, ax = plt.subplots(figsize=(5, 3.6))
        for r in (r for r in mine if _variant_key(r) == base):
            curves = np.asarray(r["local_energy"], dtype=float)  # (seeds, S)
            mean, err, _ = stats.estimate(curves)
            if len(curves) == 1:  # one seed: the stderr over its perturbation samples
                err = np.asarray(r["local_energy_stderr"][0], dtype=float)
            test = np.asarray(r["test_error"], dtype=float)
            label = f"{r['algorithm']} (test {test.mean():.3f})"
            plots.errorbar(ax, np.asarray(r["sigmas"]), mean, err, label=label)
        binary = problem == BINARY
        ax.set_xlabel("flip fraction p" if binary else "sigma (multiplicative noise)")
        ax.set_ylabel("training error")
        ax.set_title(f"local energy, {problem}")
        ax.legend(fontsize=7)
        out.append(plots.save(fig, run_dir / f"local_energy_{problem}.png"))
        plt.close(fig)
        out.append(_plot_correlations(plt, plots, run_dir, problem, mine, rows))
    spread = _plot_spread(plt, plots, run_dir, rows)
    if spread is not None:
        out.append(spread)
    return out


def _plot_correlations(plt, plots, run_dir, problem, mine, rows):
    sigmas = mine[0]["sigmas"]
    cols = [("local_energy", i) for i, s in enumerate(sigmas) if s > 0]
    cols += [(m, None) for m in ("hessian_trace", "invariant_trace", "top_eigenvalue")]
    cols = [c for c in cols if c[0] in mine[0]]
    found = [r for r in rows if r.get("problem") == problem and r.get("algorithm") == ANALYSIS]
    ncols = min(len(cols), 4)
    nrows = -(-len(cols) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.8 * nrows), squeeze=False)
    for j, c in enumerate(cols):
        ax = axes[j // ncols][j % ncols]
        for name in dict.fromkeys(r["algorithm"] for r in mine):
            rs = [r for r in mine if r["algorithm"] == name]
            x = np.concatenate([_values(r, c) for r in rs])
            y = np.concatenate([np.asarray(r["test_error"], dtype=float) for r in rs])
            ax.scatter(x, y, s=12, label=name)
        label = f"{c[0]}@{sigmas[c[1]]:g}" if c[1] is not None else c[0]
        title = label
        if found and label in found[0]["correlation_measures"]:
            k = found[0]["correlation_measures"].index(label)
            title += f"\nrho {_interval(found[0], 'pooled', k)}"
        if c[0] == "hessian_trace" and np.all(np.concatenate([_values(r, c) for r in mine]) > 0):
            ax.set_xscale("log")
        ax.set_title(title, fontsize=7)
        ax.set_xlabel(label, fontsize=7)
        ax.set_ylabel("test error", fontsize=7)
    for j in range(len(cols), nrows * ncols):
        axes[j // ncols][j % ncols].axis("off")
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    path = plots.save(fig, run_dir / f"correlation_{problem}.png")
    plt.close(fig)
    return path


def _plot_spread(plt, plots, run_dir, rows):
    first = next((r for r in rows if r.get("algorithm") == "replicated"), None)
    if first is None:
        return None
    arrays = runs.load_params(run_dir, f"point{first['point_index']:04d}")
    if "['spread']" not in arrays:
        return None
    spread = np.asarray(arrays["['spread']"])[0]
    gamma = np.asarray(arrays["['gamma']"])[0]
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.semilogy(np.arange(spread.size), spread, label="spread (seed 0)")
    ax.axhline(COLLAPSED, color="gray", ls=":", label="collapsed")
    ax.set_xlabel("step")
    ax.set_ylabel("sqrt(mean |w_a - c|^2) / |c|")
    twin = ax.twinx()
    twin.semilogy(np.arange(gamma.size), gamma, color="C1", label="gamma")
    twin.set_ylabel("gamma", color="C1")
    ax.legend(fontsize=7)
    ax.set_title(f"replicated SGD, {first['problem']}")
    fig.tight_layout()
    path = plots.save(fig, run_dir / "replica_spread.png")
    plt.close(fig)
    return path
