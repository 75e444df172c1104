"""Plug-in estimation of any identified estimand on discrete data.

:class:`PlugIn` substitutes the empirical distribution of the sample into the estimand's
expression (:meth:`deepcause.identification.estimand.Estimand.evaluate`, exact and vectorized), so it handles
every estimand the identification engine returns: back-door, front-door, napkin, conditional
(IDC) and multi-treatment queries. Intervals come from the nonparametric bootstrap (resampling
rows; each replicate is one weighted evaluation of the expression).

Kidney stones: P(success | do(A)) = 0.83255 and P(success | do(B)) = 0.77888 although A's crude
success rate is lower.

>>> import pandas as pd
>>> from deepcause.identification.estimand import Estimand, P, Product, Sum
>>> from deepcause.datasets import load_kidney_stones
>>> df = load_kidney_stones().data
>>> e = Sum("stone_size", Product((P("success", ["treatment", "stone_size"]), P("stone_size"))))
>>> est = Estimand(e, ("treatment",), ("success",), kind="backdoor",
...                adjustment_set=("stone_size",))
>>> plug = PlugIn(n_boot=50, random_state=0).fit(df, est)
>>> round(plug.mean({"treatment": "A"}).value, 5), round(plug.mean({"treatment": "B"}).value, 5)
(0.83255, 0.77888)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from .._validation import require_dataframe
from ..exceptions import DataValidationError, EstimandNotSupportedError, NotFittedError
from ..results import EffectEstimate

__all__ = ["PlugIn"]

_WEIGHT = "__deepcause_plugin_weight__"


class PlugIn(BaseEstimator):
    """Empirical plug-in of an identified estimand (discrete variables only).

    Parameters
    ----------
    n_boot : bootstrap replicates for standard errors and percentile intervals (0 = none).
    max_levels : a float column with more distinct values than this is treated as continuous
        and rejected (use a regression or weighting estimator for those).
    random_state : seed of the bootstrap.

    After ``fit(df, estimand)``: :meth:`distribution` gives ``P(Y | do(x))`` as a Series,
    :meth:`probability` and :meth:`mean` give EffectEstimates of ``P(Y = y | do(x))`` and
    ``E[Y | do(x)]``, :meth:`effect` a contrast of means and :meth:`ate` the 1-vs-0 contrast of a
    binary treatment. ``df`` may also be a joint probability table (one row per cell plus a
    ``probability`` column): it is evaluated exactly and no bootstrap is run.
    """

    supported_kinds = ("backdoor", "frontdoor", "general", "conditional")

    def __init__(self, n_boot: int = 200, max_levels: int = 50, random_state: Any = None) -> None:
        self.n_boot = n_boot
        self.max_levels = max_levels
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(self, data: pd.DataFrame, estimand: Any) -> PlugIn:
        """Store the discrete sample and the estimand (checked for continuous columns)."""
        df = require_dataframe(data)
        kind = getattr(estimand, "kind", None)
        if kind is None or not hasattr(estimand, "evaluate"):
            raise DataValidationError(
                "PlugIn.fit(df, estimand): the second argument must be an Estimand from "
                f"deepcause.identification.algorithm, got {type(estimand).__name__}"
            )
        if kind not in self.supported_kinds:
            hint = "TwoStageLeastSquares" if kind == "iv" else "an estimator for that kind"
            raise EstimandNotSupportedError(
                f"PlugIn evaluates identified probability estimands, not {kind!r}: use {hint}."
            )
        variables = list(estimand.variables)
        from .._validation import require_columns

        require_columns(df, variables)
        self._check_discrete(df, variables, kind)
        self.estimand_ = estimand
        # a joint probability table (column "probability") is evaluated exactly, without bootstrap
        self.table_ = "probability" in df.columns and "probability" not in variables
        keep = variables + (["probability"] if self.table_ else [])
        self.data_ = df[keep].reset_index(drop=True)
        self.n_ = len(self.data_)
        return self

    def _check_discrete(self, df: pd.DataFrame, variables: list[str], kind: str) -> None:
        continuous = [
            (v, int(df[v].nunique()))
            for v in variables
            if pd.api.types.is_float_dtype(df[v])
            and df[v].nunique() > self.max_levels
            and not np.all(np.mod(df[v].dropna().to_numpy(), 1) == 0)
        ]
        if continuous:
            shown = ", ".join(f"{v!r} ({k} distinct values)" for v, k in continuous)
            alternative = {
                "backdoor": "a regression or weighting estimator (AIPW, TLearner, DRLearner, "
                "EntropyBalancing)",
                "frontdoor": "FrontDoor (regression based)",
            }.get(kind, "a model-based estimator, or discretize these columns (e.g. pd.qcut)")
            raise DataValidationError(
                f"PlugIn needs discrete variables but {shown} look continuous; use "
                f"{alternative} or discretize them with pd.cut/pd.qcut."
            )

    def _check_fitted(self) -> None:
        if not hasattr(self, "estimand_"):
            raise NotFittedError("PlugIn is not fitted yet; call fit(df, estimand) first")

    # ------------------------------------------------------------------ evaluation
    def distribution(
        self, treatment_values: Mapping[str, Any], given_values: Mapping[str, Any] | None = None
    ) -> pd.Series:
        """``P(outcome | do(treatment_values), given_values)`` as a Series over outcome values."""
        self._check_fitted()
        return self.estimand_.evaluate(self.data_, treatment_values, given_values)

    def _replicates(self, statistic: Any) -> np.ndarray | None:
        """Bootstrap replicates of ``statistic(frame, weights_column)``; NaN where undefined."""
        if not self.n_boot or self.table_:
            return None
        rng = np.random.default_rng(self.random_state)
        frame = self.data_.copy()
        draws = np.full(self.n_boot, np.nan)
        for b in range(self.n_boot):
            frame[_WEIGHT] = rng.multinomial(self.n_, np.full(self.n_, 1.0 / self.n_))
            try:
                draws[b] = statistic(frame, _WEIGHT)
            except DataValidationError:  # a resample without some needed cell
                continue
        return draws

    def _estimate(self, statistic: Any, quantity: str) -> EffectEstimate:
        value = statistic(self.data_, None)
        draws = self._replicates(statistic)
        diagnostics: dict[str, Any] = {}
        se = None
        if draws is not None:
            ok = np.isfinite(draws)
            diagnostics["bootstrap_failures"] = int((~ok).sum())
            draws = draws[ok]
            se = float(np.std(draws, ddof=1)) if draws.size > 1 else None
            if draws.size < 2:
                draws = None
        return EffectEstimate(
            value=value,
            std_error=se,
            quantity=quantity,
            method="PlugIn",
            n=self.n_,
            estimand=self.estimand_,
            bootstrap=draws,
            diagnostics=diagnostics,
        )

    def _outcome_mean(self, series: pd.Series) -> float:
        if len(self.estimand_.outcome) != 1 or isinstance(series.index, pd.MultiIndex):
            raise EstimandNotSupportedError(
                "mean() needs a single outcome without free given variables; use "
                "distribution() or probability() for joint outcomes, or pass given_values"
            )
        values = series.index.to_numpy()
        if not np.issubdtype(values.dtype, np.number) and not np.issubdtype(values.dtype, np.bool_):
            raise DataValidationError(
                f"outcome {self.estimand_.outcome[0]!r} is not numeric (values "
                f"{list(values[:5])}); use probability() for a categorical outcome"
            )
        return float(np.dot(values.astype(float), series.to_numpy()))

    def probability(
        self,
        treatment_values: Mapping[str, Any],
        outcome_values: Mapping[str, Any],
        given_values: Mapping[str, Any] | None = None,
    ) -> EffectEstimate:
        """``P(outcome = outcome_values | do(treatment_values), given_values)`` with intervals."""
        self._check_fitted()
        est = self.estimand_

        def stat(frame: pd.DataFrame, w: str | None) -> float:
            return est.probability(frame, treatment_values, outcome_values, given_values, weights=w)

        return self._estimate(stat, _label("P", est, treatment_values, outcome_values))

    def mean(
        self, treatment_values: Mapping[str, Any], given_values: Mapping[str, Any] | None = None
    ) -> EffectEstimate:
        """``E[outcome | do(treatment_values), given_values]`` (numeric outcome) with intervals."""
        self._check_fitted()
        est = self.estimand_

        def stat(frame: pd.DataFrame, w: str | None) -> float:
            return self._outcome_mean(
                est.evaluate(frame, treatment_values, given_values, weights=w)
            )

        return self._estimate(stat, _label("E", est, treatment_values))

    def effect(
        self,
        treatment: Mapping[str, Any],
        control: Mapping[str, Any],
        given_values: Mapping[str, Any] | None = None,
    ) -> EffectEstimate:
        """``E[Y | do(treatment)] - E[Y | do(control)]`` with bootstrap intervals."""
        self._check_fitted()
        est = self.estimand_

        def stat(frame: pd.DataFrame, w: str | None) -> float:
            hi = self._outcome_mean(est.evaluate(frame, treatment, given_values, weights=w))
            lo = self._outcome_mean(est.evaluate(frame, control, given_values, weights=w))
            return hi - lo

        quantity = f"{_label('E', est, treatment)} - {_label('E', est, control)}"
        return self._estimate(stat, quantity)

    def ate(self) -> EffectEstimate:
        """``E[Y | do(T=1)] - E[Y | do(T=0)]`` for a single binary (0/1) treatment."""
        self._check_fitted()
        treat = self.estimand_.treatment
        if len(treat) != 1:
            raise EstimandNotSupportedError(
                f"ate() needs one treatment, the estimand has {list(treat)}; use effect()"
            )
        levels = set(pd.unique(self.data_[treat[0]]).tolist())
        if not levels <= {0, 1}:
            raise DataValidationError(
                f"ate() needs a 0/1 treatment; {treat[0]!r} takes values {sorted(map(str, levels))}"
                "; use effect(treatment={...}, control={...})"
            )
        est = self.effect({treat[0]: 1}, {treat[0]: 0})
        return EffectEstimate(
            value=est.value,
            std_error=est.std_error,
            quantity="ATE",
            method="PlugIn",
            n=est.n,
            estimand=est.estimand,
            bootstrap=est.bootstrap,
            diagnostics=est.diagnostics,
        )


def _label(
    head: str, est: Any, treatment_values: Mapping[str, Any], outcome_values: Any = None
) -> str:
    do = ", ".join(f"{k}={v}" for k, v in treatment_values.items())
    out = ", ".join(est.outcome)
    if outcome_values is not None:
        out = ", ".join(f"{k}={v}" for k, v in outcome_values.items())
    return f"{head}[{out} | do({do})]" if head == "E" else f"P({out} | do({do}))"
