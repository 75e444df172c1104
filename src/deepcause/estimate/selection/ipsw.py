"""Inverse-probability-of-selection weighting when selection is ignorable given covariates.

If ``S`` is independent of ``Y`` given covariates ``C`` (missing at random), then
``E[Y] = E[S Y / P(S=1 | C)]``. With a treatment ``T`` among the conditioning variables and
``C`` sufficient for confounding, ``E[Y(t)]`` is estimated by also weighting with
``1 / P(T=t | C)``. Both probabilities are logistic regressions; standard errors come from the
sandwich of the stacked estimating equations (they account for the estimated weights).

>>> from deepcause.simulate import make_selection
>>> ds = make_selection(4000, mechanism="mar", random_state=0)
>>> est = SelectionIPW().fit(ds.data, outcome="y", selection="s", covariates=["x", "z"],
...                          treatment="t")
>>> m = est.mean()
>>> bool(abs(m.value - ds.truth["E[Y]"]) < 3 * m.std_error), m.query
(True, 'E[y]')
"""

from __future__ import annotations

import warnings
from numbers import Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import expit

from ..._parameters import Interval
from ..._validation import check_binary, check_group_sizes
from ...exceptions import DataValidationError, PositivityWarning
from ._common import (
    SelectionData,
    SelectionEstimator,
    logistic_fit,
    resolve_selection_data,
    sandwich,
)

__all__ = ["SelectionIPW"]


