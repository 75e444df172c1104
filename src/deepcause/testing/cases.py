"""Small simulated problems with known truth for every estimator family, and fast settings.

A :class:`CheckCase` is a DataFrame, the ``fit`` keywords that give each column its role, and
the truth of ``effect(treatment=1, control=0)`` and ``mean(treatment=1)`` from the simulator
(never typed by hand). :data:`FAST_SETTINGS` maps every registered method name to small, fast
constructor keywords and the case it is checked on; :func:`registered_cases` lists them.

>>> case = backdoor_case()
>>> sorted(case.roles), round(case.effect_truth, 6)
(['covariates', 'outcome', 'treatment'], 2.0)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression

from ..estimate.registry import ESTIMATORS
from ..simulate import (
    SCM,
    Node,
    make_confounded_binary,
    make_frontdoor,
    make_linear_iv,
    make_selection,
    uniform,
)

__all__ = [
    "CheckCase",
    "backdoor_case",
    "discrete_case",
    "frontdoor_case",
    "iv_case",
    "mediation_case",
    "selection_case",
    "FAST_SETTINGS",
    "registered_cases",
]


@dataclass(frozen=True)
class CheckCase:
    """A data set, its ``fit`` roles and the simulator's truth.

    Parameters
    ----------
    name : str
        Short description.
    data : DataFrame
        The observed data.
    roles : mapping
        Keywords of ``fit`` (``treatment=``, ``outcome=``, ``covariates=``, ...).
    effect_truth : float, optional
        True ``E[Y | do(T=1)] − E[Y | do(T=0)]`` of the population the data describe.
    mean_truth : float, optional
        True ``E[Y | do(T=1)]``.
    covariates : tuple of str
        Columns ``predict_cate`` (or an IV structural function) selects (empty: not
        applicable).
    outcome_mean_truth : float, optional
        True ``E[Y]`` without intervention, what a selection estimator's ``mean()`` (no
        treatment) estimates: the mean over selected and unselected units.

    Examples
    --------
    >>> case = iv_case()
    >>> case.roles["instruments"], case.effect_truth
    (['z1', 'z2'], 2.0)
    """

    name: str
    data: pd.DataFrame
    roles: Mapping[str, Any]
    effect_truth: float | None = None
    mean_truth: float | None = None
    covariates: tuple[str, ...] = field(default=())
    outcome_mean_truth: float | None = None


@functools.lru_cache(maxsize=8)
def backdoor_case(n: int = 400, random_state: int = 0) -> CheckCase:
    """Binary treatment confounded by three Gaussian covariates (constant effect 2).

    >>> backdoor_case().data.shape
    (400, 5)
    """
    ds = make_confounded_binary(n, n_covariates=3, random_state=random_state)
    covs = list(ds.covariates)
    return CheckCase(
        "confounded binary",
        ds.data,
        {"treatment": ds.treatment, "outcome": ds.outcome, "covariates": covs},
        effect_truth=float(ds.truth["ATE_pop"]),
        mean_truth=float(np.mean(ds.mu1)),
        covariates=tuple(covs),
    )


@functools.lru_cache(maxsize=4)
def discrete_case(n: int = 3000, random_state: int = 1) -> CheckCase:
    """Two binary confounders and a binary outcome (for the plug-in estimator).

    The truth intervenes on the same structural equations: ``do(T=1)`` and ``do(T=0)`` on a
    large fresh draw with common random numbers.

    >>> discrete_case().roles["covariates"]
    ['Z1', 'Z2']
    """

    def draw(rng: np.random.Generator, size: int, do: int | None = None) -> pd.DataFrame:
        z1, z2 = rng.binomial(1, 0.5, size), rng.binomial(1, 0.4, size)
        u_t, u_y = rng.random(size), rng.random(size)
        t = (u_t < 1 / (1 + np.exp(0.5 - z1 - z2))).astype(int) if do is None else np.full(size, do)
        y = (u_y < 0.2 + 0.3 * t + 0.2 * z1 + 0.2 * z2).astype(int)
        return pd.DataFrame({"Z1": z1, "Z2": z2, "T": t, "Y": y})

    big = 400_000
    y1 = draw(np.random.default_rng(99), big, do=1)["Y"].mean()
    y0 = draw(np.random.default_rng(99), big, do=0)["Y"].mean()
    return CheckCase(
        "discrete back-door",
        draw(np.random.default_rng(random_state), n),
        {"treatment": "T", "outcome": "Y", "covariates": ["Z1", "Z2"]},
        effect_truth=float(y1 - y0),
        mean_truth=float(y1),
    )


@functools.lru_cache(maxsize=4)
def frontdoor_case(n: int = 3000, random_state: int = 0) -> CheckCase:
    """Binary front-door design ``X -> M -> Y`` with ``X <-> Y``.

    >>> frontdoor_case().roles["mediators"]
    ['M']
    """
    ds = make_frontdoor(n, binary=True, random_state=random_state)
    return CheckCase(
        "front door",
        ds.data,
        {"treatment": "X", "outcome": "Y", "mediators": ["M"]},
        effect_truth=float(ds.truth["ATE"]),
        mean_truth=float(ds.truth["E[Y|do(X=1)]"]),
    )


def _do_mean(scm: Any, outcome: str, do: Mapping[str, Any], n: int = 200_000) -> float:
    """``E[outcome | do(...)]`` of an SCM, on a large fresh draw under the intervention."""
    return float(scm.sample(n, do=do, random_state=_TRUTH_SEED)[outcome].mean())


_TRUTH_SEED = 20_250_101


@functools.lru_cache(maxsize=4)
def iv_case(
    n: int = 1000, random_state: int = 0, n_instruments: int = 2, n_controls: int = 2
) -> CheckCase:
    """Linear IV model with an unobserved confounder (structural effect 2).

    ``effect_truth`` is the slope of the structural function ``E[y | do(d), x]`` and
    ``mean_truth`` is ``E[y | do(d=1)]`` on a large fresh draw of the SCM under ``do(d=1)``.
    With ``n_instruments=1, n_controls=0`` it is the Wald estimator's design.

    >>> case = iv_case()
    >>> case.roles["treatment"], case.roles["instruments"], case.effect_truth
    ('d', ['z1', 'z2'], 2.0)
    >>> round(case.mean_truth, 1)
    2.0
    """
    ds = make_linear_iv(
        n, n_instruments=n_instruments, n_controls=n_controls, random_state=random_state
    )
    covs = list(ds.covariates)
    roles: dict[str, Any] = {
        "treatment": ds.treatment,
        "outcome": ds.outcome,
        "instruments": list(ds.instruments),
    }
    if covs:
        roles["covariates"] = covs
    return CheckCase(
        f"linear IV ({n_instruments} instrument(s), {n_controls} covariate(s))",
        ds.data,
        roles,
        effect_truth=float(ds.truth["effect"]),
        mean_truth=_do_mean(ds.scm, ds.outcome, {ds.treatment: 1.0}),
        covariates=tuple(covs),
    )


@functools.lru_cache(maxsize=4)
def selection_case(n: int = 2000, random_state: int = 0, mechanism: str = "mar") -> CheckCase:
    """Outcome observed only for selected units (``s``); the effect of ``t`` is 2.

    The roles follow the mechanism: with ``"unobservables"`` (the Heckman model) ``z`` is the
    excluded instrument of the selection equation; with ``"mar"`` both ``x`` and ``z`` make
    selection ignorable; with ``"outcome"`` ``w`` is the shadow variable. ``effect_truth`` is
    the ATE, ``mean_truth`` ``E[y | do(t=1)]`` (a large draw of the SCM under ``do(t=1)``)
    and ``outcome_mean_truth`` the population mean ``E[y]`` over selected and unselected
    units.

    >>> case = selection_case(mechanism="unobservables")
    >>> case.roles["selection"], case.roles["instruments"], round(case.effect_truth, 6)
    ('s', ['z'], 2.0)
    """
    ds = make_selection(n, mechanism, random_state=random_state)
    roles: dict[str, Any] = {"treatment": "t", "outcome": "y", "selection": "s"}
    roles |= {
        "mar": {"covariates": ["x", "z"]},
        "unobservables": {"covariates": ["x"], "instruments": ["z"]},
        "outcome": {"covariates": ["x"], "instruments": ["w"]},
    }[mechanism]
    return CheckCase(
        f"selection ({mechanism})",
        ds.data,
        roles,
        effect_truth=float(ds.truth["ATE"]),
        mean_truth=_do_mean(ds.scm, "y", {"t": 1}),
        outcome_mean_truth=float(ds.truth["E[Y]"]),
    )


def _mediation_scm() -> SCM:
    """W -> X -> M -> Y with W -> M, W -> Y, X -> Y; binary X (the mediation design)."""
    return SCM(
        [
            Node("W"),
            Node("X", ("W",), lambda pa, u: (u < 1 / (1 + np.exp(-0.8 * pa["W"]))) * 1,
                 uniform(0.0, 1.0), discrete=True),
            Node("M", ("X", "W"), lambda pa, u: pa["X"] + 0.5 * pa["W"] + u),
            Node("Y", ("X", "M", "W"), lambda pa, u: pa["X"] + 1.5 * pa["M"] + pa["W"] + u),
        ]
    )  # fmt: skip


@functools.lru_cache(maxsize=4)
def mediation_case(n: int = 1000, random_state: int = 0) -> CheckCase:
    """A binary treatment ``X`` acting on ``Y`` directly and through a mediator ``M``, both
    confounded by ``W`` (no hidden confounding): the total effect is 2.5 (1 direct, 1.5 through
    ``M``); the truth intervenes on the SCM.

    >>> case = mediation_case()
    >>> case.roles["mediators"], round(case.effect_truth, 1), round(case.mean_truth, 1)
    (['M'], 2.5, 2.5)
    """
    scm = _mediation_scm()
    y1, y0 = (_do_mean(scm, "Y", {"X": x}) for x in (1, 0))
    return CheckCase(
        "mediation",
        scm.sample(n, random_state=random_state),
        {"treatment": "X", "outcome": "Y", "mediators": ["M"], "covariates": ["W"]},
        effect_truth=y1 - y0,
        mean_truth=y1,
    )


_NEURAL = {"n_members": 2, "max_epochs": 4, "batch_size": None, "verbose": False}
_DEEP_IV = {"max_epochs": 5, "random_state": 0}

#: registry method name -> (constructor keywords, case); small and fast, for the test suite
FAST_SETTINGS: dict[str, tuple[dict[str, Any], Callable[[], CheckCase]]] = {
    "aipw": ({"n_folds": 2, "outcome_model": LinearRegression(), "random_state": 0}, backdoor_case),
    "ipw": ({"random_state": 0}, backdoor_case),
    "matching": ({"random_state": 0}, backdoor_case),
    "slearner": ({"model": LinearRegression(), "random_state": 0}, backdoor_case),
    "tlearner": ({"model": LinearRegression(), "random_state": 0}, backdoor_case),
    "xlearner": (
        {"outcome_model": LinearRegression(), "propensity_model": LogisticRegression()},
        backdoor_case,
    ),
    "drlearner": (
        {"outcome_model": LinearRegression(), "final_model": LinearRegression(), "n_folds": 2},
        backdoor_case,
    ),
    "entropy_balancing": ({}, backdoor_case),
    "residual_balancing": ({"outcome_model": LinearRegression()}, backdoor_case),
    "dcb": ({"max_iter": 50}, backdoor_case),
    "d2vd": ({}, backdoor_case),
    "plugin": ({}, discrete_case),
    "frontdoor": ({}, frontdoor_case),
    "tarnet": ({**_NEURAL, "random_state": 0}, backdoor_case),
    "cfr": ({**_NEURAL, "random_state": 0}, backdoor_case),
    "dragonnet": ({**_NEURAL, "random_state": 0}, backdoor_case),
    "cevae": ({**_NEURAL, "random_state": 0}, backdoor_case),
    "2sls": ({}, iv_case),
    "wald": ({}, functools.partial(iv_case, n_instruments=1, n_controls=0)),
    "poly2sls": ({}, iv_case),
    "kerneliv": ({"n_components": 100, "random_state": 0}, iv_case),
    "dfiv": (_DEEP_IV, iv_case),
    "deepiv": (_DEEP_IV, iv_case),
    "cbiv": (_DEEP_IV, iv_case),
    "heckman": ({}, functools.partial(selection_case, mechanism="unobservables")),
    "selection_ipw": ({}, selection_case),
    "shadow": ({}, functools.partial(selection_case, mechanism="outcome")),
    "mediation": (
        {"outcome_model": LinearRegression(), "n_folds": 2, "random_state": 0},
        mediation_case,
    ),
}


def registered_cases() -> list[tuple[str, dict[str, Any], Callable[[], CheckCase]]]:
    """``(method, fast keywords, case)`` for every registered method (registry order).

    Methods registered without an entry in :data:`FAST_SETTINGS` run with their defaults on
    the back-door case.

    >>> [m for m, _, _ in registered_cases()][:2]
    ['aipw', 'ipw']
    """
    out = []
    for method in ESTIMATORS:
        params, case = FAST_SETTINGS.get(method, ({}, backdoor_case))
        out.append((method, params, case))
    return out
