"""Symmetry groups of an energy landscape: when two minima are the same minimum.

A minimum x and its image g(x) under a symmetry g of the energy are one
minimum. A `Symmetry` tells a `MinimaDatabase` how to recognise that:

- ``fingerprint(x)`` (f,): a group-invariant vector that is 1-Lipschitz in
  the distance modulo the group, ``|fingerprint(x) - fingerprint(y)|_inf <=
  distance(x, y)``, so comparing fingerprints never separates two images of
  one minimum: the database buckets its candidates by an energy window and
  this filter, both robust (no rounding, no sort that a near-tie can flip);
- ``bucket(x)``: a coarse hashable key (the fingerprint rounded to
  ``decimals``) for callers that want a dict key; identity is never decided
  by it, since a rounding boundary splits any canonical form;
- ``distance(x, y)`` = min over g of |x - g(y)|, and ``align(x, reference)``,
  the image g(x) closest to the reference (NEB endpoints are aligned with it);
- ``same(x, y, tol)``: the identity rule (``distance <= tol`` unless said
  otherwise);
- ``stabiliser_order(x, tol)``: the number of group elements with
  |g(x) - x| <= tol, counted by brute force (the symmetry number o_i of the
  harmonic superposition, PATHSAMPLE's ``pgorder``);
- ``random_element(key, x)``: g(x) for a uniformly random g (tests).

Implementations:

- `NoSymmetry`: the trivial group.
- `SphereSymmetry`: the rescalings of a scale-invariant model (the spherical
  perceptron): minima compared on the sphere.
- `NetworkSymmetry`: a multilayer perceptron (`landscape.models.mlp`):
  permutations of each hidden layer's units (the specs of
  `landscape.paths.alignment.permutation_spec`) and, for exactly odd
  activations (tanh, erf, linear), the sign flip of a whole unit: its incoming
  weights, its bias and its outgoing weights (the output layer is trainable, so
  the flip is compensated there; the output bias is unchanged). Never for
  relu, sigmoid, gelu or softplus. A 2-4-1 network has 4! 2^4 = 384 elements
  (Chen, Lu and Hecht-Nielsen, "On the geometry of feedforward neural network
  error surfaces", Neural Computation 1993).
- `ClusterSymmetry`: atomic clusters (Lennard-Jones): permutations of
  identical atoms, rotations, reflections and translations; identity by energy
  plus the sorted pair-distance fingerprint (Wales, *Energy Landscapes*, 2003),
  stabiliser order = the order of the point group.

Every element is a signed permutation of coordinates for networks,
g(x) = s * x[p], so distances are Euclidean in the flat coordinates that the
energy function takes. All computations are float64 NumPy on the host.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import jax
import numpy as np
from scipy.optimize import linear_sum_assignment

from landscape._util import as_key, check_positive_int

ODD_ACTIVATIONS = ("tanh", "erf", "linear")
"""Activations g with g(-h) = -g(h) exactly: whole-unit sign flips are symmetries."""

OTHER_ACTIVATIONS = ("relu", "sigmoid", "gelu", "softplus")
"""Activations without the sign-flip symmetry (only hidden-unit permutations)."""


def _rng(key: Any) -> np.random.Generator:
    seed = np.asarray(jax.random.key_data(as_key(key))).ravel()
    return np.random.default_rng(seed)


def _vector(x: Any, name: str, dimension: int | None = None) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"{name} has shape {x.shape}; expected a flat vector (d,)")
    if dimension is not None and x.shape[0] != dimension:
        raise ValueError(f"{name} has shape {x.shape}; expected ({dimension},)")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf; expected finite coordinates")
    return x


class Symmetry:
    """The interface of a symmetry group acting on flat coordinates (d,).

    Subclasses implement `distance_and_align`, `stabiliser_order`,
    `random_element` and, when the group is not trivial, `fingerprint`.
    """

    decimals: int = 3

    def describe(self) -> dict[str, Any]:
        """JSON-able description (stored beside a saved database)."""
        return {"name": type(self).__name__}

    def check(self, x: Any, name: str = "x") -> np.ndarray:
        """Return x as a float64 vector (d,); ValueError otherwise."""
        return _vector(x, name, getattr(self, "dimension", None))

    def fingerprint(self, x: Any) -> np.ndarray:
        """Group-invariant vector (f,) with |fp(x) - fp(y)|_inf <= distance(x, y)."""
        self.check(x)
        return np.zeros(0)

    def bucket(self, x: Any) -> tuple:
        """Coarse hashable key: the fingerprint rounded to ``decimals`` (never decides identity)."""
        return tuple(np.round(self.fingerprint(x), self.decimals).tolist())

    def distance_and_align(self, x: Any, reference: Any) -> tuple[float, np.ndarray]:
        """(min over g of |g(x) - reference|, the minimising image g(x))."""
        raise NotImplementedError

    def distance(self, x: Any, y: Any) -> float:
        """The minimum over g of |x - g(y)| (isometries, so symmetric in x and y)."""
        return self.distance_and_align(y, x)[0]

    def align(self, x: Any, reference: Any) -> np.ndarray:
        """The image g(x) closest to ``reference`` (d,)."""
        return self.distance_and_align(x, reference)[1]

    def same(self, x: Any, y: Any, tol: float) -> bool:
        """Whether x and y are one minimum: ``distance(x, y) <= tol``."""
        return self.distance(x, y) <= tol

    def stabiliser_order(self, x: Any, tol: float = 1e-4) -> int:
        """Number of group elements g with |g(x) - x| <= tol."""
        raise NotImplementedError

    def random_element(self, key: Any, x: Any) -> np.ndarray:
        """g(x) for a uniformly random group element g (keys: jax.random.key or PRNGKey)."""
        raise NotImplementedError


class NoSymmetry(Symmetry):
    """The trivial group {identity}: distance is Euclidean, every stabiliser has order 1.

    Example:
        >>> NoSymmetry().distance([0.0, 0.0], [3.0, 4.0])
        5.0
    """

    def distance_and_align(self, x, reference):
        """(|x - reference|, x)."""
        x = self.check(x)
        reference = _vector(reference, "reference", x.shape[0])
        return float(np.linalg.norm(x - reference)), x

    def stabiliser_order(self, x, tol=1e-4):  # noqa: ARG002
        """Always 1."""
        self.check(x)
        return 1

    def random_element(self, key, x):
        """Return x itself."""
        as_key(key)
        return self.check(x).copy()


class SphereSymmetry(Symmetry):
    """Scale invariance of the spherical perceptron: x and c x (c > 0) are one point.

    The model ``w.x / |w|`` depends on the direction of w only, so a minimum is a
    point of the sphere |w| = ``radius`` (default sqrt(d), the library's
    normalisation |w|^2 = n). Distances are measured between the projections,
    |r x/|x| - r y/|y||, and `align` rescales x onto the reference's radius.
    No fingerprint (the energy window buckets candidates); stabilisers are
    trivial (order 1).

    Example:
        >>> SphereSymmetry(radius=1.0).distance([2.0, 0.0], [0.0, 5.0])  # sqrt(2)
        1.4142135623730951
    """

    def __init__(self, radius: float | None = None):
        if radius is not None and not (np.isfinite(radius) and radius > 0):
            raise ValueError(f"radius={radius!r}; expected a positive number or None")
        self.radius = None if radius is None else float(radius)

    def describe(self):
        """Name and radius."""
        return {"name": "SphereSymmetry", "radius": self.radius}

    def project(self, x: Any) -> np.ndarray:
        """The projection onto the sphere, radius * x / |x| (d,); radius defaults to sqrt(d)."""
        x = self.check(x)
        norm = np.linalg.norm(x)
        if norm == 0:
            raise ValueError("x is the zero vector; expected a point off the origin")
        radius = np.sqrt(x.shape[0]) if self.radius is None else self.radius
        return radius * x / norm

    def distance_and_align(self, x, reference):
        """(|project(x) - project(reference)|, x rescaled to the reference's radius)."""
        x = self.check(x)
        reference = _vector(reference, "reference", x.shape[0])
        aligned = x * (np.linalg.norm(reference) / np.linalg.norm(x))
        return float(np.linalg.norm(self.project(x) - self.project(reference))), aligned

    def stabiliser_order(self, x, tol=1e-4):  # noqa: ARG002
        """Always 1 (a rescaling fixes no point but the identity does)."""
        self.check(x)
        return 1

    def random_element(self, key, x):
        """The point rescaled by a random factor in [1/2, 2]."""
        return self.check(x) * 2.0 ** _rng(key).uniform(-1.0, 1.0)


def _signed_assignment(cost_plus, cost_minus):
    """Exact min over signed permutations of sum_i cost_{s_i}[i, p_i]: (total, p, s)."""
    if cost_minus is None:
        cost, signs = cost_plus, np.ones_like(cost_plus)
    else:
        cost = np.minimum(cost_plus, cost_minus)
        signs = np.where(cost_minus < cost_plus, -1.0, 1.0)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].sum()), cols, signs[rows, cols]


