"""The estimator contract shared by every effect estimator.

Estimators follow scikit-learn: hyper-parameters are ``__init__`` keywords stored as given,
``fit`` returns ``self``, learned state ends in ``_``. Data arrive as

* ``fit(df, estimand)`` — a DataFrame plus an identified :class:`~deepcause.identification.estimand.Estimand`
  (its ``kind`` must be in the estimator's ``supported_kinds``), or
* ``fit(df, treatment="T", outcome="Y", covariates=[...])`` — column names, or
* ``fit(X, t, y)`` — arrays.

Subclasses implement ``_fit(data: BackdoorData)`` and ``_effect(quantity) -> EffectEstimate``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from .._progress import Verbose, progress
from .._validation import (
    check_binary,
    check_finite,
    check_group_sizes,
    check_no_duplicate_columns,
    check_not_constant,
    numeric_covariates,
    require_columns,
    require_dataframe,
)
from ..exceptions import (
    DataValidationError,
    EstimandNotSupportedError,
    NotFittedError,
    PositivityWarning,
)
from ..results import EffectEstimate

__all__ = ["BackdoorData", "BaseEffectEstimator", "resolve_backdoor_data", "Quantity"]

Quantity = Literal["ATE", "ATT", "ATC"]


@dataclass(frozen=True)
class BackdoorData:
    """Validated arrays for a back-door problem with a binary treatment."""

    X: np.ndarray  # (n, p) float covariates (p may be 0)
    t: np.ndarray  # (n,) int 0/1
    y: np.ndarray  # (n,) float
    covariate_names: tuple[str, ...]
    treatment: str = "T"
    outcome: str = "Y"
    estimand: Any = None

    @property
    def n(self) -> int:
        return len(self.t)

    def take(self, index: np.ndarray) -> BackdoorData:
        """Rows ``index`` of the data (for bootstrap and cross-fitting)."""
        return replace(self, X=self.X[index], t=self.t[index], y=self.y[index])


def _kind_error(estimator: str, kind: str, supported: Sequence[str]) -> EstimandNotSupportedError:
    alternatives = {
        "frontdoor": "PlugIn or FrontDoor",
        "general": "PlugIn",
        "conditional": "PlugIn",
        "backdoor": "AIPW, IPW, OutcomeRegression or PlugIn",
        "iv": "TwoStageLeastSquares, DeepIV or KernelIV",
    }
    hint = alternatives.get(kind, "PlugIn")
    return EstimandNotSupportedError(
        f"{estimator} needs a {' or '.join(supported)} estimand; this one is {kind}: use {hint}."
    )


def resolve_backdoor_data(
    data: Any,
    estimand: Any = None,
    y: Any = None,
    *,
    treatment: str | None = None,
    outcome: str | None = None,
    covariates: Sequence[str] | None = None,
    estimator: str = "this estimator",
    supported_kinds: Sequence[str] = ("backdoor",),
) -> BackdoorData:
    """Turn any of the accepted ``fit`` signatures into validated :class:`BackdoorData`."""
    if isinstance(data, pd.DataFrame):
        if estimand is not None:
            kind = getattr(estimand, "kind", None)
            if kind is None:
                raise DataValidationError(
                    f"{estimator}.fit(df, estimand): the second argument must be an Estimand "
                    f"from deepcause.identification.algorithm, got {type(estimand).__name__}"
                )
            if kind not in supported_kinds:
                raise _kind_error(estimator, kind, supported_kinds)
            treat = tuple(estimand.treatment)
            out = tuple(estimand.outcome)
            if len(treat) != 1 or len(out) != 1:
                raise EstimandNotSupportedError(
                    f"{estimator} handles one treatment and one outcome; the estimand has "
                    f"treatment {list(treat)} and outcome {list(out)}: use PlugIn."
                )
            treatment, outcome = treat[0], out[0]
            covariates = list(estimand.adjustment_set or ())
        if treatment is None or outcome is None:
            raise DataValidationError(
                f"{estimator}.fit needs an estimand or treatment= and outcome= column names"
            )
        df = require_dataframe(data)
        if covariates is None:
            covariates = [c for c in df.columns if c not in (treatment, outcome)]
        covariates = list(covariates)
        require_columns(df, [treatment], role="treatment")
        require_columns(df, [outcome], role="outcome")
        require_columns(df, covariates, role="covariate")
        used = [treatment, outcome, *covariates]
        check_finite(df, used)
        t = check_binary(df[treatment].to_numpy(), name=f"treatment {treatment!r}")
        if not pd.api.types.is_numeric_dtype(df[outcome]):
            raise DataValidationError(
                f"outcome {outcome!r} must be numeric (got dtype {df[outcome].dtype}); encode it."
            )
        yv = df[outcome].to_numpy(dtype=float)
        if covariates:
            check_no_duplicate_columns(df, covariates)
            check_not_constant(df, covariates)
            X, names = numeric_covariates(df, covariates)
        else:
            X, names = np.empty((len(df), 0)), []
        check_group_sizes(t, name=f"treatment {treatment!r}")
        return BackdoorData(X, t, yv, tuple(names), treatment, outcome, estimand)
    # array signature fit(X, t, y)
    if estimand is None or y is None:
        raise DataValidationError(
            f"{estimator}.fit takes (DataFrame, estimand), (DataFrame, treatment=, outcome=) "
            "or arrays (X, t, y)"
        )
    X = np.asarray(data, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    t_arr, y_arr = np.asarray(estimand).ravel(), np.asarray(y, dtype=float).ravel()
    if not (len(X) == len(t_arr) == len(y_arr)):
        raise DataValidationError(
            f"X, t and y must have the same number of rows; got {len(X)}, {len(t_arr)}, "
            f"{len(y_arr)}"
        )
    names = [f"x{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=names).assign(t=t_arr, y=y_arr)
    check_finite(frame)
    t = check_binary(t_arr, name="treatment t")
    check_group_sizes(t, name="treatment t")
    return BackdoorData(X, t, y_arr, tuple(names), "t", "y", None)


class BaseEffectEstimator(BaseEstimator):
    """Base class for binary-treatment effect estimators (see module docstring)."""

    supported_kinds: ClassVar[tuple[str, ...]] = ("backdoor",)
    supported_quantities: ClassVar[tuple[str, ...]] = ("ATE", "ATT", "ATC")

    # ---------------------------------------------------------------- fitting
    def fit(
        self,
        data: Any,
        estimand: Any = None,
        y: Any = None,
        *,
        treatment: str | None = None,
        outcome: str | None = None,
        covariates: Sequence[str] | None = None,
    ) -> BaseEffectEstimator:
        """Fit on a DataFrame + estimand, a DataFrame + column names, or arrays (X, t, y)."""
        self.data_ = resolve_backdoor_data(
            data,
            estimand,
            y,
            treatment=treatment,
            outcome=outcome,
            covariates=covariates,
            estimator=type(self).__name__,
            supported_kinds=self.supported_kinds,
        )
        self._fit(self.data_)
        return self

    def _fit(self, data: BackdoorData) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _effect(self, quantity: str) -> EffectEstimate:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "data_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit() first")

    # ---------------------------------------------------------------- effects
    def effect(self, quantity: str = "ATE") -> EffectEstimate:
        """The effect ``quantity`` (``"ATE"``, ``"ATT"`` or ``"ATC"``) as an EffectEstimate."""
        self._check_fitted()
        if quantity not in self.supported_quantities:
            raise EstimandNotSupportedError(
                f"{type(self).__name__} estimates {list(self.supported_quantities)}, not "
                f"{quantity!r}"
            )
        return self._effect(quantity)

    def ate(self) -> EffectEstimate:
        """Average treatment effect E[Y(1) - Y(0)]."""
        return self.effect("ATE")

    def att(self) -> EffectEstimate:
        """Average treatment effect on the treated E[Y(1) - Y(0) | T = 1]."""
        return self.effect("ATT")

    def atc(self) -> EffectEstimate:
        """Average treatment effect on the controls E[Y(1) - Y(0) | T = 0]."""
        return self.effect("ATC")

    def diagnostics(self, quantity: str = "ATE") -> Mapping[str, Any]:
        """Diagnostics (overlap, balance, effective sample size, ...) of the ``quantity`` fit."""
        return self.effect(quantity).diagnostics

    # ---------------------------------------------------------------- bootstrap
    def bootstrap(
        self,
        quantity: str = "ATE",
        n_boot: int = 200,
        random_state: int | None = 0,
        verbose: Verbose = "auto",
    ) -> EffectEstimate:
        """Percentile bootstrap: refit a clone on resamples stratified by treatment arm."""
        self._check_fitted()
        point = self.effect(quantity)
        data = self.data_
        rng = np.random.default_rng(random_state)
        treated, control = np.flatnonzero(data.t == 1), np.flatnonzero(data.t == 0)
        draws = np.empty(n_boot)
        with warnings.catch_warnings():  # the point estimate already warned once
            warnings.simplefilter("ignore", PositivityWarning)
            for b in progress(range(n_boot), verbose=verbose, desc=f"bootstrap {quantity}"):
                idx = np.concatenate(
                    [rng.choice(treated, treated.size), rng.choice(control, control.size)]
                )
                est = clone(self)
                est.data_ = data.take(idx)
                est._fit(est.data_)
                draws[b] = est._effect(quantity).value
        return EffectEstimate(
            value=point.value,
            std_error=float(np.std(draws, ddof=1)),
            quantity=point.quantity,
            method=point.method,
            n=point.n,
            estimand=point.estimand,
            bootstrap=draws,
            ci_method="percentile",
            diagnostics=point.diagnostics,
        )
