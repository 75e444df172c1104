"""Meta-learners for conditional average treatment effects (CATE).

* :class:`SLearner` — one outcome model on ``[X, t]``; ``tau(x) = mu(x, 1) - mu(x, 0)``.
* :class:`TLearner` — one outcome model per arm ("outcome regression");
  ``tau(x) = mu_1(x) - mu_0(x)``.
* :class:`XLearner` — Künzel et al. (2019): imputed effects of each arm are regressed on ``X``
  and blended with the propensity score.
* :class:`DRLearner` — Kennedy (2023): cross-fitted doubly robust pseudo-outcomes regressed on
  ``X``; its ATE/ATT/ATC are the cross-fitted AIPW estimates with influence-function standard
  errors.

Every learner has ``predict_cate(X)`` (array in, array out), ``cate(df)`` (DataFrame with the
covariate columns in, Series out) and ``ate()``/``att()``/``atc()``. The S/T/X-learners give
point estimates; call ``bootstrap()`` for intervals. Nuisance models are any scikit-learn
estimators.

>>> import numpy as np
>>> from sklearn.linear_model import LinearRegression
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(400, 2))
>>> t = rng.binomial(1, 1 / (1 + np.exp(-X[:, 0])))
>>> y = X[:, 0] + t * (1 + X[:, 1]) + rng.normal(scale=0.1, size=400)
>>> est = TLearner(LinearRegression()).fit(X, t, y)
>>> round(est.ate().value, 1)
1.0
>>> np.round(est.predict_cate([[0.0, 1.0]]), 1)
array([2.])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..exceptions import DataValidationError, PositivityWarning
from ..results import EffectEstimate
from ._base import BackdoorData, BaseEffectEstimator
from ._nuisance import (
    crossfit_outcomes,
    crossfit_propensity,
    default_propensity_model,
    default_regressor,
    make_folds,
    seeded,
)
from .diagnostics import backdoor_diagnostics, implied_weights

__all__ = ["SLearner", "TLearner", "OutcomeRegression", "XLearner", "DRLearner"]


# --------------------------------------------------------------------------- nuisance helpers
def default_final_regressor(random_state: Any = None) -> GradientBoostingRegressor:
    """Default model for noisy pseudo-outcomes: shallower, larger leaves (less variance)."""
    return GradientBoostingRegressor(
        n_estimators=100,
        max_depth=2,
        learning_rate=0.05,
        subsample=0.8,
        min_samples_leaf=50,
        random_state=random_state,
    )


def default_classifier(random_state: Any = None) -> Any:
    """Default propensity model: standardized, lightly penalized logistic regression."""
    return make_pipeline(StandardScaler(), default_propensity_model())


def predict_proba1(model: Any, X: np.ndarray) -> np.ndarray:
    """P(T = 1 | X) from a fitted classifier (or regressor predicting 0/1)."""
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)[:, 1]
    return np.asarray(model.predict(X), dtype=float)


def clip_propensity(e: np.ndarray, clip: float, estimator: str) -> np.ndarray:
    """Clip propensity scores to ``[clip, 1 - clip]`` and warn when many were clipped."""
    outside = np.mean((e < clip) | (e > 1 - clip))
    if outside > 0.05:
        import warnings

        warnings.warn(
            f"{estimator}: {100 * outside:.1f}% of propensity scores are outside "
            f"[{clip}, {1 - clip}] and were clipped; overlap is poor, consider trimming or an "
            "ATT/overlap-weighted target.",
            PositivityWarning,
            stacklevel=3,
        )
    return np.clip(e, clip, 1 - clip)


def cross_fit_nuisances(
    data: BackdoorData,
    outcome_model: Any,
    propensity_model: Any,
    n_folds: int,
    random_state: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold ``mu0(X)``, ``mu1(X)`` and ``e(X)`` (folds stratified by treatment)."""
    if n_folds < 2:
        raise DataValidationError(f"n_folds must be at least 2 for cross-fitting, got {n_folds}")
    X = _design(data.X)
    folds = make_folds(data.t, n_folds, random_state)
    mu0, mu1 = crossfit_outcomes(outcome_model, X, data.t, data.y, folds, n_folds, random_state)
    e = crossfit_propensity(propensity_model, X, data.t, folds, n_folds, random_state)
    return mu0, mu1, e