def _count_assignments(cost_plus, cost_minus, budget):
    """Number of signed permutations (p, s) with sum_i cost_{s_i}[i, p_i] <= budget.

    When every pair within the budget costs at most budget / n, no sum of n
    of them exceeds it and the count is the permanent of the matrix of allowed
    signs per pair, computed over subsets of used columns (O(2^n n), memoised);
    otherwise a depth-first search pruned by the partial cost. Both are exact.
    """
    n = cost_plus.shape[0]
    costs = [cost_plus] if cost_minus is None else [cost_plus, cost_minus]
    allowed = sum((c <= budget).astype(np.int64) for c in costs)
    if all(np.all(c[c <= budget] <= budget / n) for c in costs):
        options = [[(k, int(allowed[i, k])) for k in np.flatnonzero(allowed[i])] for i in range(n)]
        memo: dict[int, int] = {}

        def permanent(i, used):
            if i == n:
                return 1
            if used not in memo:
                memo[used] = sum(
                    ways * permanent(i + 1, used | (1 << k))
                    for k, ways in options[i]
                    if not used >> k & 1
                )
            return memo[used]

        return permanent(0, 0)
    used = np.zeros(n, bool)

    def visit(i, spent):
        if i == n:
            return 1
        total = 0
        for k in range(n):
            if used[k]:
                continue
            for c in costs:
                if spent + c[i, k] <= budget:
                    used[k] = True
                    total += visit(i + 1, spent + c[i, k])
                    used[k] = False
        return total

    return visit(0, 0.0)


