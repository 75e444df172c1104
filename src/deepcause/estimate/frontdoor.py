"""Regression-based front-door estimation (discrete treatment, any mediators and outcome).

The front-door formula ``E[Y | do(x)] = sum_x' P(x') E_{M | x}[ E[Y | M, x'] ]`` is estimated by

1. an outcome regression ``Q(m, x') = E[Y | M = m, X = x']`` (exact cell means when every
   mediator is discrete, otherwise a regression on the mediators and the one-hot treatment with
   their interactions, or any scikit-learn regressor you pass),
2. the empirical distribution of the mediators among units with ``X = x`` (no mediator model to
   misspecify), and
3. the empirical ``P(x')``:
   ``E[Y | do(x)] = sum_x' P(x') mean_{i: X_i = x} Q(M_i, x')``.

Intervals: nonparametric bootstrap of the whole procedure.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> u = rng.normal(size=3000)
>>> x = (u + rng.normal(size=3000) > 0).astype(int)
>>> m = 2 * x + rng.normal(size=3000)
>>> y = 1.5 * m + 2 * u + rng.normal(size=3000)
>>> df = pd.DataFrame({"X": x, "M": m, "Y": y})
>>> fd = FrontDoor(n_boot=50, random_state=0).fit(df, treatment="X", outcome="Y", mediators=["M"])
>>> round(fd.ate().value, 1)  # truth 2 * 1.5 = 3
3.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LinearRegression

from .._validation import check_finite, require_columns, require_dataframe
from ..exceptions import DataValidationError, EstimandNotSupportedError, NotFittedError
from ..results import EffectEstimate
from ._base import _kind_error
from ._nuisance import seeded

__all__ = ["FrontDoor"]


class FrontDoor(BaseEstimator):
    """Front-door adjustment with an outcome regression and empirical mediator distributions.

    Parameters
    ----------
    outcome_model : ``"auto"`` (cell means for discrete mediators, else linear regression on
        mediators, one-hot treatment and their interactions) or a scikit-learn regressor fitted
        on ``[mediators, one-hot treatment]``.
    n_boot : bootstrap replicates for standard errors and percentile intervals (0 = none).
    max_levels : mediators with at most this many distinct values count as discrete.
    random_state : seed of the bootstrap and the outcome model.
    """

    supported_kinds = ("frontdoor",)

    def __init__(
        self,
        outcome_model: Any = "auto",
        n_boot: int = 200,
        max_levels: int = 20,
        random_state: Any = None,
    ) -> None:
        self.outcome_model = outcome_model
        self.n_boot = n_boot
        self.max_levels = max_levels
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        data: pd.DataFrame,
        estimand: Any = None,
        *,
        treatment: str | None = None,
        outcome: str | None = None,
        mediators: Sequence[str] | None = None,
    ) -> FrontDoor:
        """Fit on ``(df, estimand)`` with a front-door estimand, or on column names."""
        df = require_dataframe(data)
        if estimand is not None:
            kind = getattr(estimand, "kind", None)
            if kind != "frontdoor":
                raise _kind_error("FrontDoor", str(kind), self.supported_kinds)
            if len(estimand.treatment) != 1 or len(estimand.outcome) != 1:
                raise EstimandNotSupportedError(
                    "FrontDoor handles one treatment and one outcome; use PlugIn"
                )
            treatment, outcome = estimand.treatment[0], estimand.outcome[0]
            mediators = list(estimand.mediators or ())
        if treatment is None or outcome is None or not mediators:
            raise DataValidationError(
                "FrontDoor.fit needs a front-door estimand or treatment=, outcome= and "
                "mediators= column names"
            )
        mediators = list(mediators)
        require_columns(df, [treatment], role="treatment")
        require_columns(df, [outcome], role="outcome")
        require_columns(df, mediators, role="mediator")
        check_finite(df, [outcome, *mediators])
        if not pd.api.types.is_numeric_dtype(df[outcome]):
            raise DataValidationError(f"outcome {outcome!r} must be numeric; encode it first")
        levels = pd.unique(df[treatment])
        if len(levels) > self.max_levels:
            raise DataValidationError(
                f"FrontDoor needs a discrete treatment; {treatment!r} has {len(levels)} distinct "
                "values. Discretize it or use a continuous-treatment estimator."
            )
        self.treatment_, self.outcome_, self.mediators_ = treatment, outcome, tuple(mediators)
        self.estimand_ = estimand
        self.levels_ = np.sort(levels)
        self.codes_ = np.searchsorted(self.levels_, df[treatment].to_numpy())
        self.M_ = df[mediators].to_numpy(dtype=float)
        self.y_ = df[outcome].to_numpy(dtype=float)
        self.discrete_ = all(df[m].nunique() <= self.max_levels for m in mediators)
        self.means_ = self._means(np.arange(len(df)))
        return self

    # ------------------------------------------------------------------ core
    def _features(self, M: np.ndarray, codes: np.ndarray, interactions: bool) -> np.ndarray:
        onehot = np.eye(len(self.levels_))[codes][:, 1:]
        parts = [M, onehot]
        if interactions:
            parts.append((M[:, :, None] * onehot[:, None, :]).reshape(len(M), -1))
        return np.hstack(parts)

    def _q_matrix(self, idx: np.ndarray) -> np.ndarray:
        """``Q[i, k] = E[Y | M_i, X = level k]`` for the units ``idx`` (fitted on ``idx``)."""
        M, codes, y = self.M_[idx], self.codes_[idx], self.y_[idx]
        K = len(self.levels_)
        if self.outcome_model == "auto" and self.discrete_:
            cells = np.unique(M, axis=0, return_inverse=True)[1].ravel()
            n_cells = cells.max() + 1
            flat = cells * K + codes
            sums = np.bincount(flat, weights=y, minlength=n_cells * K).reshape(n_cells, K)
            counts = np.bincount(flat, minlength=n_cells * K).reshape(n_cells, K)
            if (counts == 0).any():
                raise DataValidationError(
                    "positivity violation: some mediator value never occurs together with some "
                    f"treatment value of {self.treatment_!r}; the front-door formula needs "
                    "P(M = m, X = x') > 0 for all m, x'"
                )
            return (sums / counts)[cells]
        if self.outcome_model == "auto":
            model = LinearRegression()
            interactions = True
        else:
            model = seeded(clone(self.outcome_model), self.random_state)
            interactions = False
        model.fit(self._features(M, codes, interactions), y)
        Q = np.empty((len(idx), K))
        for k in range(K):
            Q[:, k] = model.predict(self._features(M, np.full(len(idx), k), interactions))
        return Q

    def _means(self, idx: np.ndarray) -> np.ndarray:
        """``E[Y | do(X = level k)]`` for every level ``k`` on the units ``idx``."""
        codes = self.codes_[idx]
        K = len(self.levels_)
        counts = np.bincount(codes, minlength=K).astype(float)
        if (counts == 0).any():
            raise DataValidationError("a treatment level has no units in the sample")
        px = counts / counts.sum()
        inner = self._q_matrix(idx) @ px  # sum_x' P(x') Q(M_i, x')
        return np.bincount(codes, weights=inner, minlength=K) / counts

    def _boot(self) -> np.ndarray | None:
        if not self.n_boot:
            return None
        rng = np.random.default_rng(self.random_state)
        n = len(self.y_)
        draws = np.full((self.n_boot, len(self.levels_)), np.nan)
        for b in range(self.n_boot):
            try:
                draws[b] = self._means(rng.integers(0, n, n))
            except DataValidationError:
                continue
        return draws

    # ------------------------------------------------------------------ results
    def _check_fitted(self) -> None:
        if not hasattr(self, "means_"):
            raise NotFittedError("FrontDoor is not fitted yet; call fit() first")

    def _level(self, value: Any) -> int:
        hits = np.flatnonzero(self.levels_ == value)
        if hits.size == 0:
            raise DataValidationError(
                f"treatment value {value!r} of {self.treatment_!r} is not in the data "
                f"(levels: {self.levels_.tolist()})"
            )
        return int(hits[0])

    def _result(self, weights: np.ndarray, quantity: str) -> EffectEstimate:
        if not hasattr(self, "boot_"):
            self.boot_ = self._boot()
        draws = None if self.boot_ is None else self.boot_ @ weights
        if draws is not None:
            draws = draws[np.isfinite(draws)]
        se = float(np.std(draws, ddof=1)) if draws is not None and draws.size > 1 else None
        return EffectEstimate(
            value=float(self.means_ @ weights),
            std_error=se,
            quantity=quantity,
            method="FrontDoor",
            n=len(self.y_),
            estimand=self.estimand_,
            bootstrap=draws if se is not None else None,
            diagnostics={"mediators": self.mediators_, "discrete_mediators": self.discrete_},
        )

    def mean(self, value: Any) -> EffectEstimate:
        """``E[Y | do(X = value)]``."""
        self._check_fitted()
        w = np.zeros(len(self.levels_))
        w[self._level(value)] = 1.0
        return self._result(w, f"E[{self.outcome_} | do({self.treatment_}={value})]")

    def effect(self, treatment: Any = 1, control: Any = 0) -> EffectEstimate:
        """``E[Y | do(X = treatment)] - E[Y | do(X = control)]``."""
        self._check_fitted()
        w = np.zeros(len(self.levels_))
        w[self._level(treatment)] += 1.0
        w[self._level(control)] -= 1.0
        return self._result(
            w,
            "ATE"
            if (treatment, control) == (1, 0)
            else f"E[{self.outcome_} | do({treatment})] - E[{self.outcome_} | do({control})]",
        )

    def ate(self) -> EffectEstimate:
        """``E[Y | do(X = 1)] - E[Y | do(X = 0)]`` for a 0/1 treatment."""
        return self.effect(1, 0)
