"""Structural causal models and simulation designs whose truth comes from intervening on them.

One SCM type (:class:`SCM` of :class:`Node` objects) underlies every design; each design module
builds its SCM (``backdoor_scm``, ``frontdoor_scm``, ``selection_scm``, ``demand_scm``,
``linear_iv_scm``, ``covariate_shift_scm``, and the image SCMs of :mod:`.images`) and its
``make_*`` function returns a
:class:`~deepcause.datasets.CausalDataset` whose ``truth`` is computed by intervening on
``ds.scm``.

>>> from deepcause.simulate import SCM, Node, gaussian
>>> scm = SCM([Node("X", noise=gaussian()), Node("Y", ["X"], lambda p, u: 2 * p["X"] + u, gaussian())])
>>> round(float(scm.sample(20_000, do={"X": 1.0}, random_state=0)["Y"].mean()), 1)
2.0
"""

from __future__ import annotations

from . import images, scm
from ._readers import AttributeReader, train_attribute_readers
from ._render import COLOR_NAMES, PALETTE, read_color, read_digit, render_digits
from .acic import acic_scm, make_acic
from .backdoor import (
    backdoor_scm,
    make_confounded_binary,
    make_limited_overlap,
    make_nonlinear_confounded,
)
from .frontdoor import frontdoor_scm, make_frontdoor
from .ihdp import ihdp_covariates, make_ihdp
from .images import *  # noqa: F403 (re-exports images.__all__)
from .iv import (
    demand_grid,
    demand_psi,
    demand_scm,
    demand_structural,
    demand_test_points,
    linear_iv_scm,
    make_demand,
    make_linear_iv,
)
from .kang_schafer import kang_schafer_scm, make_kang_schafer
from .lalonde_style import lalonde_style_scm, make_lalonde_style
from .pendulum import (
    PendulumReader,
    make_pendulum,
    pendulum_scm,
    render_pendulum,
    shadow_geometry,
    train_pendulum_readers,
)
from .scm import *  # noqa: F403 (re-exports scm.__all__)
from .selection import make_selection, selection_scm
from .shift import TEST_RATES, beta_stable, covariate_shift_scm, make_covariate_shift
from .suite import FAMILIES, GRAPHS, LATENT_CASES, SimulatorCase, get_case, simulator_suite

__all__ = [
    "make_ihdp",
    "ihdp_covariates",
    "make_kang_schafer",
    "kang_schafer_scm",
    "make_acic",
    "acic_scm",
    "make_lalonde_style",
    "lalonde_style_scm",
    *scm.__all__,
    "backdoor_scm",
    "make_confounded_binary",
    "make_nonlinear_confounded",
    "make_limited_overlap",
    "frontdoor_scm",
    "make_frontdoor",
    "selection_scm",
    "make_selection",
    "demand_scm",
    "make_demand",
    "linear_iv_scm",
    "make_linear_iv",
    "demand_psi",
    "demand_structural",
    "demand_test_points",
    "demand_grid",
    "covariate_shift_scm",
    "make_covariate_shift",
    "TEST_RATES",
    "beta_stable",
    "SimulatorCase",
    "simulator_suite",
    "get_case",
    "GRAPHS",
    "FAMILIES",
    "LATENT_CASES",
    *images.__all__,
    "render_digits",
    "read_digit",
    "read_color",
    "PALETTE",
    "COLOR_NAMES",
    "AttributeReader",
    "train_attribute_readers",
    "pendulum_scm",
    "make_pendulum",
    "render_pendulum",
    "shadow_geometry",
    "PendulumReader",
    "train_pendulum_readers",
]