def _design(X: np.ndarray) -> np.ndarray:
    """Covariate matrix; a constant column when there are no covariates."""
    return X if X.shape[1] else np.ones((len(X), 1))


# --------------------------------------------------------------------------- base class
class _MetaLearner(BaseEffectEstimator):
    """Shared CATE plumbing: ``predict_cate``, ``cate`` and averaged effects."""

    _method = "MetaLearner"

    def predict_cate(self, X: Any) -> np.ndarray:
        """CATE ``tau(x)`` for each row of ``X`` (same columns, same order as in ``fit``)."""
        self._check_fitted()
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X[None, :] if self.data_.X.shape[1] > 1 else X[:, None]
        p = self.data_.X.shape[1]
        if X.shape[1] != max(p, 0) and not (p == 0 and X.shape[1] == 1):
            raise DataValidationError(
                f"{type(self).__name__}.predict_cate: X has {X.shape[1]} columns but the model "
                f"was fitted on {p} covariates {list(self.data_.covariate_names)}"
            )
        return self._predict_cate(_design(X))

    def cate(self, df: pd.DataFrame) -> pd.Series:
        """CATE for each row of ``df`` (which must hold the fitted covariate columns)."""
        self._check_fitted()
        names = list(self.data_.covariate_names)
        missing = [c for c in names if c not in df.columns]
        if missing:
            raise DataValidationError(
                f"{type(self).__name__}.cate: covariate column(s) {missing} are not in the data; "
                f"the model was fitted on {names}"
            )
        values = (
            self.predict_cate(df[names].to_numpy(dtype=float))
            if names
            else (self._predict_cate(np.ones((len(df), 1))))
        )
        return pd.Series(values, index=df.index, name="cate")

    def _predict_cate(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit(self, data: BackdoorData) -> None:
        self.cate_ = None
        self._fit_models(data)
        self.cate_ = self._predict_cate(_design(data.X))

    def _fit_models(self, data: BackdoorData) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _effect(self, quantity: str) -> EffectEstimate:
        data = self.data_
        mask = {"ATE": np.ones(data.n, bool), "ATT": data.t == 1, "ATC": data.t == 0}[quantity]
        tau = self.cate_[mask]
        return EffectEstimate(
            value=float(np.mean(tau)),
            std_error=None,
            quantity=quantity,
            method=self._method,
            n=data.n,
            estimand=data.estimand,
            diagnostics={
                "cate_std": float(np.std(tau)),
                "note": "point estimate; call bootstrap() for a standard error and interval",
            },
        )


# --------------------------------------------------------------------------- S / T learners
class SLearner(_MetaLearner):
    """Single outcome model ``mu(x, t)``; ``tau(x) = mu(x, 1) - mu(x, 0)``.

    Parameters
    ----------
    model : regressor fitted on ``[X, t]`` (default: gradient boosting).
    random_state : seed for the model.
    """

    _method = "S-learner"

    def __init__(self, model: Any = None, random_state: Any = None) -> None:
        self.model = model
        self.random_state = random_state

    def _fit_models(self, data: BackdoorData) -> None:
        base = default_regressor() if self.model is None else self.model
        self.model_ = seeded(base, self.random_state).fit(np.column_stack([data.X, data.t]), data.y)

    def _predict_cate(self, X: np.ndarray) -> np.ndarray:
        X = X[:, : self.data_.X.shape[1]]
        ones, zeros = np.ones((len(X), 1)), np.zeros((len(X), 1))
        return self.model_.predict(np.hstack([X, ones])) - self.model_.predict(
            np.hstack([X, zeros])
        )


class TLearner(_MetaLearner):
    """One outcome model per treatment arm (outcome regression / g-computation).

    Parameters
    ----------
    model : regressor for ``E[Y | X, T = 1]`` and ``E[Y | X, T = 0]`` (default: gradient boosting).
    control_model : optional separate regressor for the control arm.
    random_state : seed for the models.
    """

    _method = "T-learner"

    def __init__(
        self, model: Any = None, control_model: Any = None, random_state: Any = None
    ) -> None:
        self.model = model
        self.control_model = control_model
        self.random_state = random_state

    def _fit_models(self, data: BackdoorData) -> None:
        base = default_regressor() if self.model is None else self.model
        base0 = base if self.control_model is None else self.control_model
        X = _design(data.X)
        t1 = data.t == 1
        self.model1_ = seeded(base, self.random_state).fit(X[t1], data.y[t1])
        self.model0_ = seeded(base0, self.random_state).fit(X[~t1], data.y[~t1])

    def predict_outcomes(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(mu0(X), mu1(X))``: predicted potential-outcome means."""
        self._check_fitted()
        X = _design(np.atleast_2d(np.asarray(X, dtype=float)))
        return self.model0_.predict(X), self.model1_.predict(X)

    def _predict_cate(self, X: np.ndarray) -> np.ndarray:
        return self.model1_.predict(X) - self.model0_.predict(X)


OutcomeRegression = TLearner
"""Outcome regression (g-computation) is the T-learner: ``OutcomeRegression is TLearner``."""


# --------------------------------------------------------------------------- X learner
class XLearner(_MetaLearner):
    """X-learner (Künzel, Sekhon, Bickel & Yu 2019).

    Stage 1 fits ``mu_0``, ``mu_1`` per arm; stage 2 regresses the imputed effects
    ``D1 = Y - mu_0(X)`` (treated) and ``D0 = mu_1(X) - Y`` (controls) on ``X``; the CATE is
    ``e(x) tau_0(x) + (1 - e(x)) tau_1(x)`` with the propensity score ``e``.

    Parameters
    ----------
    outcome_model, effect_model : regressors for stage 1 and 2 (default: gradient boosting).
    propensity_model : classifier for ``e(x)`` (default: logistic regression).
    random_state : seed for every model.
    """

    _method = "X-learner"

    def __init__(
        self,
        outcome_model: Any = None,
        effect_model: Any = None,
        propensity_model: Any = None,
        random_state: Any = None,
    ) -> None:
        self.outcome_model = outcome_model
        self.effect_model = effect_model
        self.propensity_model = propensity_model
        self.random_state = random_state

    def _fit_models(self, data: BackdoorData) -> None:
        out = default_regressor() if self.outcome_model is None else self.outcome_model
        eff = out if self.effect_model is None else self.effect_model
        ps = default_classifier() if self.propensity_model is None else self.propensity_model
        X, rs = _design(data.X), self.random_state
        t1 = data.t == 1
        mu1 = seeded(out, rs).fit(X[t1], data.y[t1])
        mu0 = seeded(out, rs).fit(X[~t1], data.y[~t1])
        d1 = data.y[t1] - mu0.predict(X[t1])
        d0 = mu1.predict(X[~t1]) - data.y[~t1]
        self.tau1_ = seeded(eff, rs).fit(X[t1], d1)
        self.tau0_ = seeded(eff, rs).fit(X[~t1], d0)
        self.propensity_ = seeded(ps, rs).fit(X, data.t)

    def _predict_cate(self, X: np.ndarray) -> np.ndarray:
        g = predict_proba1(self.propensity_, X)
        return g * self.tau0_.predict(X) + (1 - g) * self.tau1_.predict(X)


# --------------------------------------------------------------------------- DR learner
class DRLearner(_MetaLearner):
    """DR-learner (Kennedy 2023) with cross-fitted nuisances.

    Pseudo-outcome ``phi = mu1 - mu0 + t (y - mu1) / e - (1 - t) (y - mu0) / (1 - e)`` from
    out-of-fold ``mu0, mu1, e``; the CATE model regresses ``phi`` on ``X``. The ATE is
    ``mean(phi)`` (cross-fitted AIPW) with standard error ``sd(phi) / sqrt(n)``; ATT and ATC use
    their doubly robust scores.

    Parameters
    ----------
    outcome_model : regressor for ``E[Y | X, T = t]`` (default: gradient boosting).
    propensity_model : classifier for ``P(T = 1 | X)`` (default: logistic regression).
    final_model : regressor of the pseudo-outcome on ``X`` (default: shallow gradient boosting
        with large leaves, as pseudo-outcomes are noisy).
    n_folds : cross-fitting folds.
    clip : propensity scores are clipped to ``[clip, 1 - clip]``.
    random_state : seed for folds and models.
    """

    _method = "DR-learner"

    def __init__(
        self,
        outcome_model: Any = None,
        propensity_model: Any = None,
        final_model: Any = None,
        n_folds: int = 5,
        clip: float = 0.01,
        random_state: Any = None,
    ) -> None:
        self.outcome_model = outcome_model
        self.propensity_model = propensity_model
        self.final_model = final_model
        self.n_folds = n_folds
        self.clip = clip
        self.random_state = random_state

    def _fit_models(self, data: BackdoorData) -> None:
        out = default_regressor() if self.outcome_model is None else self.outcome_model
        ps = default_classifier() if self.propensity_model is None else self.propensity_model
        if is_classifier(out):
            raise DataValidationError("DRLearner.outcome_model must be a regressor")
        mu0, mu1, e = cross_fit_nuisances(data, out, ps, self.n_folds, self.random_state)
        e = clip_propensity(e, self.clip, "DRLearner")
        t, y = data.t, data.y
        self.mu0_, self.mu1_, self.propensity_scores_ = mu0, mu1, e
        self.pseudo_outcome_ = mu1 - mu0 + t * (y - mu1) / e - (1 - t) * (y - mu0) / (1 - e)
        final = default_final_regressor() if self.final_model is None else self.final_model
        self.final_model_ = seeded(final, self.random_state).fit(
            _design(data.X), self.pseudo_outcome_
        )

    def _predict_cate(self, X: np.ndarray) -> np.ndarray:
        return self.final_model_.predict(X)

    def _effect(self, quantity: str) -> EffectEstimate:
        data = self.data_
        t, y, e = data.t, data.y, self.propensity_scores_
        mu0, mu1 = self.mu0_, self.mu1_
        if quantity == "ATE":
            score, denom = self.pseudo_outcome_, np.ones(data.n)
        elif quantity == "ATT":  # E[t (y - mu0) - (1 - t) e/(1-e) (y - mu0)] / P(T=1)
            score = t * (y - mu0) - (1 - t) * e / (1 - e) * (y - mu0)
            denom = t.astype(float)
        else:  # ATC
            score = (1 - t) * (mu1 - y) + t * (1 - e) / e * (y - mu1)
            denom = (1 - t).astype(float)
        value = float(np.sum(score) / np.sum(denom))
        influence = (score - value * denom) / np.mean(denom)
        se = float(np.std(influence, ddof=1) / np.sqrt(data.n))
        return EffectEstimate(
            value=value,
            std_error=se,
            quantity=quantity,
            method=self._method,
            n=data.n,
            estimand=data.estimand,
            diagnostics=backdoor_diagnostics(
                data.X,
                t,
                data.covariate_names,
                e,
                implied_weights(e, t, quantity),
                cate_std=float(np.std(self.cate_)),
            ),
        )