class _WeightedSelection(SelectionEstimator):
    """Shared machinery: selection weights from a subclass, treatment weights, Hajek means.

    Subclasses implement ``_fit_selection(data)`` setting ``self._theta_sel`` and
    ``selection_coef_``, and ``_selection_psi(theta) -> (n, k)`` /
    ``_selection_prob(theta) -> (n,)`` (probabilities only needed where ``s == 1``).
    """

    def _fit_prepared(self, data: SelectionData) -> None:
        self._s = data.s.astype(float)
        self._y = np.where(data.s == 1, data.y, 0.0)
        self._C = data.C
        self._t = None
        if data.t is not None:
            self._t = check_binary(data.t, name=f"treatment {data.treatment!r}")
            check_group_sizes(self._t[data.s == 1], name=f"treatment {data.treatment!r} (selected)")
        self._fit_selection(data)
        self._finish()

    def _fit_selection(self, data: SelectionData) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _selection_prob(self, theta: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _selection_psi(self, theta: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    # ---------------------------------------------------------------- stacked equations
    def _finish(self) -> None:
        theta_s = self._theta_sel
        if self._t is not None:
            alpha = logistic_fit(self._C, self._t)
            e = expit(self._C @ alpha)
            if np.min(np.minimum(e, 1 - e)) < 0.01:
                warnings.warn(
                    f"treatment propensity of {self.data_.treatment!r} is below 0.01 or above "
                    "0.99 for some units; the weighted effect is unstable there (limited "
                    "overlap).",
                    PositivityWarning,
                    stacklevel=4,
                )
        else:
            alpha = np.empty(0)
        pi = self._selection_prob(theta_s)
        w = self._s / np.where(self._s == 1, pi, 1.0)
        if np.any((self._s == 1) & (pi < 0.01)):
            warnings.warn(
                "some selected units have an estimated selection probability below 0.01; "
                "their weights dominate the estimate (limited overlap of selected and "
                "unselected units).",
                PositivityWarning,
                stacklevel=4,
            )
        self.selection_weights_ = w
        self.effective_sample_size_ = float(w.sum() ** 2 / np.sum(w * w))
        means = self._hajek(w, alpha)
        self._theta = np.concatenate([theta_s, alpha, means])
        self._k = (len(theta_s), len(alpha))
        self.cov_ = sandwich(self._psi, self._theta)

    def _arm_weights(self, alpha: np.ndarray) -> list[np.ndarray]:
        if self._t is None:
            return [np.ones_like(self._s)]
        e = expit(self._C @ alpha)
        return [(self._t == 0) / (1 - e), (self._t == 1) / e]

    def _hajek(self, w: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        return np.array([np.sum(w * a * self._y) / np.sum(w * a) for a in self._arm_weights(alpha)])

    def _weights(self, theta_s: np.ndarray) -> np.ndarray:
        pi = self._selection_prob(theta_s)
        return self._s / np.where(self._s == 1, pi, 1.0)

    def _psi(self, theta: np.ndarray) -> np.ndarray:
        k_s, k_t = self._k
        th_s, alpha, means = theta[:k_s], theta[k_s : k_s + k_t], theta[k_s + k_t :]
        parts = [self._selection_psi(th_s)]
        if k_t:
            parts.append(self._C * (self._t - expit(self._C @ alpha))[:, None])
        w = self._weights(th_s)
        arms = self._arm_weights(alpha)
        parts.append(np.column_stack([w * a * (self._y - m) for a, m in zip(arms, means)]))
        return np.column_stack(parts)

    # ---------------------------------------------------------------- results
    def _diagnostics(self) -> dict[str, Any]:
        return {
            "n_selected": int(self._s.sum()),
            "ess": {"selected": self.effective_sample_size_},
        }

    @staticmethod
    def _arm(value: Any) -> int:
        if value not in (0, 1):
            raise DataValidationError(
                f"the treatment is binary: treatment= and control= must be 0 or 1, got {value!r}"
            )
        return int(value)

    def _mean_estimate(self, t: Any) -> tuple[float, float]:
        if t is not None:
            i = self._arm(t) - 2  # E[Y(0)], E[Y(1)] are the last two parameters
            return float(self._theta[i]), float(self.cov_[i, i])
        if self._t is None:
            return float(self._theta[-1]), float(self.cov_[-1, -1])
        # E[Y] under the observed treatment: Hajek mean with selection weights only
        w = self.selection_weights_
        value = float(np.sum(w * self._y) / np.sum(w))
        k_s = self._k[0]

        def psi(theta: np.ndarray) -> np.ndarray:
            th_s, m = theta[:k_s], theta[-1]
            return np.column_stack([self._selection_psi(th_s), self._weights(th_s) * (self._y - m)])

        cov = sandwich(psi, np.concatenate([self._theta[:k_s], [value]]))
        return value, float(cov[-1, -1])

    def _effect_estimate(self, t1: Any, t0: Any) -> tuple[float, float]:
        c = np.zeros(len(self._theta))
        c[self._arm(t1) - 2] += 1.0
        c[self._arm(t0) - 2] -= 1.0
        return float(c @ self._theta), float(c @ self.cov_ @ c)


class SelectionIPW(_WeightedSelection):
    """Inverse probability of selection weighting (selection ignorable given covariates).

    ``fit(data, *, outcome=, selection=, covariates=, treatment=None)``: ``covariates`` (and
    the treatment) must make selection ignorable; with a binary ``treatment`` they must also
    suffice for confounding, and ``effect(treatment=1, control=0)`` is the population ATE.
    ``mean()`` is ``E[Y]`` over every unit, ``mean(treatment=t)`` ``E[Y(t)]``.

    Parameters
    ----------
    ridge : float, default 0
        L2 penalty on the slopes of the selection logistic regression (with ``ridge > 0`` the
        sandwich standard errors are approximate).

    Attributes
    ----------
    selection_coef_ : pandas.Series
        Coefficients of ``P(S=1 | covariates, treatment)``.
    selection_weights_ : ndarray
        ``S / P(S=1 | ...)`` per unit.
    effective_sample_size_ : float
        Kish ``(sum w)^2 / sum w^2`` over the selected.
    cov_ : ndarray
        Sandwich covariance of the stacked parameters.

    Examples
    --------
    >>> from deepcause.simulate import make_selection
    >>> ds = make_selection(4000, mechanism="mar", random_state=1)
    >>> est = SelectionIPW().fit(ds.data, outcome="y", selection="s", covariates=["x", "z"],
    ...                          treatment="t")
    >>> eff = est.effect(treatment=1, control=0)
    >>> bool(abs(eff.value - ds.truth["ATE"]) < 3 * eff.std_error)
    True
    """

    _roles: ClassVar[tuple[str, ...]] = ("treatment", "outcome", "covariates", "selection")
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "ridge": [Interval(Real, 0, None, closed="left")],
    }
    method_name: ClassVar[str] = "IPSW"

    def __init__(self, ridge: float = 0.0) -> None:
        self.ridge = ridge

    def _prepare(self, data: Any, estimand: Any, **roles: Any) -> SelectionData:
        self._refuse_estimand(estimand)
        return resolve_selection_data(data, **roles)

    def _fit_selection(self, data: SelectionData) -> None:
        Z, names = self._C, ["const", *data.covariate_names]
        if self._t is not None:
            Z, names = np.column_stack([Z, self._t]), [*names, str(data.treatment)]
        self._Z = Z
        self._theta_sel = logistic_fit(Z, self._s, ridge=float(self.ridge))
        self.selection_coef_ = pd.Series(self._theta_sel, index=names)

    def _selection_prob(self, theta: np.ndarray) -> np.ndarray:
        return expit(self._Z @ theta)

    def _selection_psi(self, theta: np.ndarray) -> np.ndarray:
        resid = self._s - expit(self._Z @ theta)
        out = self._Z * resid[:, None]
        if self.ridge:
            out[:, 1:] -= float(self.ridge) * theta[1:] / len(self._s)
        return out
