"""The conformance checks, one test id per (registered estimator, check)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LinearRegression

from deepcause.estimate import AIPW, IPW, BaseEffectEstimator, Matching
from deepcause.estimate.registry import get_estimator_class
from deepcause.results import EffectEstimate
from deepcause.testing import check_estimator, estimator_checks, registered_cases
from deepcause.testing.cases import backdoor_case

# checks that train networks several times: slow
_SLOW_METHODS = {"tarnet", "cfr", "dragonnet", "cevae", "dfiv", "deepiv", "cbiv", "kerneliv"}


def build(method: str, params: dict) -> BaseEstimator:
    """A fresh estimator of ``method`` with its fast settings (models cloned)."""
    kwargs = {k: clone(v) if isinstance(v, BaseEstimator) else v for k, v in params.items()}
    return get_estimator_class(method)(**kwargs)


def _params() -> list:
    out = []
    for method, params, case in registered_cases():
        marks = []
        if method in _SLOW_METHODS:
            marks.append(pytest.mark.slow)
        try:  # the list of checks depends on the class (predict_cate, save, roles, ...)
            names = [name for name, _ in estimator_checks(build(method, params), case())]
        except Exception:  # noqa: BLE001 - a class that cannot be built fails in its test
            names = ["check_not_fitted"]
        out += [pytest.param(method, name, id=f"{method}-{name}", marks=marks) for name in names]
    return out


@pytest.mark.parametrize(("method", "check"), _params())
def test_conformance(method, check):
    _, params, case = next(c for c in registered_cases() if c[0] == method)
    checks = dict(estimator_checks(build(method, params), case()))
    checks[check]()


def test_every_registered_method_is_enumerated():
    methods = {m for m, _, _ in registered_cases()}
    assert {
        "aipw",
        "ipw",
        "plugin",
        "frontdoor",
        "2sls",
        "tarnet",
        "heckman",
        "mediation",
    } <= methods


# scikit-learn ensembles define __len__ (an AttributeError before fit): `model or default`
# crashed AIPW, IPW and Matching with them
@pytest.mark.parametrize(
    "est",
    [
        AIPW(
            propensity_model=RandomForestClassifier(n_estimators=20, min_samples_leaf=20),
            outcome_model=LinearRegression(),
            n_folds=2,
        ),
        IPW(propensity_model=GradientBoostingClassifier(n_estimators=30)),
        Matching(propensity_model=RandomForestClassifier(n_estimators=20, min_samples_leaf=20)),
    ],
    ids=["AIPW", "IPW", "Matching"],
)
def test_ensemble_nuisance_models(est):
    check_estimator(est)


# ------------------------------------------------------------------ the checks can fail
class _Naive(BaseEffectEstimator):
    """Difference of arm means with a normal interval (wrong under confounding)."""

    _parameter_constraints = {"shift": [float]}

    def __init__(self, shift: float = 0.0) -> None:
        self.shift = shift

    def _fit_prepared(self, data):  # noqa: ANN001
        self.means_ = np.array([data.y[data.t == a].mean() for a in (0, 1)])

    def _contrast(self, c, quantity):  # noqa: ANN001
        return EffectEstimate(float(self.means_ @ c) + self.shift, 0.1, quantity=quantity)


class _NotSelf(_Naive):
    def fit(self, *args, **kwargs):  # noqa: ANN002, ANN003
        super().fit(*args, **kwargs)


class _Random(_Naive):
    def _fit_prepared(self, data):  # noqa: ANN001
        super()._fit_prepared(data)
        self.means_[1] += np.random.default_rng().normal()


class _ChangesParams(_Naive):
    def __init__(self, shift: float = 0.0) -> None:
        self.shift = float(shift) + 1


class _NoInterval(_Naive):
    def _contrast(self, c, quantity):  # noqa: ANN001
        return EffectEstimate(float(self.means_ @ c), quantity=quantity)

    def bootstrap(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return self.effect()


class _NanTolerant(_Naive):
    def fit(self, data, estimand=None, **roles):  # noqa: ANN001, ANN003
        return super().fit(data.fillna(0), estimand, **roles)


class _ColumnOrder(_Naive):
    def predict_cate(self, data):  # noqa: ANN001
        return np.asarray(data, dtype=float)[:, 0]


@pytest.mark.parametrize(
    ("est", "check", "message"),
    [
        (_NotSelf(), "check_fit_returns_self", "not self"),
        (_Random(), "check_same_seed_same_numbers", "differ"),
        (_ChangesParams(), "check_params_round_trip", "as given"),
        (_NoInterval(), "check_finite_estimate_with_interval", "interval"),
        (_NanTolerant(), "check_bad_data", "NaN"),
        (_ColumnOrder(), "check_predict_cate_by_name", "column order"),
    ],
)
def test_the_checks_catch(est, check, message):
    checks = dict(estimator_checks(est, backdoor_case()))
    with pytest.raises(AssertionError, match=message):
        checks[check]()


def test_check_estimator_reports_every_failure():
    with pytest.raises(AssertionError, match=r"fails \d+ check\(s\)"):
        check_estimator(_Random())
    check_estimator(_Naive())  # biased, but conforms