def _pairwise_sq(a, b):
    """|a_i - b_k|^2 (n, k) from differences (no cancellation in |a|^2 + |b|^2 - 2 a.b)."""
    return np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1)


class NetworkSymmetry(Symmetry):
    """Hidden-unit permutations and (odd activations) whole-unit sign flips of an MLP.

    The group acts on the flat coordinates x = ravel(params) (``unravel`` maps
    x back): an element is, per hidden layer, a permutation p and signs s of
    its units, unit i of g(theta) being s_i times unit p_i of theta; a unit is
    its incoming weights (kernel column), its bias and its outgoing weights
    (the next kernel's row), the axes of
    `landscape.paths.alignment.permutation_spec`. The output bias is never
    changed. Order: prod_l n_l! 2^{n_l} (384 for a 2-4-1 network), without
    the 2^{n_l} for activations that are not odd.

    Distance modulo the group, exactly: with one hidden layer,
    |x - g(y)|^2 = |c_x - c_y|^2 + sum_i |u_i^x - s_i u_{p_i}^y|^2 (c the
    output bias, u the units), so the optimum is a linear assignment
    (`scipy.optimize.linear_sum_assignment`, Hungarian) on the costs
    min_s |u_i^x - s u_k^y|^2, each unit taking its best sign. With several
    hidden layers, every layer but the widest is enumerated (every signed
    permutation, at most ``max_enumeration`` elements, else ValueError) and the
    widest one, whose units are then separable, is solved by the assignment:
    still exact. The stabiliser order counts, by the same enumeration and a
    depth-first search over the widest layer's signed assignments pruned by
    the partial cost, every element with |g(x) - x| <= tol (exactly the brute
    force count over the group, which the tests check on all 384 elements).

    A dead unit at a minimum of an l2-regularised loss is entirely zero (zero
    outgoing weight leaves only the l2 pull on its incoming weights and bias,
    and zero incoming weights and bias leave only the l2 pull on its outgoing
    weight), so its sign flip fixes the point and doubles the stabiliser; two
    dead units also swap (order 8).

    Args:
        unravel: maps a flat vector (d,) to the params pytree (as
            ``jax.flatten_util.ravel_pytree`` returns it, or a `FlatEnergy`'s).
        params_template: a params pytree of the model (``{"Dense_0": ...}``).
        activation: the hidden activation's name (``models.mlp``'s): "tanh",
            "erf", "linear" have sign flips; "relu", "sigmoid", "gelu",
            "softplus" do not.
        spec: a `PermutationSpec` (default `permutation_spec(params_template)`);
            sign flips need the MLP's layers (a trainable next layer).
        max_enumeration: bound on the enumerated elements of the layers other
            than the widest.

    Example:
        >>> import numpy as np
        >>> from jax.flatten_util import ravel_pytree
        >>> rng = np.random.default_rng(0)  # the params of models.mlp([2, 4, 1], "tanh")
        >>> params = {"Dense_0": {"kernel": rng.normal(size=(2, 4)), "bias": rng.normal(size=4)},
        ...           "Dense_1": {"kernel": rng.normal(size=(4, 1)), "bias": rng.normal(size=1)}}
        >>> x, unravel = ravel_pytree(params)
        >>> symmetry = NetworkSymmetry(unravel, params, "tanh")
        >>> symmetry.order, symmetry.stabiliser_order(x)
        (384, 1)
    """

    def __init__(
        self,
        unravel,
        params_template,
        activation: str,
        *,
        spec=None,
        max_enumeration: int = 10_000,
    ):
        from landscape.paths.alignment import _check_spec, _leaf_dict, permutation_spec

        if activation in ODD_ACTIVATIONS:
            odd = True
        elif activation in OTHER_ACTIVATIONS:
            odd = False
        else:
            raise ValueError(
                f"activation={activation!r}; expected one of "
                f"{sorted(ODD_ACTIVATIONS + OTHER_ACTIVATIONS)}"
            )
        self.activation = activation
        self.max_enumeration = check_positive_int(max_enumeration, "max_enumeration")
        leaves = {k: np.shape(v) for k, v in _leaf_dict(params_template).items()}
        spec = permutation_spec(params_template) if spec is None else spec
        sizes = _check_spec(_leaf_dict(params_template), spec)
        is_mlp = isinstance(params_template, dict) and all(
            str(k).startswith("Dense_") for k in params_template
        )
        self.sign_flips = odd and is_mlp and bool(spec.axes)
        self.dimension = int(sum(math.prod(s) for s in leaves.values()))
        from landscape._util import x64

        with x64():
            tree = unravel(jax.numpy.arange(self.dimension, dtype=jax.numpy.float64))
        index = {
            k: np.rint(np.asarray(v, np.float64)).astype(np.int64)
            for k, v in _leaf_dict(tree).items()
        }
        if set(index) != set(leaves) or any(index[k].shape != leaves[k] for k in leaves):
            raise ValueError("unravel does not return params shaped like params_template")
        flat = np.concatenate([v.ravel() for v in index.values()]) if index else np.zeros(0)
        if not np.array_equal(np.sort(flat), np.arange(self.dimension)):
            raise ValueError(
                "unravel(arange(d)) is not a permutation of 0..d-1; expected the inverse of "
                "ravel_pytree(params_template)"
            )
        self._index = index
        self._layers = {name: int(n) for name, n in sizes.items()}
        self._on_leaf: dict[Any, list[tuple[int, str]]] = {}
        for name, entries in spec.axes.items():
            for path, axis in entries:
                self._on_leaf.setdefault(path, []).append((axis % len(leaves[path]), name))
        self._units = {}
        for name, entries in spec.axes.items():
            self._units[name] = np.stack(
                [
                    np.concatenate(
                        [np.take(index[path], j, axis=axis).ravel() for path, axis in entries]
                    )
                    for j in range(self._layers[name])
                ]
            )
        covered = np.zeros(self.dimension, bool)
        for u in self._units.values():
            covered[u.ravel()] = True
        self._fixed = np.flatnonzero(~covered)
        self._free = max(self._layers, key=lambda k: self._layers[k]) if self._layers else None
        if self._free is not None:
            free_covered = np.zeros(self.dimension, bool)
            free_covered[self._units[self._free].ravel()] = True
            self._complement = np.flatnonzero(~free_covered)
        self._enumerated = self._count([k for k in self._layers if k != self._free])

    def _count(self, names):
        total = 1
        for name in names:
            n = self._layers[name]
            total *= math.factorial(n) * (2**n if self.sign_flips else 1)
        return total

    @property
    def order(self) -> int:
        """The group's order prod_l n_l! (2^{n_l} with sign flips)."""
        return self._count(list(self._layers))

    def describe(self):
        """Name, activation, sign flips, hidden widths, dimension."""
        return {
            "name": "NetworkSymmetry",
            "activation": self.activation,
            "sign_flips": self.sign_flips,
            "layers": dict(self._layers),
            "dimension": self.dimension,
        }

    def action(self, element: dict[str, tuple[Any, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """The signed coordinate permutation (p (d,), s (d,)) of a group element.

        ``element``: hidden layer name -> (perm (n,), signs (n,) of +-1); g(x) = s * x[p].
        Missing layers are the identity.
        """
        p = np.arange(self.dimension)
        s = np.ones(self.dimension)
        for path, idx in self._index.items():
            src, sign = idx, np.ones(idx.shape)
            for axis, name in self._on_leaf.get(path, ()):
                if name not in element:
                    continue
                perm, signs = element[name]
                perm = np.asarray(perm)
                src = np.take(src, perm, axis=axis)
                sign = np.take(sign, perm, axis=axis)
                shape = [1] * idx.ndim
                shape[axis] = -1
                sign = sign * np.asarray(signs, np.float64).reshape(shape)
            p[idx.ravel()] = src.ravel()
            s[idx.ravel()] = sign.ravel()
        return p, s

    def apply(self, element, x):
        """g(x) for ``element`` as in `action`."""
        x = self.check(x)
        p, s = self.action(element)
        return s * x[p]

    def elements(self, names=None):
        """Iterate over every element of the layers ``names`` (default: all) as dicts."""
        names = list(self._layers) if names is None else list(names)
        per_layer = []
        for name in names:
            n = self._layers[name]
            signs = (
                list(itertools.product((1.0, -1.0), repeat=n)) if self.sign_flips else [(1.0,) * n]
            )
            per_layer.append(
                [
                    (np.array(p), np.array(s))
                    for p in itertools.permutations(range(n))
                    for s in signs
                ]
            )
        for combo in itertools.product(*per_layer):
            yield dict(zip(names, combo))

    def _others(self):
        if self._enumerated > self.max_enumeration:
            raise ValueError(
                f"the hidden layers other than the widest have {self._enumerated} signed "
                f"permutations, above max_enumeration={self.max_enumeration}; expected a "
                "smaller network (or raise max_enumeration)"
            )
        return self.elements([k for k in self._layers if k != self._free])

    def _unit_costs(self, a, b):
        units = self._units[self._free]
        ua, ub = a[units], b[units]
        plus = _pairwise_sq(ua, ub)
        minus = _pairwise_sq(ua, -ub) if self.sign_flips else None
        return plus, minus

    def fingerprint(self, x):
        """The fixed coordinates (output bias) and, per hidden layer, the sorted unit norms."""
        x = self.check(x)
        parts = [x[self._fixed]]
        parts += [np.sort(np.linalg.norm(x[u], axis=1)) for u in self._units.values()]
        return np.concatenate(parts)

    def distance_and_align(self, x, reference):
        """Exact min over the group of |g(x) - reference| and the minimising g(x)."""
        x = self.check(x)
        reference = self.check(reference, "reference")
        if self._free is None:
            return float(np.linalg.norm(x - reference)), x
        best = (np.inf, None)
        for other in self._others():
            y = self.apply(other, x)
            rest = float(np.sum((reference - y)[self._complement] ** 2))
            cost, perm, signs = _signed_assignment(*self._unit_costs(reference, y))
            if rest + cost < best[0]:
                best = (rest + cost, self.apply({self._free: (perm, signs)}, y))
        return float(np.sqrt(best[0])), best[1]

    def stabiliser_order(self, x, tol=1e-4):
        """Number of group elements with |g(x) - x| <= tol (exact enumeration, pruned)."""
        x = self.check(x)
        if self._free is None:
            return 1
        budget = float(tol) ** 2
        total = 0
        for other in self._others():
            y = self.apply(other, x)
            rest = float(np.sum((x - y)[self._complement] ** 2))
            if rest <= budget:
                total += _count_assignments(*self._unit_costs(x, y), budget - rest)
        return total

    def random_element(self, key, x):
        """g(x) for a uniformly random signed permutation of every hidden layer."""
        rng = _rng(key)
        element = {}
        for name, n in self._layers.items():
            signs = rng.choice([-1.0, 1.0], n) if self.sign_flips else np.ones(n)
            element[name] = (rng.permutation(n), signs)
        return self.apply(element, x)


def _procrustes(a, b):
    """The orthogonal R (rotation or reflection) minimising |a R^T - b| (rows are points)."""
    u, _, vt = np.linalg.svd(b.T @ a)
    return u @ vt


class ClusterSymmetry(Symmetry):
    """Permutations of identical atoms, rotations, reflections, translations of a cluster.

    Coordinates are x = (x_1, y_1, z_1, x_2, ...) of shape (3 n_atoms,).

    - Identity (``same``) is decided as in GMIN/OPTIM by energy (the
      database's window) plus the sorted pair-distance fingerprint:
      fp(x) = sort_{i<j} r_ij / sqrt(2), compared in the max norm (r_ij moves by
      at most |d_i| + |d_j| <= sqrt(2) |d| under a displacement d, so the
      fingerprint is 1-Lipschitz in the distance modulo the group).
    - ``distance``/``align``: centroids on each other, then alternating
      Hungarian assignment of atoms and orthogonal Procrustes (Kabsch with
      reflections) from the eight principal-axis frames and a few fixed random
      orientations; the best of these local optima (an upper bound on the true
      minimum, as pele's ``minpermdist``, exact when it is 0).
    - ``stabiliser_order``: the order of the point group, by brute force over
      every orthogonal map sending the farthest atom a and the atom b least
      collinear with it onto a pair of atoms at the same radii and mutual
      angle (both handednesses), keeping those that map the whole cluster
      onto itself within tol (48 for the octahedron O_h, 20 for the
      pentagonal bipyramid D_5h, 120 for the icosahedron I_h). A linear
      cluster (infinite point group) is a ValueError.

    Args:
        n_atoms: number of atoms (>= 2).
    """

    def __init__(self, n_atoms: int, *, num_orientations: int = 8):
        self.n_atoms = check_positive_int(n_atoms, "n_atoms")
        if self.n_atoms < 2:
            raise ValueError(f"n_atoms={n_atoms}; expected at least 2 atoms")
        self.dimension = 3 * self.n_atoms
        rng = np.random.default_rng(0)
        self._orientations = [
            _procrustes(*rng.normal(size=(2, 3, 3))) for _ in range(num_orientations)
        ]

    def describe(self):
        """Name and number of atoms."""
        return {"name": "ClusterSymmetry", "n_atoms": self.n_atoms}

    def positions(self, x) -> np.ndarray:
        """Atom positions (n_atoms, 3) with the centroid at the origin."""
        pos = self.check(x).reshape(self.n_atoms, 3)
        return pos - pos.mean(0)

    def fingerprint(self, x):
        """Sorted pair distances / sqrt(2), (n (n - 1) / 2,)."""
        pos = self.positions(x)
        i, j = np.triu_indices(self.n_atoms, 1)
        return np.sort(np.linalg.norm(pos[i] - pos[j], axis=1)) / np.sqrt(2.0)

    def same(self, x, y, tol):
        """Whether the fingerprints agree within tol (max norm)."""
        return float(np.max(np.abs(self.fingerprint(x) - self.fingerprint(y)))) <= tol

    def moments_of_inertia(self, x) -> np.ndarray:
        """Principal moments of inertia (3,) ascending, unit masses, about the centroid."""
        pos = self.positions(x)
        tensor = np.sum(pos * pos) * np.eye(3) - pos.T @ pos
        return np.linalg.eigvalsh(tensor)

    def _frames(self, pos):
        _, vecs = np.linalg.eigh(pos.T @ pos)
        return vecs

    def distance_and_align(self, x, reference):
        """Best local optimum of min over (R, permutation, translation) of |g(x) - reference|."""
        a = self.positions(x)
        ref_full = self.check(reference, "reference").reshape(self.n_atoms, 3)
        center = ref_full.mean(0)
        b = ref_full - center
        fa, fb = self._frames(a), self._frames(b)
        starts = [
            fb @ np.diag(signs) @ fa.T for signs in itertools.product((1.0, -1.0), repeat=3)
        ] + list(self._orientations)
        best = (np.inf, None)
        for rot in starts:
            perm = None
            for _ in range(50):
                moved = a @ rot.T
                _, cols = linear_sum_assignment(_pairwise_sq(b, moved))
                if perm is not None and np.array_equal(cols, perm):
                    break
                perm = cols
                rot = _procrustes(a[perm], b)
            aligned = a[perm] @ rot.T
            dist = float(np.linalg.norm(aligned - b))
            if dist < best[0]:
                best = (dist, (aligned + center).ravel())
        return best

    def stabiliser_order(self, x, tol=1e-4):
        """Order of the point group: orthogonal R with |R pos - pos[perm]| <= tol for some perm."""
        pos = self.positions(x)
        radius = np.linalg.norm(pos, axis=1)
        ia = int(np.argmax(radius))
        cross = np.linalg.norm(np.cross(pos[ia], pos), axis=1)
        ib = int(np.argmax(cross))
        if cross[ib] <= tol * (1.0 + radius[ia]):
            raise ValueError("x is a linear cluster; its point group is infinite")
        loose = 2.0 * tol * (1.0 + radius.max())
        dot = pos[ia] @ pos[ib]

        def frame(u, v):
            e1 = u / np.linalg.norm(u)
            e2 = v - (v @ e1) * e1
            e2 /= np.linalg.norm(e2)
            return np.stack([e1, e2, np.cross(e1, e2)], 1)

        source = frame(pos[ia], pos[ib])
        count = 0
        for k in np.flatnonzero(np.abs(radius - radius[ia]) <= loose):
            for m in np.flatnonzero(np.abs(radius - radius[ib]) <= loose):
                if m == k or abs(pos[k] @ pos[m] - dot) > loose * (radius[ia] + radius[ib]):
                    continue
                target = frame(pos[k], pos[m])
                for hand in (1.0, -1.0):
                    rot = (target * np.array([1.0, 1.0, hand])) @ source.T
                    moved = pos @ rot.T
                    cost = _pairwise_sq(moved, pos)
                    rows, cols = linear_sum_assignment(cost)
                    if cost[rows, cols].sum() <= tol**2:
                        count += 1
        return count

    def random_element(self, key, x):
        """g(x): a random orthogonal map (rotation or reflection), permutation and translation."""
        rng = _rng(key)
        pos = self.check(x).reshape(self.n_atoms, 3)
        q, r = np.linalg.qr(rng.normal(size=(3, 3)))
        q = q * np.sign(np.diag(r))
        moved = (pos - pos.mean(0)) @ q.T + pos.mean(0) + rng.normal(size=3)
        return moved[rng.permutation(self.n_atoms)].ravel()
