"""Regression-based front-door estimation (discrete treatment, any mediators and outcome).

The front-door formula ``E[Y | do(x)] = sum_x' P(x') E_{M | x}[ E[Y | M, x'] ]`` is estimated by

1. an outcome regression ``Q(m, x') = E[Y | M = m, X = x']`` (exact cell means when every
   mediator is discrete, otherwise a regression on the mediators and the one-hot treatment with
   their interactions, or any scikit-learn regressor you pass),
2. the empirical distribution of the mediators among units with ``X = x`` (no mediator model to
   misspecify), and
3. the empirical ``P(x')``:
   ``E[Y | do(x)] = sum_x' P(x') mean_{i: X_i = x} Q(M_i, x')``.

Intervals: :meth:`FrontDoor.bootstrap` refits the whole procedure on resampled rows.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> u = rng.normal(size=3000)
>>> x = (u + rng.normal(size=3000) > 0).astype(int)
>>> m = 2 * x + rng.normal(size=3000)
>>> y = 1.5 * m + 2 * u + rng.normal(size=3000)
>>> df = pd.DataFrame({"X": x, "M": m, "Y": y})
>>> fd = FrontDoor().fit(df, treatment="X", outcome="Y", mediators=["M"])
>>> round(fd.effect(treatment=1, control=0).value, 1)  # truth 2 * 1.5 = 3
3.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LinearRegression

from .._parameters import RANDOM_STATE, HasMethods, Interval, StrOptions
from .._validation import check_finite, require_columns, require_dataframe
from ..exceptions import DataValidationError, EstimandNotSupportedError
from ..results import EffectEstimate
from ._base import kind_error
from ._contract import EffectEstimator
from ._nuisance import seeded

__all__ = ["FrontDoor", "FrontDoorData"]


@dataclass(frozen=True)
class FrontDoorData:
    """Validated front-door sample: mediators, treatment level codes and outcome.

    Examples
    --------
    >>> import numpy as np
    >>> d = FrontDoorData(np.zeros((3, 1)), np.array([0, 1, 1]), np.ones(3), np.array([0, 1]),
    ...                   "x", "y", ("m",), None, True)
    >>> d.n, d.take(np.array([1])).codes.tolist()
    (3, [1])
    """

    M: np.ndarray
    codes: np.ndarray
    y: np.ndarray
    levels: np.ndarray
    treatment: str
    outcome: str
    mediators: tuple[str, ...]
    estimand: Any
    discrete: bool

    @property
    def n(self) -> int:
        """Number of units."""
        return len(self.y)

    def take(self, index: np.ndarray) -> FrontDoorData:
        """Rows ``index`` (a bootstrap resample)."""
        return replace(self, M=self.M[index], codes=self.codes[index], y=self.y[index])


class FrontDoor(EffectEstimator):
    """Front-door adjustment with an outcome regression and empirical mediator distributions.

    Parameters
    ----------
    outcome_model : "auto" or regressor, default "auto"
        ``"auto"``: cell means for discrete mediators, else linear regression on mediators,
        one-hot treatment and their interactions; or a scikit-learn regressor fitted on
        ``[mediators, one-hot treatment]``.
    max_levels : int, default 20
        Mediators with at most this many distinct values count as discrete (and a treatment
        with more levels is refused).
    random_state : int, Generator or None, default None
        Seed of a randomized ``outcome_model``.

    Examples
    --------
    >>> from deepcause.simulate import make_frontdoor
    >>> ds = make_frontdoor(3000, binary=True, random_state=1)
    >>> fd = FrontDoor().fit(ds.data, treatment="X", outcome="Y", mediators=["M"])
    >>> res = fd.bootstrap(30, random_state=0, treatment=1, control=0)
    >>> lo, hi = res.conf_int(0.01)
    >>> bool(lo < ds.truth["ATE"] < hi)
    True
    """

    supported_kinds: ClassVar[tuple[str, ...]] = ("frontdoor",)
    _roles: ClassVar[tuple[str, ...]] = ("treatment", "outcome", "mediators")
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "outcome_model": [StrOptions({"auto"}), HasMethods(["fit", "predict"])],
        "max_levels": [Interval(Integral, 2, None, closed="left")],
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self, outcome_model: Any = "auto", max_levels: int = 20, random_state: Any = None
    ) -> None:
        self.outcome_model = outcome_model
        self.max_levels = max_levels
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def _prepare(
        self,
        data: Any,
        estimand: Any,
        *,
        treatment: str | None = None,
        outcome: str | None = None,
        mediators: Sequence[str] | None = None,
    ) -> FrontDoorData:
        df = require_dataframe(data)
        if estimand is not None:
            kind = getattr(estimand, "kind", None)
            if kind != "frontdoor":
                raise kind_error("FrontDoor", str(kind), self.supported_kinds)
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
        mediators = [mediators] if isinstance(mediators, str) else list(mediators)
        require_columns(df, [treatment], role="treatment")
        require_columns(df, [outcome], role="outcome")
        require_columns(df, mediators, role="mediator")
        check_finite(df, [outcome, *mediators])
        if not pd.api.types.is_numeric_dtype(df[outcome]):
            raise DataValidationError(f"outcome {outcome!r} must be numeric; encode it first")
        levels = np.sort(pd.unique(df[treatment]))
        if len(levels) > self.max_levels:
            raise DataValidationError(
                f"FrontDoor needs a discrete treatment; {treatment!r} has {len(levels)} distinct "
                "values. Discretize it or use a continuous-treatment estimator."
            )
        return FrontDoorData(
            M=df[mediators].to_numpy(dtype=float),
            codes=np.searchsorted(levels, df[treatment].to_numpy()),
            y=df[outcome].to_numpy(dtype=float),
            levels=levels,
            treatment=str(treatment),
            outcome=str(outcome),
            mediators=tuple(mediators),
            estimand=estimand,
            discrete=all(df[m].nunique() <= self.max_levels for m in mediators),
        )

    def _fit_prepared(self, data: FrontDoorData) -> None:
        self.means_ = self._means(data)

    # ------------------------------------------------------------------ core
    def _features(self, M: np.ndarray, codes: np.ndarray, interactions: bool) -> np.ndarray:
        onehot = np.eye(len(self.data_.levels))[codes][:, 1:]
        parts = [M, onehot]
        if interactions:
            parts.append((M[:, :, None] * onehot[:, None, :]).reshape(len(M), -1))
        return np.hstack(parts)

    def _q_matrix(self, data: FrontDoorData) -> np.ndarray:
        """``Q[i, k] = E[Y | M_i, X = level k]`` for the units of ``data`` (fitted on them)."""
        M, codes, y = data.M, data.codes, data.y
        K = len(data.levels)
        if self.outcome_model == "auto" and data.discrete:
            cells = np.unique(M, axis=0, return_inverse=True)[1].ravel()
            n_cells = cells.max() + 1
            flat = cells * K + codes
            sums = np.bincount(flat, weights=y, minlength=n_cells * K).reshape(n_cells, K)
            counts = np.bincount(flat, minlength=n_cells * K).reshape(n_cells, K)
            if (counts == 0).any():
                raise DataValidationError(
                    "positivity violation: some mediator value never occurs together with some "
                    f"treatment value of {data.treatment!r}; the front-door formula needs "
                    "P(M = m, X = x') > 0 for all m, x'"
                )
            return (sums / counts)[cells]
        if self.outcome_model == "auto":
            model, interactions = LinearRegression(), True
        else:
            model, interactions = seeded(clone(self.outcome_model), self.random_state), False
        model.fit(self._features(M, codes, interactions), y)
        Q = np.empty((data.n, K))
        for k in range(K):
            Q[:, k] = model.predict(self._features(M, np.full(data.n, k), interactions))
        return Q

    def _means(self, data: FrontDoorData) -> np.ndarray:
        """``E[Y | do(X = level k)]`` for every level ``k``."""
        K = len(data.levels)
        counts = np.bincount(data.codes, minlength=K).astype(float)
        if (counts == 0).any():
            raise DataValidationError("a treatment level has no units in the sample")
        inner = self._q_matrix(data) @ (counts / counts.sum())  # sum_x' P(x') Q(M_i, x')
        return np.bincount(data.codes, weights=inner, minlength=K) / counts

    # ------------------------------------------------------------------ results
    def _level(self, value: Any) -> int:
        levels = self.data_.levels
        hits = np.flatnonzero(levels == value)
        if hits.size == 0:
            raise DataValidationError(
                f"treatment value {value!r} of {self.data_.treatment!r} is not in the data "
                f"(levels: {levels.tolist()})"
            )
        return int(hits[0])

    def _result(self, weights: np.ndarray, quantity: str) -> EffectEstimate:
        data = self.data_
        return EffectEstimate(
            value=float(self.means_ @ weights),
            quantity=quantity,
            method="FrontDoor",
            n=data.n,
            estimand=data.estimand,
            diagnostics={
                "notes": ("no analytic standard error: call bootstrap() for an interval",),
                "mediators": data.mediators,
                "discrete_mediators": data.discrete,
            },
        )

    def _mean(self, *, treatment: Any, population: str) -> EffectEstimate:
        w = np.zeros(len(self.data_.levels))
        w[self._level(treatment)] = 1.0
        return self._result(w, "mean")

    def _effect(self, *, treatment: Any, control: Any, population: str, X: Any) -> EffectEstimate:
        if X is not None:
            raise EstimandNotSupportedError("FrontDoor estimates population effects; drop X=")
        w = np.zeros(len(self.data_.levels))
        w[self._level(treatment)] += 1.0
        w[self._level(control)] -= 1.0
        return self._result(w, "ATE" if (treatment, control) == (1, 0) else "effect")
