"""Focusing belief propagation (fBP) for the binary perceptron, and its BP core.

Baldassi, Borgs, Chayes, Ingrosso, Lucibello, Saglietti & Zecchina, "Unreasonable
effectiveness of learning neural networks: from accessible states and robust
ensembles to basic algorithmic schemes", PNAS 113, E7655 (2016); reference
implementation BinaryCommitteeMachineFBP.jl (Lucibello & Baldassi).

The storage problem of `landscape.algorithms.binary` (labels absorbed, n odd,
w solves iff Delta_mu = w . xi_mu > kappa sqrt(n) for all mu) as a factor graph:
one factor per pattern, one binary variable per weight. Messages are log-ratio
fields: u_{mu->i} (factor to variable, array (P, n)) and the cavity fields
h_{i->mu} = H_i - u_{mu->i} with H_i = g_i + f_i + sum_mu u_{mu->i} (g: external
field, f: focusing field), clipped at +-30, m_{i->mu} = tanh h_{i->mu}.

- Factor update, ``update="gaussian"`` (central limit on the cavity sum):
  u_{mu->i} = 1/2 [log Phi((m_bar + xi_i - K)/s_bar) - log Phi((m_bar - xi_i - K)/s_bar)],
  m_bar = sum_{j != i} xi_j m_{j->mu}, s_bar^2 = sum_{j != i} xi_j^2 (1 - m_{j->mu}^2),
  K = kappa sqrt(n), through `jax.scipy.special.log_ndtr`.
- ``update="exact"``: the distribution of the integer cavity sum
  S = sum_{j != i} xi_j w_j by convolution (prefix and suffix products, O(n^2) per
  factor), u = 1/2 log P(S >= t - xi_i) / P(S >= t + xi_i), t = floor(K) + 1.
  BP with it is exact on trees.
- Focusing field (y replicas at coupling gamma, traced out):
  f_i = atanh[tanh(gamma) tanh((y - 1) atanh(tanh(gamma) tanh h_i))], h_i = H_i - f_i,
  with atanh(tanh a tanh b) = 1/2 [lc(a + b) - lc(a - b)], lc = log cosh; at
  gamma = inf (reinforcement) f_i = (y - 1) h_i.
- The replicated system behind the focusing field (`replicated_observables`):
  y replicas w^a of the weights and a reference w~ with the weight
  prod_a 1[w^a in SOL] exp(gamma (w~ . w^a - n)); per site the reference gets
  a_i = atanh(tanh(gamma) tanh h_i) from each replica, sends g_i = (y - 1) a_i
  back, and f_i = atanh(tanh(gamma) tanh g_i). Per focusing step the info
  reports S = (1/n) sum_i <w_i^a w~_i>, q = (1/n) sum_i m_i^2 and the Bethe
  free entropy Phi_y of that system (as BinaryCommitteeMachineFBP.jl's
  ``compute_S``, ``compute_q`` and free energy, in this normalisation).

Patterns may contain zeros inside the core (a zero is "not connected"; the tree
tests use patterns with disjoint supports); `landscape.algorithms.solve` rejects
them, as for every binary solver.

One **step** of `focusing_bp` is one focusing step: BP at the step's (gamma, y)
run from the previous messages for up to ``max_sweeps`` parallel iterations
(one parallel iteration of every message = one **sweep**), damped, until the
largest change of tanh of a message is below ``tol``, or until the sign of the
marginals (ties -> +1) solves the patterns. The schedule index is in the state;
after the schedule ends its last (gamma, y) is repeated. The three layers:
`init`, `build_step` (``step(key, state, data, gamma, y)``), `focusing_bp`.
Protocols: `reinforcement_schedule`, `scoping_schedule`,
`pseudo_reinforcement_schedule`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr

from landscape._util import as_key, check_positive_int
from landscape.algorithms.base import Algorithm
from landscape.algorithms.binary import (
    check_kappa,
    check_odd,
    check_probability,
    count_errors,
    stabilities,
    threshold,
)

#: Fields and messages are clipped to [-CLIP, CLIP].
CLIP = 30.0
UPDATES = ("gaussian", "exact")


def check_update(update: Any) -> str:
    """``update`` if it is "gaussian" or "exact", else ValueError."""
    if update not in UPDATES:
        raise ValueError(f"update={update!r}; expected one of {UPDATES}")
    return update


def check_tol(tol: Any) -> float:
    """``tol`` as a positive finite float, else ValueError."""
    ok = isinstance(tol, (int, float, np.integer, np.floating)) and not isinstance(tol, bool)
    if not ok or not math.isfinite(tol) or tol <= 0:
        raise ValueError(f"tol={tol!r}; expected a positive finite tolerance")
    return float(tol)


def _lc2(x: jax.Array) -> jax.Array:
    """log(2 cosh x), stable: logaddexp(x, -x)."""
    return jnp.logaddexp(x, -x)


def atanh_tanh_tanh(a: jax.Array, b: jax.Array) -> jax.Array:
    """atanh(tanh a tanh b) = 1/2 [lc(a + b) - lc(a - b)], lc = log cosh (finite a, b)."""
    return 0.5 * (_lc2(a + b) - _lc2(a - b))


def lc_difference(x: jax.Array, d: jax.Array) -> jax.Array:
    """The difference lc(x + d) - lc(x), lc = log 2cosh, without cancellation at large x.

    Where x and x + d have the same sign s it is s d + log1p(e^(-2|x + d|)) - log1p(e^(-2|x|))
    (exact, no difference of large numbers); elsewhere both are below |d| and the plain
    difference is used.
    """
    same = x * (x + d) > 0
    tail = jnp.log1p(jnp.exp(-2 * jnp.abs(x + d))) - jnp.log1p(jnp.exp(-2 * jnp.abs(x)))
    return jnp.where(same, jnp.sign(x) * d + tail, _lc2(x + d) - _lc2(x))


def focusing_field(h: jax.Array, gamma: jax.Array, y: jax.Array, *, clip: bool = True) -> jax.Array:
    """The focusing field atanh[tanh(g) tanh((y - 1) atanh(tanh(g) tanh h))]; (y - 1) h at g = inf.

    h: cavity fields without the focusing field, (n,); gamma, y scalars; clipped at
    +-CLIP (the field BP uses) unless ``clip=False`` (the exact field, for free entropies).
    """
    inf = jnp.isinf(gamma)
    g = jnp.where(inf, 1.0, gamma).astype(h.dtype)
    finite = atanh_tanh_tanh(g, (y - 1) * atanh_tanh_tanh(g, h))
    field = jnp.where(inf, (y - 1) * h, finite)
    return jnp.clip(field, -CLIP, CLIP) if clip else field


def replicated_observables(
    h: jax.Array, gamma: jax.Array, y: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """The reference overlap and the site part of the replicated Bethe free entropy.

    The replicated system of the module docstring: y replicas (real y >= 1)
    coupled to a reference by exp(gamma (w~_i w_i^a - 1)) per site, so that
    gamma = inf is the constraint w^a = w~. With h_i the replica's cavity field
    without the focusing field (sum_mu u_{mu->i}, (n,)), a_i = atanh(tanh(gamma)
    tanh h_i), g_i = (y - 1) a_i, t = tanh gamma and lc = log 2cosh:

    - S = (1/n) sum_i (tanh h_i tanh g_i + t) / (1 + t tanh h_i tanh g_i): the
      overlap <w_i^a w~_i> of a replica with the reference;
    - sites = sum_i { lc(y a_i) + y [C_i - lc(y a_i)] }, C_i = log(e^lc(h_i + g_i)
      + e^(lc(h_i - g_i) - 2 gamma)): the coupling factors' and the reference's
      terms of the Bethe free entropy.

    With G = sum_mu log Z_mu - sum_{mu,i} [lc(H_i) - lc(H_i - u_{mu->i})] the
    factor and edge terms of one replica's factor graph at H = h + f, f the
    exact (unclipped) focusing field (`bethe_free_entropy` with
    ``variable_terms=False``), Phi_y = y G + sites estimates
    log sum_{w~} sum_{w^1..w^y in SOL} exp(gamma sum_a (w~ . w^a - n))
    (`replicated_free_entropy`; the replica variables' lc(H_i) cancels against
    their edges to the couplings, so no multiple of y of large fields is ever
    subtracted). At a BP fixed point (exact factor update)
    (1/(y n)) dPhi_y/dgamma = S - 1; at y = 1, Phi_1 = F + n log(1 + e^(-2 gamma)),
    F the plain Bethe free entropy. Returns ``(S, sites)``, scalars.
    """
    inf = jnp.isinf(gamma)
    g_finite = jnp.where(inf, 1.0, gamma).astype(h.dtype)
    a = jnp.where(inf, h, atanh_tanh_tanh(g_finite, h))
    g = (y - 1) * a
    t = jnp.where(inf, 1.0, jnp.tanh(g_finite))
    th, tg = jnp.tanh(h), jnp.tanh(g)
    overlap = jnp.mean((th * tg + t) / (1 + t * th * tg))
    penalty = jnp.where(inf, -jnp.inf, -2 * g_finite)
    ya = y * a
    # C - lc(y a) with h + g = y a + (h - a): no cancellation at large fields
    coupling = jnp.logaddexp(lc_difference(ya, h - a), _lc2(h - g) + penalty - _lc2(ya))
    return overlap, jnp.sum(_lc2(ya) + y * coupling)


def _gaussian_factor(x: jax.Array, h: jax.Array, kappa: float) -> tuple[jax.Array, jax.Array]:
    """Gaussian factor update of all factors: x (P, n), h (P, n) -> (u (P, n), log Z (P,))."""
    n = x.shape[-1]
    k = kappa * math.sqrt(n)
    tiny = jnp.finfo(h.dtype).tiny
    m = jnp.tanh(h)
    v = x * x / jnp.cosh(h) ** 2
    mean = jnp.sum(x * m, axis=-1, keepdims=True)
    var = jnp.sum(v, axis=-1, keepdims=True)
    m_bar = mean - x * m
    s_bar = jnp.sqrt(jnp.maximum(var - v, tiny))
    u = 0.5 * (log_ndtr((m_bar + x - k) / s_bar) - log_ndtr((m_bar - x - k) / s_bar))
    log_z = log_ndtr((mean[..., 0] - k) / jnp.sqrt(jnp.maximum(var[..., 0], tiny)))
    return jnp.clip(u, -CLIP, CLIP), log_z


def _exact_one(x: jax.Array, h: jax.Array, t: int) -> tuple[jax.Array, jax.Array]:
    """Exact update of one factor: x (n,) in {-1, 0, 1}, h (n,) -> (u (n,), log Z ())."""
    n = x.shape[0]
    length = 2 * n + 1  # index s + n for the sum s in [-n, n]
    p_plus = jax.nn.sigmoid(2 * h)
    p_minus = jax.nn.sigmoid(-2 * h)
    zero = jnp.zeros((1,), h.dtype)

    def add(dist, j):
        up = jnp.concatenate([zero, dist[:-1]])  # s -> s + 1
        down = jnp.concatenate([dist[1:], zero])  # s -> s - 1
        plus = jnp.where(x[j] > 0, up, jnp.where(x[j] < 0, down, dist))
        minus = jnp.where(x[j] > 0, down, jnp.where(x[j] < 0, up, dist))
        return p_plus[j] * plus + p_minus[j] * minus, dist

    start = jnp.zeros((length,), h.dtype).at[n].set(1.0)
    full, prefix = jax.lax.scan(add, start, jnp.arange(n))  # prefix[i]: sum over j < i
    _, suffix = jax.lax.scan(add, start, jnp.arange(n), reverse=True)  # suffix[i]: j > i
    tail = jnp.flip(jnp.cumsum(jnp.flip(suffix, -1), -1), -1)  # tail[i, k] = P(S_>i >= k - n)
    ia = jnp.arange(length)

    def at_least(c):  # P(S_{!=i} >= c_i) for every i; c (n,)
        idx = c[:, None] + 2 * n - ia[None, :]
        vals = jnp.take_along_axis(tail, jnp.clip(idx, 0, length - 1), axis=-1)
        vals = jnp.where(idx < 0, 1.0, jnp.where(idx > length - 1, 0.0, vals))
        return jnp.sum(prefix * vals, axis=-1)

    xi = x.astype(jnp.int32)
    tiny = jnp.finfo(h.dtype).tiny
    p_pos = jnp.maximum(at_least(t - xi), tiny)
    p_neg = jnp.maximum(at_least(t + xi), tiny)
    u = jnp.clip(0.5 * (jnp.log(p_pos) - jnp.log(p_neg)), -CLIP, CLIP)
    u = jnp.where(xi == 0, 0.0, u)
    z = jnp.sum(jnp.where(ia >= t + n, full, 0.0))
    return u, jnp.log(jnp.maximum(z, tiny))


def factor_update(
    xi: jax.Array, h: jax.Array, *, kappa: float = 0.0, update: str = "gaussian"
) -> tuple[jax.Array, jax.Array]:
    """New factor-to-variable messages u and log Z_mu from the cavity fields h.

    Args:
        xi: patterns (P, n), entries in {-1, 0, +1} (float).
        h: cavity fields h_{i->mu}, (P, n).
        kappa: margin; the constraint is sum_i xi_i w_i > kappa sqrt(n), n = xi.shape[-1].
        update: "gaussian" or "exact" (see the module docstring).

    Returns:
        ``(u (P, n), log_z (P,))``: log Z_mu = log P(constraint mu holds) under
        the cavity distributions (Gaussian: log Phi((M - K)/sqrt(V))).
    """
    if check_update(update) == "gaussian":
        return _gaussian_factor(xi, h, kappa)
    t = threshold(kappa, xi.shape[-1])
    return jax.vmap(_exact_one, (0, 0, None))(xi, h, t)


def cavity_fields(u: jax.Array, field: jax.Array) -> tuple[jax.Array, jax.Array]:
    """H = field + sum_mu u_mu (n,) and the clipped cavity fields clip(H - u) (P, n)."""
    total = field + jnp.sum(u, axis=0)
    return total, jnp.clip(total[None, :] - u, -CLIP, CLIP)


def bethe_free_entropy(
    xi: jax.Array,
    u: jax.Array,
    field: jax.Array,
    *,
    kappa: float = 0.0,
    update: str = "gaussian",
    variable_terms: bool = True,
) -> jax.Array:
    """The Bethe free entropy (not divided by n) of messages u with external fields ``field``.

    F = sum_mu log Z_mu + sum_i log 2cosh H_i - sum_{mu,i} [log 2cosh H_i - log 2cosh h_{i->mu}]
    (factor, variable and edge terms with normalised messages; H_i = field_i +
    sum_mu u_{mu->i}); at a BP fixed point on a tree (exact update) it is
    log sum_{w in SOL} exp(sum_i field_i w_i). Zero pattern entries drop out.
    The edge terms use the unclipped cavity fields H_i - u_{mu->i} (`lc_difference`),
    so that saturated fields (|H| > CLIP) do not bias them; the factors see the
    clipped ones, as in BP. ``variable_terms=False`` leaves out sum_i log 2cosh H_i
    (see `replicated_observables`). Shapes: xi (P, n), u (P, n), field (n,) -> ().
    """
    total, h = cavity_fields(u, field)
    _, log_z = factor_update(xi, h, kappa=kappa, update=update)
    edges = jnp.where(xi != 0, lc_difference(total[None, :] - u, u), 0.0)
    variables = jnp.sum(_lc2(total)) if variable_terms else 0.0
    return jnp.sum(log_z) + variables - jnp.sum(edges)


def replicated_free_entropy(
    xi: jax.Array,
    u: jax.Array,
    gamma: jax.Array,
    y: jax.Array,
    *,
    kappa: float = 0.0,
    update: str = "gaussian",
) -> tuple[jax.Array, jax.Array]:
    """Phi_y (not divided by n) and S of the perceptron's replicated system at messages u.

    Phi_y = y G + sites of `replicated_observables`, the focusing field recomputed
    exactly (unclipped) from h = sum_mu u_{mu->i}. Shapes: xi (P, n), u (P, n) -> ((), ()).
    """

    def reduced(field):
        return bethe_free_entropy(xi, u, field, kappa=kappa, update=update, variable_terms=False)

    return replicated_from(reduced, u, gamma, y)


def replicated_from(
    reduced: Callable[[jax.Array], jax.Array], u: jax.Array, gamma: jax.Array, y: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """(Phi_y, S) from any factor graph's ``reduced(field)`` = its factor and edge terms G.

    h = sum_mu u_{mu->i}, the exact (unclipped) focusing field f(h), and
    Phi_y = y G(f) + sites (`replicated_observables`); the perceptron's is
    `replicated_free_entropy`, the committees' pass `tree_committee_free_entropy`.
    """
    h = jnp.sum(u, axis=0)
    s, sites = replicated_observables(h, gamma, y)
    return y * reduced(focusing_field(h, gamma, y, clip=False)) + sites, s


def bp_sweep(
    xi: jax.Array,
    u: jax.Array,
    field: jax.Array,
    damping: Any,
    *,
    kappa: float = 0.0,
    update: str = "gaussian",
) -> tuple[jax.Array, jax.Array]:
    """One parallel BP iteration: (damped new u (P, n), max |tanh u_new - tanh u|)."""
    _, h = cavity_fields(u, field)
    new, _ = factor_update(xi, h, kappa=kappa, update=update)
    new = damping * u + (1 - damping) * new
    return new, jnp.max(jnp.abs(jnp.tanh(new) - jnp.tanh(u)))


class FocusingBPState(NamedTuple):
    """Messages, the schedule position and the first solution found.

    Attributes:
        messages: (P, n) factor-to-variable fields u_{mu->i}.
        focusing: (n,) focusing fields f_i.
        index: () int32 the next step's position in the schedule.
        solution: (n,) int32 the first solution found, +-1 (zeros until solved).
        solved: () bool.
        solved_at: () int32 sweeps done when it was found (-1 until).
        sweeps: () int32 BP sweeps done (frozen once solved).
    """

    messages: jax.Array
    focusing: jax.Array
    index: jax.Array
    solution: jax.Array
    solved: jax.Array
    solved_at: jax.Array
    sweeps: jax.Array


class FocusingBPInfo(NamedTuple):
    """Diagnostics of one focusing step.

    Attributes:
        overlap: q = mean_i m_i^2 of the marginals m_i = tanh H_i after the step.
        converged: whether BP met the tolerance within ``max_sweeps``.
        sweeps: BP sweeps used in this step (int32).
        errors: patterns the sign of the marginals violates after the step.
        gamma: the step's coupling (inf for reinforcement).
        y: the step's number of replicas (real, >= 1).
        free_entropy: (1/n) `bethe_free_entropy` of the patterns with the focusing
            fields as external fields, (1/n) log sum_{w in SOL} exp(f . w) in the
            Bethe approximation (one replica; the replicated system is below).
        solved: whether the sample is solved after the step.
        reference_overlap: S, the overlap of a replica with the reference
            (`replicated_observables`; 1 at gamma = inf).
        replicated_free_entropy: Phi_y / n, the Bethe free entropy of the
            replicated system per weight (`replicated_free_entropy`).
        local_entropy: Phi_y / (n y) + gamma (1 - S) (the gamma (1 - S) term is
            0 at gamma = inf): at large y the entropy per weight of the
            solutions at distance d = (1 - S)/2 from the reference.
    """

    overlap: jax.Array
    converged: jax.Array
    sweeps: jax.Array
    errors: jax.Array
    gamma: jax.Array
    y: jax.Array
    free_entropy: jax.Array
    solved: jax.Array
    reference_overlap: jax.Array
    replicated_free_entropy: jax.Array
    local_entropy: jax.Array


def _dtype() -> Any:
    return jnp.zeros(()).dtype


def init(key: jax.Array, n: int, num_patterns: int, *, scale: float = 0.1) -> FocusingBPState:
    """Random small messages u ~ scale N(0, 1) (P, n) from ``key``, zero focusing fields."""
    u = scale * jax.random.normal(as_key(key), (num_patterns, n), _dtype())
    zeros = jnp.zeros((n,), jnp.int32)
    return FocusingBPState(
        u,
        jnp.zeros((n,), u.dtype),
        jnp.array(0, jnp.int32),
        zeros,
        jnp.array(False),
        jnp.array(-1, jnp.int32),
        jnp.array(0, jnp.int32),
    )


def signs(field: jax.Array) -> jax.Array:
    """The sign of the marginals, +-1 int32, ties -> +1."""
    return jnp.where(field >= 0, 1, -1).astype(jnp.int32)


def finish_step(
    state: FocusingBPState,
    messages: jax.Array,
    focusing: jax.Array,
    total: jax.Array,
    w: jax.Array,
    errors: jax.Array,
    done: jax.Array,
    converged: jax.Array,
    free_entropy: jax.Array,
    replicated: tuple[jax.Array, jax.Array],
    gamma: jax.Array,
    y: jax.Array,
) -> tuple[FocusingBPState, FocusingBPInfo]:
    """The end of a focusing step, shared by every focusing-BP solver: state and info.

    ``total`` the total fields (n,), ``w`` their signs, ``errors`` the patterns
    w gets wrong, ``done`` the sweeps this step ran, ``free_entropy`` the Bethe
    free entropy (not per weight) of one replica's factor graph with the
    focusing fields as external fields, ``replicated`` the pair (Phi_y, S) of
    the replicated system (`replicated_free_entropy`). A sample already solved
    keeps its state unchanged and reports zero sweeps, errors and free entropies.
    """
    n = total.shape[-1]
    phi_y, s = replicated
    phi_y = phi_y / n
    local = phi_y / y + jnp.where(jnp.isinf(gamma), 0.0, gamma * (1 - s))
    found = errors == 0
    new = FocusingBPState(
        messages,
        focusing,
        state.index + 1,
        jnp.where(found, w, state.solution),
        found,
        jnp.where(found, state.sweeps + done, -1),
        state.sweeps + done,
    )
    new = jax.tree.map(lambda a, b: jnp.where(state.solved, a, b), state, new)
    info = FocusingBPInfo(
        jnp.mean(jnp.tanh(total) ** 2),
        converged,
        jnp.where(state.solved, 0, done),
        jnp.where(state.solved, 0, errors),
        gamma,
        y,
        jnp.where(state.solved, 0.0, free_entropy / n),
        new.solved,
        jnp.where(state.solved, 0.0, s),
        jnp.where(state.solved, 0.0, phi_y),
        jnp.where(state.solved, 0.0, local),
    )
    return new, info


def build_step(
    *,
    kappa: float = 0.0,
    update: str = "gaussian",
    max_sweeps: int = 100,
    tol: float = 1e-4,
    damping: float = 0.5,
) -> Callable[..., tuple[FocusingBPState, FocusingBPInfo]]:
    """One focusing step ``step(key, state, data, gamma, y)`` (gamma, y scalars, maybe traced).

    data: patterns (P, n), entries in {-1, 0, +1}. Runs damped parallel BP
    sweeps with the focusing field f(gamma, y) (recomputed after every sweep
    from the new messages) until max |delta tanh| < tol, ``max_sweeps`` sweeps, or
    the sign of the marginals solves the patterns. The key is unused (BP is
    deterministic); it is there for the algorithm contract.
    """
    kappa = check_kappa(kappa, nonnegative=False)
    update = check_update(update)
    max_sweeps = check_positive_int(max_sweeps, "max_sweeps")
    tol = check_tol(tol)
    damping = check_probability(damping, "damping")

    def step(key, state: FocusingBPState, data, gamma, y):  # noqa: ARG001
        if data.shape != state.messages.shape:
            raise ValueError(
                f"data has shape {data.shape}; the state's messages are {state.messages.shape} "
                "(num_patterns, n)"
            )
        xi_int = jnp.asarray(data).astype(jnp.int32)
        xi = xi_int.astype(state.messages.dtype)
        t = threshold(kappa, xi.shape[-1])
        gamma = jnp.asarray(gamma, xi.dtype)
        y = jnp.asarray(y, xi.dtype)

        def solves(total):
            w = signs(total)
            return w, count_errors(stabilities(w, xi_int), t)

        def cond(c):
            _, _, done, delta, found, _ = c
            return (done < max_sweeps) & (delta >= tol) & ~found

        def body(c):
            u, f, done, _, _, _ = c
            u_new, delta = bp_sweep(xi, u, f, damping, kappa=kappa, update=update)
            f_new = focusing_field(jnp.sum(u_new, axis=0), gamma, y)
            delta = jnp.maximum(delta, jnp.max(jnp.abs(jnp.tanh(f_new) - jnp.tanh(f))))
            w, errors = solves(f_new + jnp.sum(u_new, axis=0))
            return u_new, f_new, done + 1, delta, errors == 0, w

        u0 = jnp.where(xi_int != 0, state.messages, 0.0)
        w0, errors0 = solves(state.focusing + jnp.sum(u0, axis=0))
        start = (u0, state.focusing, jnp.array(0, jnp.int32), jnp.array(jnp.inf, xi.dtype))
        u, f, done, delta, found, w = jax.lax.while_loop(cond, body, (*start, errors0 == 0, w0))
        total = f + jnp.sum(u, axis=0)
        w, errors = solves(total)
        phi = bethe_free_entropy(xi, u, f, kappa=kappa, update=update)
        replicated = replicated_free_entropy(xi, u, gamma, y, kappa=kappa, update=update)
        return finish_step(
            state, u, f, total, w, errors, done, delta < tol, phi, replicated, gamma, y
        )

    return step


def _check_schedule(gammas: Any, ys: Any) -> tuple[np.ndarray, np.ndarray]:
    g = np.asarray(gammas, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    if g.ndim != 1 or g.size == 0 or g.shape != y.shape:
        raise ValueError(
            f"schedule has gammas {g.shape} and ys {y.shape}; expected two equal 1-d arrays"
        )
    if np.any(np.isnan(g)) or np.any(g < 0):
        raise ValueError(f"schedule gammas {g[:3].tolist()}...; expected gamma >= 0 (inf allowed)")
    if not np.all(np.isfinite(y)) or np.any(y < 1):
        raise ValueError(f"schedule ys {y[:3].tolist()}...; expected finite y >= 1")
    return g, y


def reinforcement_schedule(dr: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """Standard reinforcement: gamma = inf, y = 1/(1 - r), r = 0, dr, ..., 1 - dr; (gammas, ys).

    Example:
        >>> g, y = reinforcement_schedule(0.25)
        >>> y.tolist()
        [1.0, 1.3333333333333333, 2.0, 4.0]
    """
    ok = isinstance(dr, (int, float, np.integer, np.floating)) and not isinstance(dr, bool)
    if not ok or not 0 < dr < 1:
        raise ValueError(f"dr={dr!r}; expected a reinforcement increment in (0, 1)")
    r = np.arange(round(1 / dr)) * dr
    r = r[r < 1 - 1e-12]
    return np.full(r.shape, np.inf), 1 / (1 - r)


def scoping_schedule(gammas: Any, y: float) -> tuple[np.ndarray, np.ndarray]:
    """Scoping: the given gammas (rising, e.g. geometric), y fixed; (gammas, ys)."""
    g = np.asarray(gammas, dtype=np.float64)
    return _check_schedule(g, np.full(g.shape, float(y)))


def pseudo_reinforcement_schedule(rhos: Any, x: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Pseudo-reinforcement: gamma = atanh(rho^x), y = 1 + rho^(1 - 2x) / (1 - rho), rho in (0, 1).

    Baldassi et al. PNAS 2016 (x = 1/2 by default: gamma = atanh sqrt(rho),
    y = 1 + 1/(1 - rho)). Returns (gammas, ys).
    """
    rho = np.asarray(rhos, dtype=np.float64)
    if rho.ndim != 1 or rho.size == 0 or np.any(rho <= 0) or np.any(rho >= 1):
        raise ValueError(f"rhos={rho[:3].tolist()}...; expected a 1-d array of values in (0, 1)")
    return _check_schedule(np.arctanh(rho**x), 1 + rho ** (1 - 2 * x) / (1 - rho))


