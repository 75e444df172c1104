"""Outcome missing not at random, identified by a shadow variable (Miao & Tchetgen Tchetgen).

Selection may depend on the outcome itself: ``logit P(S=1 | C, Y) = C alpha + gamma Y``
(``C`` = intercept, covariates and treatment). This is not identified from ``(C, S, S*Y)``
alone; a *shadow variable* ``Z`` — fully observed, associated with ``Y`` given ``C``, and
independent of ``S`` given ``(C, Y)`` — identifies it (Miao & Tchetgen Tchetgen 2016,
Biometrika 103(2); d'Haultfoeuille 2010). Since ``E[S / P(S=1|C,Y) | C, Z] = 1``, the
parameters solve the estimating equations ``E[(S / pi(C, Y) - 1) h(C, Z)] = 0`` with
``h = (1, C, Z)``; the outcome mean and treatment effects follow by weighting the selected
units with ``1 / pi``. This is the inverse-probability-weighted member of their family,
consistent when the selection model is correct (the doubly robust variant, which also needs
an outcome model, is not implemented). Standard errors: sandwich of the stacked equations.

>>> from deepcause.simulate import make_selection
>>> ds = make_selection(4000, mechanism="outcome", random_state=0)
>>> est = ShadowVariableEstimator().fit(ds.data, outcome="y", selection="s",
...                                     instruments=["w"], covariates=["x"])
>>> m = est.mean()
>>> naive = ds.data.loc[ds.data.s == 1, "y"].mean()
>>> bool(abs(m.value - ds.truth["E[Y]"]) < 3 * m.std_error < abs(naive - ds.truth["E[Y]"]))
True
"""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import expit

from ..._parameters import Interval
from ...exceptions import DataValidationError
from ._common import SelectionData, logistic_fit, resolve_selection_data
from .ipsw import _WeightedSelection

__all__ = ["ShadowVariableEstimator"]


class ShadowVariableEstimator(_WeightedSelection):
    """Selection-on-the-outcome weighting identified by a shadow variable.

    ``fit(data, *, outcome=, selection=, instruments=[shadow], covariates=(), treatment=None)``:
    the shadow variable is passed as the one ``instruments`` column (a "nonresponse
    instrument", d'Haultfoeuille 2010): fully observed, associated with the outcome given the
    covariates, and independent of selection given covariates and outcome. ``mean()`` is
    ``E[Y]`` over every unit; with a binary ``treatment``, ``mean(treatment=t)`` is ``E[Y(t)]``
    and ``effect(treatment=1, control=0)`` the ATE.

    Parameters
    ----------
    max_iter : int, default 200
        Scales the function-evaluation budget of the root finder.

    Attributes
    ----------
    selection_coef_ : pandas.Series
        ``alpha`` for the covariates (and treatment) and ``gamma`` for the outcome (index: the
        outcome's name).
    shadow_tstat_ : float
        |t| of the shadow variable in the regression of the outcome on it among the selected.
    selection_weights_, effective_sample_size_, cov_
        As in :class:`~deepcause.estimate.selection.SelectionIPW`.

    Raises
    ------
    DataValidationError
        When the shadow variable is not associated with the outcome among the selected (then
        the equations do not identify ``gamma``).

    Examples
    --------
    >>> from deepcause.simulate import make_selection
    >>> ds = make_selection(6000, mechanism="outcome", random_state=8)
    >>> sh = ShadowVariableEstimator().fit(ds.data, outcome="y", selection="s",
    ...                                    instruments=["w"], covariates=["x"], treatment="t")
    >>> eff = sh.effect(treatment=1, control=0)
    >>> bool(abs(eff.value - ds.truth["ATE"]) < 3 * eff.std_error)
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }
    method_name: ClassVar[str] = "shadow variable IPW"

    def __init__(self, max_iter: int = 200) -> None:
        self.max_iter = max_iter

    def _prepare(self, data: Any, estimand: Any, **roles: Any) -> SelectionData:
        self._refuse_estimand(estimand)
        shadow = roles.get("instruments")
        shadow = [shadow] if isinstance(shadow, str) else list(shadow or [])
        if len(shadow) != 1:
            raise DataValidationError(
                f"ShadowVariableEstimator needs one shadow variable as instruments=['w'] (fully "
                f"observed, predicts the outcome, no effect on selection given it); got {shadow}"
            )
        return resolve_selection_data(data, **roles)

    def _check_relevance(self, C: np.ndarray, zs: np.ndarray) -> None:
        """The shadow variable must predict Y given C among the selected."""
        sel = self._s == 1
        Xr = np.column_stack([C[sel], zs[sel]])
        coef, *_ = np.linalg.lstsq(Xr, self._y[sel], rcond=None)
        resid = self._y[sel] - Xr @ coef
        cov = np.linalg.pinv(Xr.T @ Xr) * (resid @ resid / max(sel.sum() - Xr.shape[1], 1))
        self.shadow_tstat_ = float(abs(coef[-1]) / np.sqrt(cov[-1, -1]))
        if self.shadow_tstat_ < 2.0:
            d = self.data_
            raise DataValidationError(
                f"shadow variable {d.instrument_names[0]!r} is not associated with "
                f"{d.outcome!r} among the selected units (|t| = {self.shadow_tstat_:.2f} < 2): "
                "it cannot identify selection on the outcome. A shadow variable must predict "
                "the outcome."
            )

    def _fit_selection(self, data: SelectionData) -> None:
        C = self._C if self._t is None else np.column_stack([self._C, self._t])
        zs = data.Z[:, 0]
        self._check_relevance(C, zs)
        self._D = np.column_stack([C, np.zeros(len(C))])  # last column replaced by y
        self._H = np.column_stack([C, zs])
        start = np.concatenate([logistic_fit(C, self._s), [0.0]])
        sol = optimize.root(
            lambda th: self._selection_psi(th).mean(0),
            start,
            method="hybr",
            options={"maxfev": 200 * len(start) * self.max_iter},
        )
        if not sol.success or np.max(np.abs(sol.fun)) > 1e-7:
            sol = optimize.least_squares(
                lambda th: self._selection_psi(th).mean(0),
                start,
                method="lm",
                xtol=1e-12,
                ftol=1e-12,
                max_nfev=200 * self.max_iter,
            )
            if np.max(np.abs(sol.fun)) > 1e-6:
                raise DataValidationError(
                    "the shadow-variable estimating equations have no solution here (weak "
                    "shadow variable or selection probabilities near 0); check that the "
                    "shadow variable is strongly related to the outcome"
                )
        self._theta_sel = sol.x
        treat = [str(data.treatment)] if self._t is not None else []
        names = ["const", *data.covariate_names, *treat, data.outcome]
        self.selection_coef_ = pd.Series(sol.x, index=names)

    def _selection_prob(self, theta: np.ndarray) -> np.ndarray:
        return expit(self._D[:, :-1] @ theta[:-1] + theta[-1] * self._y)

    def _selection_psi(self, theta: np.ndarray) -> np.ndarray:
        pi = self._selection_prob(theta)
        r = np.where(self._s == 1, self._s / pi, 0.0) - 1.0
        return self._H * r[:, None]
