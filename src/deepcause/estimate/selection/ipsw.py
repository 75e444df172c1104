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
>>> m = est.mean_outcome()
>>> bool(abs(m.value - ds.truth["E[Y]"]) < 3 * m.std_error)
True
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator

from ..._validation import check_binary, check_group_sizes
from ...exceptions import DataValidationError, NotFittedError, PositivityWarning
from ...results import EffectEstimate
from ._common import design, logistic_fit, resolve_selection_data, sandwich

__all__ = ["SelectionIPW"]


class _WeightedSelection(BaseEstimator):
    """Shared machinery: selection weights from a subclass, treatment weights, Hajek means.

    Subclasses implement ``_fit_selection()`` setting ``self._theta_sel`` and
    ``_selection_psi(theta) -> (n, k)`` / ``_selection_prob(theta) -> (n,)`` (probabilities
    only needed where ``s == 1``).
    """

    _name = "weighting"

    def _prepare(
        self,
        data: pd.DataFrame,
        outcome: str,
        selection: str,
        covariates: Sequence[str],
        treatment: str | None,
        extra: Sequence[str] = (),
    ) -> pd.DataFrame:
        used = [*covariates, *([treatment] if treatment else []), *extra]
        df, sd = resolve_selection_data(data, outcome, selection, used)
        self._s = sd.s.astype(float)
        self._y = np.where(sd.s == 1, sd.y, 0.0)
        self._C, self._c_names = design(df, covariates, "covariate")
        self._t = None
        if treatment is not None:
            if treatment in covariates:
                raise DataValidationError(
                    f"treatment {treatment!r} is also listed among covariates; list it once"
                )
            self._t = check_binary(df[treatment].to_numpy(), name=f"treatment {treatment!r}")
            check_group_sizes(self._t[sd.s == 1], name=f"treatment {treatment!r} (selected)")
        self.outcome_, self.selection_, self.treatment_ = outcome, selection, treatment
        self.n_, self.n_selected_ = len(df), int(sd.s.sum())
        return df

    # ---------------------------------------------------------------- stacked equations
    def _finish(self) -> None:
        theta_s = self._theta_sel
        k_s = len(theta_s)
        if self._t is not None:
            alpha = logistic_fit(self._C, self._t)
            e = expit(self._C @ alpha)
            if np.min(np.minimum(e, 1 - e)) < 0.01:
                warnings.warn(
                    f"treatment propensity of {self.treatment_!r} is below 0.01 or above 0.99 "
                    "for some units; the weighted effect is unstable there (limited overlap).",
                    PositivityWarning,
                    stacklevel=3,
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
                stacklevel=3,
            )
        self.selection_weights_ = w
        self.effective_sample_size_ = float(w.sum() ** 2 / np.sum(w * w))
        means = self._hajek(w, alpha)
        self._theta = np.concatenate([theta_s, alpha, means])
        self._k = (k_s, len(alpha))
        self.cov_ = sandwich(self._psi, self._theta)

    def _arm_weights(self, alpha: np.ndarray) -> list[np.ndarray]:
        if self._t is None:
            return [np.ones_like(self._s)]
        e = expit(self._C @ alpha)
        return [(self._t == 0) / (1 - e), (self._t == 1) / e]

    def _hajek(self, w: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        return np.array([np.sum(w * a * self._y) / np.sum(w * a) for a in self._arm_weights(alpha)])

    def _psi(self, theta: np.ndarray) -> np.ndarray:
        k_s, k_t = self._k
        th_s, alpha, means = theta[:k_s], theta[k_s : k_s + k_t], theta[k_s + k_t :]
        parts = [self._selection_psi(th_s)]
        if k_t:
            parts.append(self._C * (self._t - expit(self._C @ alpha))[:, None])
        pi = self._selection_prob(th_s)
        w = self._s / np.where(self._s == 1, pi, 1.0)
        arms = self._arm_weights(alpha)
        parts.append(np.column_stack([w * a * (self._y - m) for a, m in zip(arms, means)]))
        return np.column_stack(parts)

    # ---------------------------------------------------------------- results
    def _check(self) -> None:
        if not hasattr(self, "cov_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit() first")

    def _estimate(self, value: float, var: float, quantity: str) -> EffectEstimate:
        return EffectEstimate(
            value=value,
            std_error=float(np.sqrt(max(var, 0.0))),
            quantity=quantity,
            method=self._name,
            n=self.n_,
            diagnostics={
                "n_selected": self.n_selected_,
                "effective_sample_size": self.effective_sample_size_,
            },
        )

    def mean_outcome(self) -> EffectEstimate:
        """Population mean ``E[Y]`` of the outcome (over all rows, selected or not)."""
        self._check()
        if self._t is not None:
            return self._mean_with_treatment()
        return self._estimate(
            float(self._theta[-1]), float(self.cov_[-1, -1]), f"E[{self.outcome_}]"
        )

    def _mean_with_treatment(self) -> EffectEstimate:
        # E[Y] under the observed treatment: Hajek mean with selection weights only
        w = self.selection_weights_
        value = float(np.sum(w * self._y) / np.sum(w))
        k_s = self._k[0]

        def psi(theta: np.ndarray) -> np.ndarray:
            th_s, m = theta[:k_s], theta[-1]
            pi = self._selection_prob(th_s)
            ww = self._s / np.where(self._s == 1, pi, 1.0)
            return np.column_stack([self._selection_psi(th_s), ww * (self._y - m)])

        cov = sandwich(psi, np.concatenate([self._theta[:k_s], [value]]))
        return self._estimate(value, float(cov[-1, -1]), f"E[{self.outcome_}]")

    def potential_outcome_means(self) -> tuple[EffectEstimate, EffectEstimate]:
        """``E[Y(0)]`` and ``E[Y(1)]`` over the whole population (needs ``treatment``)."""
        self._need_treatment()
        return tuple(  # type: ignore[return-value]
            self._estimate(
                float(self._theta[i]),
                float(self.cov_[i, i]),
                f"E[{self.outcome_}|do({self.treatment_}={t})]",
            )
            for i, t in ((-2, 0), (-1, 1))
        )

    def effect(self, quantity: str = "ATE") -> EffectEstimate:
        """Average treatment effect ``E[Y(1)] - E[Y(0)]`` over the whole population."""
        self._need_treatment()
        if quantity != "ATE":
            raise DataValidationError(
                f"{type(self).__name__} estimates the ATE only, not {quantity!r}"
            )
        c = np.zeros(len(self._theta))
        c[-1], c[-2] = 1.0, -1.0
        return self._estimate(
            float(self._theta[-1] - self._theta[-2]), float(c @ self.cov_ @ c), "ATE"
        )

    def _need_treatment(self) -> None:
        self._check()
        if self._t is None:
            raise DataValidationError(
                f"{type(self).__name__} was fitted without a treatment; pass treatment= to fit"
            )


class SelectionIPW(_WeightedSelection):
    """Inverse probability of selection weighting (selection ignorable given covariates).

    ``P(S=1 | covariates, treatment)`` is a logistic regression (``ridge`` > 0 adds an L2
    penalty on the slopes, in which case the sandwich standard errors are approximate).
    Fitted attributes: ``selection_coef_``, ``selection_weights_``,
    ``effective_sample_size_`` (Kish: ``(sum w)^2 / sum w^2`` over the selected), ``cov_``.
    """

    _name = "IPSW"

    def __init__(self, ridge: float = 0.0) -> None:
        self.ridge = ridge

    def fit(
        self,
        data: pd.DataFrame,
        outcome: str,
        selection: str,
        covariates: Sequence[str],
        treatment: str | None = None,
    ) -> SelectionIPW:
        """Fit; ``covariates`` (and ``treatment``) must make selection ignorable."""
        self._prepare(data, outcome, selection, covariates, treatment)
        Z, names = self._C, list(self._c_names)
        if self._t is not None:
            Z, names = np.column_stack([Z, self._t]), [*names, treatment]
        self._Z = Z
        self._theta_sel = logistic_fit(Z, self._s, ridge=float(self.ridge))
        self.selection_coef_ = pd.Series(self._theta_sel, index=names)
        self._finish()
        return self

    def _selection_prob(self, theta: np.ndarray) -> np.ndarray:
        return expit(self._Z @ theta)

    def _selection_psi(self, theta: np.ndarray) -> np.ndarray:
        resid = self._s - expit(self._Z @ theta)
        out = self._Z * resid[:, None]
        if self.ridge:
            out[:, 1:] -= float(self.ridge) * theta[1:] / len(self._s)
        return out
