"""check_estimator over every back-door estimator of the registry and of deepcause.estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.linear_model import LinearRegression, LogisticRegression

import deepcause.estimate as estimate
from deepcause.datasets import CausalDataset
from deepcause.estimate.registry import ESTIMATORS, get_estimator_class
from deepcause.testing import check_estimator
from deepcause.testing.estimators import default_check_data

# registry modules that hold IV and selection estimators (not back-door: not checked here)
NOT_BACKDOOR = ("deepcause.estimate.iv", "deepcause.estimate.selection")

NEURAL = {"n_members": 2, "max_epochs": 4, "batch_size": None, "verbose": False}
# tiny settings; classes not listed run with their defaults
SETTINGS = {
    "TARNet": {"representation_hidden_sizes": (8,), "head_hidden_sizes": (8,), **NEURAL},
    "CFR": {"representation_hidden_sizes": (8,), "head_hidden_sizes": (8,), **NEURAL},
    "DragonNet": {"representation_hidden_sizes": (8,), "head_hidden_sizes": (8,), **NEURAL},
    "CEVAE": {"hidden_sizes": (8,), "latent_dim": 2, "n_samples": 5, **NEURAL},
    "PlugIn": {"n_boot": 30},
    "DRLearner": {"n_folds": 2},
    # light models: their intervals come from 20 bootstrap refits
    "SLearner": {"model": LinearRegression()},
    "TLearner": {"model": LinearRegression()},
    "XLearner": {"outcome_model": LinearRegression(), "propensity_model": LogisticRegression()},
}
# how close the ATE must be to the truth (standard errors are about 0.1 at n = 400; a method
# that ignores the confounders is off by about 1.5), None: no accuracy check (tiny networks)
ATOL = {"TARNet": None, "CFR": None, "DragonNet": None, "CEVAE": None, "PlugIn": 0.1}


def _backdoor_classes() -> dict[str, type]:
    found: dict[str, type] = {}
    targets = [target for target in ESTIMATORS.values() if not target.startswith(NOT_BACKDOOR)]
    classes = [get_estimator_class(m) for m in ESTIMATORS if ESTIMATORS[m] in targets]
    classes += [getattr(estimate, name) for name in estimate.__all__]
    for cls in classes:
        kinds = getattr(cls, "supported_kinds", ())
        if (
            isinstance(cls, type)
            and issubclass(cls, BaseEstimator)
            and "backdoor" in kinds
            and cls is not estimate.BaseEffectEstimator
        ):
            found.setdefault(cls.__name__, cls)
    return dict(sorted(found.items()))


CLASSES = _backdoor_classes()


def discrete_data(n: int = 2000, seed: int = 1) -> CausalDataset:
    """Binary confounders; E[Y | do(T=t), Z] = 0.2 + 0.3 t + 0.2 Z1 + 0.2 Z2, so ATE = 0.3."""
    rng = np.random.default_rng(seed)
    z1, z2 = rng.binomial(1, 0.5, n), rng.binomial(1, 0.4, n)
    t = rng.binomial(1, 1 / (1 + np.exp(0.5 - z1 - z2)))
    y = rng.binomial(1, 0.2 + 0.3 * t + 0.2 * z1 + 0.2 * z2)
    df = pd.DataFrame({"Z1": z1, "Z2": z2, "T": t, "Y": y})
    return CausalDataset(df, "T", "Y", ("Z1", "Z2"), truth={"ATE": 0.3})


def test_the_backdoor_estimators_are_found():
    assert {"AIPW", "IPW", "TLearner", "PlugIn"} <= set(CLASSES)
    assert "FrontDoor" not in CLASSES  # front-door only


@pytest.mark.parametrize("name", list(CLASSES))
def test_check_estimator(name):
    cls = CLASSES[name]
    data = discrete_data() if name == "PlugIn" else None
    params = {
        k: clone(v) if isinstance(v, BaseEstimator) else v
        for k, v in SETTINGS.get(name, {}).items()
    }
    check_estimator(cls(**params), data, atol=ATOL.get(name, 0.75))


def test_check_estimator_with_pluggable_nuisance_models():
    est = estimate.AIPW(
        propensity_model=LogisticRegression(C=0.5), outcome_model=LinearRegression(), n_folds=2
    )
    check_estimator(est, atol=0.5)


# scikit-learn ensembles define __len__ (an AttributeError before fit): `model or default`
# crashed AIPW, IPW and Matching with them
@pytest.mark.parametrize(
    "est",
    [
        estimate.AIPW(
            propensity_model=RandomForestClassifier(n_estimators=20, min_samples_leaf=20),
            outcome_model=GradientBoostingRegressor(n_estimators=30),
            n_folds=2,
        ),
        estimate.IPW(propensity_model=GradientBoostingClassifier(n_estimators=30)),
        estimate.Matching(
            propensity_model=RandomForestClassifier(n_estimators=20, min_samples_leaf=20)
        ),
    ],
    ids=["AIPW", "IPW", "Matching"],
)
def test_ensemble_nuisance_models(est):
    check_estimator(est)


# ------------------------------------------------------------------ the checker can fail
class _Base(estimate.BaseEffectEstimator):
    """Difference of arm means with a normal interval (wrong under confounding)."""

    def __init__(self, shift: float = 0.0) -> None:
        self.shift = shift

    def _fit(self, data):  # noqa: ANN001
        self.effect_ = data.y[data.t == 1].mean() - data.y[data.t == 0].mean()

    def _effect(self, quantity):  # noqa: ANN001
        from deepcause.results import EffectEstimate

        return EffectEstimate(value=self.effect_ + self.shift, std_error=0.1, quantity=quantity)


class _NotSelf(_Base):
    def fit(self, *args, **kwargs):  # noqa: ANN002, ANN003
        super().fit(*args, **kwargs)
        return None


class _Random(_Base):
    def _fit(self, data):  # noqa: ANN001
        super()._fit(data)
        self.effect_ += np.random.default_rng().normal()


class _ChangesParams(_Base):
    def __init__(self, shift: float = 0.0) -> None:
        self.shift = float(shift) + 1


class _NoCI(_Base):
    def _effect(self, quantity):  # noqa: ANN001
        from deepcause.results import EffectEstimate

        return EffectEstimate(value=self.effect_, quantity=quantity)


class _NanTolerant(_Base):
    def fit(self, data, estimand=None, y=None, **kwargs):  # noqa: ANN001, ANN003
        if isinstance(data, pd.DataFrame):
            data = data.fillna(0)
        return super().fit(data, estimand, y, **kwargs)


class _AnyKind(_Base):
    def fit(self, data, estimand=None, y=None, **kwargs):  # noqa: ANN001, ANN003
        if getattr(estimand, "kind", "backdoor") != "backdoor":  # should refuse it
            self.effect_ = 0.0
            self.data_ = None
            return self
        return super().fit(data, estimand, y, **kwargs)


@pytest.mark.parametrize(
    ("est", "message", "n_boot"),
    [
        (_NotSelf(), "not self", 20),
        (_Random(), "two fits", 20),
        (_ChangesParams(), "parameters as given", 20),
        (_NoCI(), r"ate\(\) confidence interval", 0),
        (_NanTolerant(), "NaN", 20),
        (_AnyKind(), "'frontdoor' estimand did not raise", 20),
    ],
)
def test_check_estimator_catches(est, message, n_boot):
    with pytest.raises(AssertionError, match=message):
        check_estimator(est, n_boot=n_boot)


def test_point_estimators_give_an_interval_through_bootstrap():
    check_estimator(_NoCI(), n_boot=5)


def test_check_estimator_accuracy_option():
    check_estimator(_Base(), atol=3.0)  # the naive difference is about 1.5 off
    with pytest.raises(AssertionError, match="from the truth"):
        check_estimator(_Base(), atol=0.75)


def test_neural_save_after_a_dataframe_fit(tmp_path):
    """pandas 3 hands out read-only arrays; saving must not warn (torch warns on those)."""
    from deepcause.estimate.neural import TARNet, load

    data = default_check_data(n=200)
    est = TARNet(**SETTINGS["TARNet"], random_state=0).fit(
        data.data, treatment=data.treatment, outcome=data.outcome
    )
    est.save(tmp_path / "tarnet")
    assert load(tmp_path / "tarnet").ate().value == est.ate().value