def scheduled_algorithm(
    init_fn: Callable[..., FocusingBPState],
    step: Callable[..., tuple[FocusingBPState, FocusingBPInfo]],
    gammas: np.ndarray,
    ys: np.ndarray,
) -> Algorithm:
    """The `Algorithm` of every focusing-BP solver: step s runs ``step`` at (gammas[s], ys[s]).

    ``step(key, state, data, gamma, y)`` from a ``build_step``; the schedule (checked,
    `_check_schedule`) is indexed by ``state.index``, its last entry repeated after
    it ends; solved is ``state.solved``.
    """
    g_arr, y_arr = jnp.asarray(gammas, _dtype()), jnp.asarray(ys, _dtype())

    def step_fn(key, state, data):
        i = jnp.minimum(state.index, g_arr.shape[0] - 1)
        return step(key, state, data, g_arr[i], y_arr[i])

    def solved(state, data):  # noqa: ARG001
        return state.solved

    return Algorithm(init_fn, step_fn, solved)


def focusing_bp(
    n: int,
    num_patterns: int,
    schedule: tuple[Any, Any] | None = None,
    *,
    kappa: float = 0.0,
    update: str = "gaussian",
    max_sweeps: int = 100,
    tol: float = 1e-4,
    damping: float = 0.5,
    scale: float = 0.1,
) -> Algorithm:
    """Focusing BP on the binary perceptron: BP with a focusing field under a (gamma, y) schedule.

    Step s runs BP at (gamma_s, y_s) (the last entry repeated after the
    schedule ends), with the focusing field
    f_i = atanh[tanh(gamma) tanh((y - 1) atanh(tanh(gamma) tanh h_i))] and the
    factor update of ``update``; the candidate solution is sign(H) (ties +1).
    Baldassi et al., PNAS 113, E7655 (2016). One step is one focusing step of
    up to ``max_sweeps`` sweeps; ``state.sweeps`` and ``solved_at`` count sweeps.

    ``algo.init(key)``: messages ~ ``scale`` N(0, 1) (num_patterns, n); data
    for ``algo.step`` / `landscape.algorithms.run` / `landscape.algorithms.solve`:
    absorbed patterns (P, n), (sample, P, n) with ``samples=True``.

    Measured (8 samples each, kappa = 0, the defaults: dr = 0.01, max_sweeps = 100,
    tol = 1e-4, damping = 0.5, 100 steps): n = 201 solved 8, 8, 7 of 8 at
    alpha = 0.5, 0.6, 0.7 (median solved_at 1100-1500 sweeps); n = 401 solved
    8/8 at each (median 1300-2100 sweeps; 10-30 s on 2 CPU cores). Without
    damping (0.0; max_sweeps = 50, tol = 1e-3) it solved 0/8 at n = 201,
    alpha = 0.5, where damping 0.5 solved 8/8. A cheaper
    budget, dr = 0.02, max_sweeps = 50, tol = 1e-3 (50 steps), solved 8/8 at
    n = 201 and 401, alpha = 0.5 and 0.6. Pseudo-reinforcement (rho = 1 -
    geomspace(0.9, 1e-3, 60)) and scoping (y = 7, gamma = geomspace(0.01, 20, 60))
    each solved 8/8 at n = 201, alpha = 0.6.

    Args:
        n: number of weights, odd.
        num_patterns: P (the messages have shape (P, n)).
        schedule: ``(gammas, ys)`` of equal length (`reinforcement_schedule`,
            `scoping_schedule`, `pseudo_reinforcement_schedule`); None is
            ``reinforcement_schedule(0.01)``.
        kappa: margin of the solution criterion Delta > kappa sqrt(n).
        update: factor update, "gaussian" or "exact" (O(n^2) per factor).
        max_sweeps: BP sweeps per focusing step at most.
        tol: message tolerance (max |delta tanh u|).
        damping: u <- damping u + (1 - damping) u_new, in [0, 1].
        scale: standard deviation of the initial messages.

    Example:
        >>> import jax
        >>> from landscape.algorithms import binary
        >>> xi = binary.random_binary_patterns(jax.random.key(0), 51, 0.3)
        >>> algo = focusing_bp(51, xi.shape[0], reinforcement_schedule(0.05))
        >>> bool(binary.solve(algo, jax.random.key(1), xi, 20).solved)
        True
    """
    n = check_odd(n)
    num_patterns = check_positive_int(num_patterns, "num_patterns")
    gammas, ys = _check_schedule(*(reinforcement_schedule() if schedule is None else schedule))
    step = build_step(kappa=kappa, update=update, max_sweeps=max_sweeps, tol=tol, damping=damping)

    def init_fn(key, weights=None):
        state = init(key, n, num_patterns, scale=scale)
        if weights is not None:  # start focused on the given +-1 weights
            state = state._replace(focusing=jnp.asarray(weights, state.focusing.dtype))
        return state

    return scheduled_algorithm(init_fn, step, gammas, ys)
