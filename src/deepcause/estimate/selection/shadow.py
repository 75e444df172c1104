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
...                                     shadow="w", covariates=["x"])
>>> m = est.mean_outcome()
>>> naive = ds.data.loc[ds.data.s == 1, "y"].mean()
>>> bool(abs(m.value - ds.truth["E[Y]"]) < 3 * m.std_error < abs(naive - ds.truth["E[Y]"]))
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import expit

from ...exceptions import DataValidationError
from ._common import logistic_fit
from .ipsw import _WeightedSelection

__all__ = ["ShadowVariableEstimator"]


class ShadowVariableEstimator(_WeightedSelection):
    """Selection-on-the-outcome weighting identified by a shadow variable.

    Fitted attributes: ``selection_coef_`` (``alpha`` for the covariates and ``gamma`` for the
    outcome, index ``outcome``), ``selection_weights_``, ``effective_sample_size_``, ``cov_``.
    Raises when the shadow variable is not associated with the outcome among the selected
    (then the equations do not identify ``gamma``).
    """

    _name = "shadow variable IPW"

    def __init__(self, max_iter: int = 200) -> None:
        self.max_iter = max_iter

    def fit(
        self,
        data: pd.DataFrame,
        outcome: str,
        selection: str,
        shadow: str,
        covariates: Sequence[str] = (),
        treatment: str | None = None,
    ) -> ShadowVariableEstimator:
        """Fit; ``shadow`` is one fully observed column, not among the covariates."""
        if not isinstance(shadow, str):
            raise DataValidationError(f"shadow must be one column name; got {shadow!r}")
        if shadow in covariates or shadow in (outcome, selection, treatment):
            raise DataValidationError(
                f"shadow variable {shadow!r} must not also be a covariate, the outcome, the "
                "selection indicator or the treatment"
            )
        df = self._prepare(data, outcome, selection, covariates, treatment, extra=[shadow])
        C = self._C if self._t is None else np.column_stack([self._C, self._t])
        zs = df[shadow].to_numpy(dtype=float)
        sel = self._s == 1
        # relevance: Z must predict Y given C among the selected
        Xr = np.column_stack([C[sel], zs[sel]])
        coef, *_ = np.linalg.lstsq(Xr, self._y[sel], rcond=None)
        resid = self._y[sel] - Xr @ coef
        cov = np.linalg.pinv(Xr.T @ Xr) * (resid @ resid / max(sel.sum() - Xr.shape[1], 1))
        tstat = abs(coef[-1]) / np.sqrt(cov[-1, -1])
        self.shadow_tstat_ = float(tstat)
        if tstat < 2.0:
            raise DataValidationError(
                f"shadow variable {shadow!r} is not associated with {outcome!r} among the "
                f"selected units (|t| = {tstat:.2f} < 2): it cannot identify selection on the "
                "outcome. A shadow variable must predict the outcome."
            )
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
        names = ["const", *self._c_names[1:], *([treatment] if treatment else []), outcome]
        self.selection_coef_ = pd.Series(sol.x, index=names)
        self._finish()
        return self

    def _selection_prob(self, theta: np.ndarray) -> np.ndarray:
        return expit(self._D[:, :-1] @ theta[:-1] + theta[-1] * self._y)

    def _selection_psi(self, theta: np.ndarray) -> np.ndarray:
        pi = self._selection_prob(theta)
        r = np.where(self._s == 1, self._s / pi, 0.0) - 1.0
        return self._H * r[:, None]
