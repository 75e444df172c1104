"""Structural causal models and simulation designs whose truth comes from intervening on them.

>>> from deepcause.simulate import SCM, Node, gaussian
>>> scm = SCM([Node("X", noise=gaussian()), Node("Y", ["X"], lambda p, u: 2 * p["X"] + u, gaussian())])
>>> round(float(scm.sample(20_000, do={"X": 1.0}, random_state=0)["Y"].mean()), 1)
2.0
"""

from __future__ import annotations

from .designs import (
    make_confounded_binary,
    make_frontdoor,
    make_limited_overlap,
    make_nonlinear_confounded,
    make_selection,
)
from .iv import (
    IVDataset,
    demand_grid,
    demand_psi,
    demand_structural,
    demand_test_points,
    make_demand,
    make_linear_iv,
)
from .scm import SCM, Intervention, Node, gaussian, gumbel, laplace, student_t, uniform
from .shift import TEST_RATES, beta_stable, make_covariate_shift
from .suite import FAMILIES, GRAPHS, LATENT_CASES, SimulatorCase, get_case, simulator_suite

__all__ = [
    "SCM",
    "Node",
    "Intervention",
    "gaussian",
    "uniform",
    "laplace",
    "gumbel",
    "student_t",
    "make_confounded_binary",
    "make_nonlinear_confounded",
    "make_limited_overlap",
    "make_frontdoor",
    "make_selection",
    "IVDataset",
    "make_demand",
    "make_linear_iv",
    "demand_psi",
    "demand_structural",
    "demand_test_points",
    "demand_grid",
    "make_covariate_shift",
    "TEST_RATES",
    "beta_stable",
    "SimulatorCase",
    "simulator_suite",
    "get_case",
    "GRAPHS",
    "FAMILIES",
    "LATENT_CASES",
]
