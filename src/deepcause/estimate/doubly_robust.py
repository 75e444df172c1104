"""Augmented IPW (doubly robust) with K-fold cross-fitting and influence-function errors.

Nuisances: propensity e(x) and per-arm outcome regressions mu0(x), mu1(x), each predicted
out-of-fold (Chernozhukov et al. 2018). Each quantity uses its own efficient influence function
(Robins, Rotnitzky & Zhao 1994; Hahn 1998 for ATT/ATC):

* ATE: psi = mu1 - mu0 + w1 (Y - mu1) - w0 (Y - mu0) - tau, w1 = T/e, w0 = (1-T)/(1-e)
* ATT: psi = [T (Y - mu0 - tau) - (1-T) e/(1-e) (Y - mu0)] / P(T=1)
* ATC: psi = [(1-T) (mu1 - Y - tau) + T (1-e)/e (Y - mu1)] / P(T=0)

With ``normalize=True`` (default) the weighted residual terms are Hajek-normalized within each
arm, which keeps the estimator bounded by the outcome range when some weights are large.

>>> from deepcause.simulate import make_confounded_binary
>>> ds = make_confounded_binary(2000, random_state=0, population_truth=False)
>>> res = AIPW().fit(ds.data, treatment="t", outcome="y").ate()
>>> bool(abs(res.value - ds.truth["ATE"]) < 4 * res.std_error)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..results import EffectEstimate
from ._base import BackdoorData, BaseEffectEstimator
from ._nuisance import (
    crossfit_outcomes,
    crossfit_propensity,
    default_outcome_model,
    default_propensity_model,
    make_folds,
    standardize,
)
from .diagnostics import backdoor_diagnostics, implied_weights, warn_positivity
from .weighting import handling_text, prepare_scores

__all__ = ["AIPW", "aipw_scores"]


def aipw_scores(
    y: np.ndarray,
    t: np.ndarray,
    e: np.ndarray,
    mu0: np.ndarray,
    mu1: np.ndarray,
    quantity: str,
    normalize: bool = True,
) -> tuple[float, np.ndarray]:
    """Point estimate and influence function values of the AIPW estimator of ``quantity``."""
    n = len(y)
    t1 = t == 1
    r1 = np.where(t1, y - mu1, 0.0)
    r0 = np.where(t1, 0.0, y - mu0)
    if quantity == "ATE":
        w1 = np.where(t1, 1.0 / e, 0.0)
        w0 = np.where(t1, 0.0, 1.0 / (1.0 - e))
        s1 = w1.sum() if normalize else n
        s0 = w0.sum() if normalize else n
        phi = mu1 - mu0 + n * (w1 * r1 / s1 - w0 * r0 / s0)
        value = float(phi.mean())
        return value, phi - value
    if quantity == "ATT":
        n1 = float(t1.sum())
        w0 = np.where(t1, 0.0, e / (1.0 - e))
        s0 = w0.sum() if normalize else n1
        direct = np.where(t1, y - mu0, 0.0)
        value = float((direct.sum() - n1 * (w0 @ r0) / s0) / n1)
        psi = (n / n1) * (np.where(t1, y - mu0 - value, 0.0) - n1 * w0 * r0 / s0)
        return value, psi
    if quantity == "ATC":
        n0 = float((~t1).sum())
        w1 = np.where(t1, (1.0 - e) / e, 0.0)
        s1 = w1.sum() if normalize else n0
        direct = np.where(t1, 0.0, mu1 - y)
        value = float((direct.sum() + n0 * (w1 @ r1) / s1) / n0)
        psi = (n / n0) * (np.where(t1, 0.0, mu1 - y - value) + n0 * w1 * r1 / s1)
        return value, psi
    raise ValueError(f"quantity must be ATE, ATT or ATC, got {quantity!r}")


class AIPW(BaseEffectEstimator):
    """Cross-fitted augmented inverse probability weighting (doubly robust) estimator.

    Parameters
    ----------
    propensity_model : classifier with ``predict_proba`` (default logistic regression).
    outcome_model : regressor fitted separately in each arm (default: gradient boosting up to
        5,000 rows, histogram gradient boosting up to 100,000 rows, ridge alpha=1 above).
    n_folds : cross-fitting folds (default 5; 1 = no cross-fitting).
    clip : ``"auto"`` (ATE [0.1, 0.9], ATT upper 0.99, ATC lower 0.01), ``None`` or ``c``.
    trim : ``None``, a level ``a`` or ``"crump"`` (drops units; changes the target population).
    normalize : Hajek-normalize the weighted residual terms (default True).
    random_state : seed for the folds and randomized learners.

    Covariates are standardized once (no outcome information) before the nuisance fits.
    """

    def __init__(
        self,
        propensity_model: Any = None,
        outcome_model: Any = None,
        n_folds: int = 5,
        clip: Any = "auto",
        trim: Any = None,
        normalize: bool = True,
        random_state: Any = 0,
    ) -> None:
        self.propensity_model = propensity_model
        self.outcome_model = outcome_model
        self.n_folds = n_folds
        self.clip = clip
        self.trim = trim
        self.normalize = normalize
        self.random_state = random_state

    def _fit(self, data: BackdoorData) -> None:
        X = standardize(data.X)
        folds = make_folds(data.t, self.n_folds, self.random_state)
        # `is None`, not `or`: scikit-learn ensembles define __len__ (unfitted: AttributeError)
        ps = default_propensity_model() if self.propensity_model is None else self.propensity_model
        om = default_outcome_model(data.n) if self.outcome_model is None else self.outcome_model
        self.propensity_ = crossfit_propensity(
            ps, X, data.t, folds, self.n_folds, self.random_state
        )
        self.mu0_, self.mu1_ = crossfit_outcomes(
            om, X, data.t, data.y, folds, self.n_folds, self.random_state
        )

    def _effect(self, quantity: str) -> EffectEstimate:
        data = self.data_
        e, keep, info = prepare_scores(self.propensity_, data.t, quantity, self.clip, self.trim)
        warn_positivity(self.propensity_[keep], data.t[keep], quantity, "AIPW", handling_text(info))
        sub = (lambda a: a) if keep.all() else (lambda a: a[keep])
        t = sub(data.t)
        value, psi = aipw_scores(
            sub(data.y), t, sub(e), sub(self.mu0_), sub(self.mu1_), quantity, self.normalize
        )
        n = len(t)
        se = float(np.sqrt(psi @ psi) / n)
        w = implied_weights(sub(e), t, quantity)
        diag = backdoor_diagnostics(
            sub(data.X), t, data.covariate_names, sub(self.propensity_), w, **info
        )
        label = quantity if "trim_bounds" not in info else f"{quantity} (trimmed)"
        return EffectEstimate(
            value=value,
            std_error=se,
            quantity=label,
            method="AIPW",
            n=n,
            estimand=data.estimand,
            diagnostics=diag,
        )
