"""Inverse probability weighting (Horvitz-Thompson and Hajek) with clipping, trimming and
overlap weights.

>>> from deepcause.simulate import make_confounded_binary
>>> ds = make_confounded_binary(2000, random_state=0, population_truth=False)
>>> est = IPW().fit(ds.data, treatment="t", outcome="y")
>>> res = est.ate()
>>> bool(abs(res.value - ds.truth["ATE"]) < 4 * res.std_error)
True
>>> est.effect("ATO").quantity
'ATO'
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..results import EffectEstimate
from ._base import BackdoorData, BaseEffectEstimator
from ._nuisance import (
    clip_bounds,
    crossfit_propensity,
    default_propensity_model,
    make_folds,
    standardize,
    trim_bounds,
)
from .diagnostics import backdoor_diagnostics, implied_weights, warn_positivity

__all__ = ["IPW", "prepare_scores", "weighted_arm_means"]


def prepare_scores(
    e_raw: np.ndarray, t: np.ndarray, quantity: str, clip: Any, trim: Any
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Trim (drop units) then clip scores; returns (clipped e, kept mask, description)."""
    keep = np.ones(len(e_raw), dtype=bool)
    info: dict[str, Any] = {}
    bounds = trim_bounds(trim, e_raw)
    if bounds is not None:
        keep = (e_raw >= bounds[0]) & (e_raw <= bounds[1])
        info["trim_bounds"] = bounds
        info["n_trimmed"] = {
            "treated": int((~keep & (t == 1)).sum()),
            "control": int((~keep & (t == 0)).sum()),
        }
        for arm in (0, 1):
            if int((keep & (t == arm)).sum()) < 2:
                raise ValueError(
                    f"trimming to [{bounds[0]:.3g}, {bounds[1]:.3g}] leaves fewer than 2 units in "
                    f"treatment group {arm}; use a smaller trim level"
                )
    lo, hi = clip_bounds(clip, quantity)
    # never let a score reach exactly 0 or 1 (infinite weights)
    lo, hi = max(lo, 1e-6), min(hi, 1 - 1e-6)
    e = np.clip(e_raw, lo, hi)
    info["clip_bounds"] = (lo, hi)
    info["n_clipped"] = int(((e_raw < lo) | (e_raw > hi))[keep].sum())
    return e, keep, info


def handling_text(info: dict[str, Any]) -> str:
    """Readable description of what was done about extreme scores."""
    lo, hi = info["clip_bounds"]
    text = f"Scores were clipped to [{lo:.3g}, {hi:.3g}] ({info['n_clipped']} units affected)"
    if "trim_bounds" in info:
        a, b = info["trim_bounds"]
        n = info["n_trimmed"]
        text += (
            f"; units outside [{a:.3g}, {b:.3g}] were dropped ({n['treated']} treated, "
            f"{n['control']} control), so the target is the trimmed population"
        )
    else:
        text += "; consider trim='crump' or the overlap-weighted effect('ATO')"
    return text + "."


def weighted_arm_means(
    y: np.ndarray, t: np.ndarray, w: np.ndarray, quantity: str, normalize: bool
) -> tuple[float, np.ndarray]:
    """Weighted difference of arm means and its influence function (scores ``e`` fixed).

    Hajek (``normalize``): each arm mean is sum(w y) / sum(w) over that arm. Horvitz-Thompson:
    divided by the size of the target population instead (n, n1 or n0).
    """
    n = len(y)
    t1 = (t == 1).astype(float)
    t0 = 1.0 - t1
    value = 0.0
    psi = np.zeros(n)
    for sign, arm in ((1.0, t1), (-1.0, t0)):
        wa = w * arm
        if normalize or quantity == "ATO":
            d = wa
        else:
            d = {"ATE": np.ones(n), "ATT": t1, "ATC": t0}[quantity]
        denom = d.sum()
        mean = float(wa @ y / denom)
        value += sign * mean
        psi += sign * n * (wa * y - mean * d) / denom
    return value, psi


class IPW(BaseEffectEstimator):
    """Inverse probability weighting estimator of the ATE, ATT, ATC and overlap-weighted ATO.

    Parameters
    ----------
    propensity_model : scikit-learn classifier with ``predict_proba`` (default: logistic
        regression on standardized covariates).
    normalize : Hajek (normalized, default) or Horvitz-Thompson weights.
    clip : ``"auto"`` (default: ATE [0.1, 0.9], ATT upper 0.99, ATC lower 0.01), ``None``,
        or ``c`` for [c, 1-c]. Clipping is reported in ``diagnostics``.
    trim : ``None``, a level ``a`` (drop units with e outside [a, 1-a]) or ``"crump"``
        (Crump et al. 2009 optimal level); trimming changes the target population.
    n_folds : 1 (default) fits the propensity model on all data; >1 cross-fits it.
    random_state : seed for folds and randomized learners.

    Standard errors come from the influence function with the scores held fixed, which is
    conservative for the ATE with a correctly specified propensity model (Hirano, Imbens &
    Ridder 2003); use ``bootstrap`` for intervals that include propensity estimation.
    Effect ``"ATO"`` uses the overlap weights of Li, Morgan & Zaslavsky (2018).
    """

    supported_quantities: ClassVar[tuple[str, ...]] = ("ATE", "ATT", "ATC", "ATO")

    def __init__(
        self,
        propensity_model: Any = None,
        normalize: bool = True,
        clip: Any = "auto",
        trim: Any = None,
        n_folds: int = 1,
        random_state: Any = 0,
    ) -> None:
        self.propensity_model = propensity_model
        self.normalize = normalize
        self.clip = clip
        self.trim = trim
        self.n_folds = n_folds
        self.random_state = random_state

    def _fit(self, data: BackdoorData) -> None:
        model = (
            default_propensity_model() if self.propensity_model is None else self.propensity_model
        )
        X = standardize(data.X)
        folds = make_folds(data.t, self.n_folds, self.random_state)
        self.propensity_ = crossfit_propensity(
            model, X, data.t, folds, self.n_folds, self.random_state
        )

    def _effect(self, quantity: str) -> EffectEstimate:
        data = self.data_
        e, keep, info = prepare_scores(self.propensity_, data.t, quantity, self.clip, self.trim)
        name = "IPW (Hajek)" if self.normalize or quantity == "ATO" else "IPW (Horvitz-Thompson)"
        sub = (lambda a: a) if keep.all() else (lambda a: a[keep])  # no copies when untrimmed
        warn_positivity(sub(self.propensity_), sub(data.t), quantity, name, handling_text(info))
        t, y = sub(data.t), sub(data.y)
        w = implied_weights(sub(e), t, quantity)
        value, psi = weighted_arm_means(y, t, w, quantity, self.normalize)
        n = int(keep.sum())
        se = float(np.sqrt(psi @ psi) / n)
        diag = backdoor_diagnostics(
            sub(data.X), t, data.covariate_names, sub(self.propensity_), w, **info
        )
        label = quantity if "trim_bounds" not in info else f"{quantity} (trimmed)"
        return EffectEstimate(
            value=value,
            std_error=se,
            quantity=label,
            method=name,
            n=n,
            estimand=data.estimand,
            diagnostics=diag,
        )
