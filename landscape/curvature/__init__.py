"""Curvature of the loss: Hessian- and Gauss-Newton-vector products and their spectra.

Top eigenpairs (thick-restart Lanczos), trace (Hutchinson, Hutch++; the
rescaling-invariant ``tr(diag(w) H diag(w))``, `invariant_trace`), spectral
density (stochastic Lanczos quadrature), per-layer blocks (``params_filter``)
and the Riemannian Hessian on the sphere; the dense Hessian's full spectrum
(``dense_hessian_spectrum``) for small models. Linear algebra works on flat
matvecs; the pytree-level functions take any ``loss_fn(params, batch) -> scalar``.
"""

from landscape.curvature.dense import dense_hessian_spectrum
from landscape.curvature.density import SpectralDensity, spectral_density, spectral_density_of
from landscape.curvature.eigen import (
    Eigenpairs,
    thick_restart_lanczos,
    top_eigenpairs,
    top_eigenpairs_of,
)
from landscape.curvature.lanczos import Tridiagonal, lanczos, ritz_nodes_weights
from landscape.curvature.operators import (
    LinearOperator,
    dense_operator,
    gauss_newton_operator,
    hessian_operator,
    hvp,
    linear_operator,
    path_contains,
    spherical_hessian,
)
from landscape.curvature.plots import plot_spectral_density
from landscape.curvature.trace import (
    Estimate,
    invariant_trace,
    scaled_operator,
    trace,
    trace_of,
    weight_norms,
)

__all__ = [
    "Eigenpairs",
    "Estimate",
    "LinearOperator",
    "SpectralDensity",
    "Tridiagonal",
    "dense_hessian_spectrum",
    "dense_operator",
    "gauss_newton_operator",
    "hessian_operator",
    "hvp",
    "invariant_trace",
    "lanczos",
    "linear_operator",
    "path_contains",
    "plot_spectral_density",
    "ritz_nodes_weights",
    "scaled_operator",
    "spectral_density",
    "spectral_density_of",
    "spherical_hessian",
    "thick_restart_lanczos",
    "top_eigenpairs",
    "top_eigenpairs_of",
    "trace",
    "trace_of",
    "weight_norms",
]
