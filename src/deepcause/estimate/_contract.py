"""The one effect contract shared by every causal-effect estimator of every family.

Fitting::

    est.fit(data, estimand=None, *, treatment=, outcome=, covariates=, instruments=,
            mediators=, selection=, graph=)      # a DataFrame; roles by keyword only
    est.fit_arrays(X=..., t=..., y=..., Z=..., s=...)  # arrays, by keyword only

Asking::

    est.effect(*, treatment=1, control=0, population="all", X=None) -> EffectEstimate
    est.mean(*, treatment=1, population="all")                      -> EffectEstimate
    est.ate(), est.att(), est.atc()            # effect(population="all"/"treated"/"controls")
    est.bootstrap(n_boot=200, random_state=None, treatment=1, control=0, population="all")
    est.predict_cate(frame)                    # covariates selected by name

A family implements four hooks: ``_prepare(data, estimand, **roles)`` returns a validated data
object with ``take(index)`` and ``n``; ``_fit_prepared(data)`` learns; ``_effect(treatment,
control, population, X)`` and optionally ``_mean(treatment, population)`` return an
:class:`~deepcause.results.EffectEstimate`. Each class declares the roles it takes
(``_roles``), the populations it can target (``_populations``) and its hyper-parameters'
constraints (``_parameter_constraints``, validated in ``fit``).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from .._parameters import ParameterValidationMixin, check_is_fitted
from .._progress import Verbose, progress
from .._validation import require_columns
from ..exceptions import (
    DataValidationError,
    DeepCauseError,
    DeepCauseWarning,
    EstimandNotSupportedError,
)
from ..results import POPULATIONS, EffectEstimate, query_label

__all__ = ["EffectEstimator", "ROLES"]

#: every role keyword of ``fit``, in the order error messages list them
ROLES = ("treatment", "outcome", "covariates", "instruments", "mediators", "selection", "graph")
#: ``fit_arrays`` keyword -> (role, column name or prefix for 2-D arrays)
_ARRAY_ROLES = {
    "X": ("covariates", "x"),
    "t": ("treatment", "t"),
    "y": ("outcome", "y"),
    "Z": ("instruments", "z"),
    "M": ("mediators", "m"),
    "s": ("selection", "s"),
}


def _is_array(value: Any) -> bool:
    return isinstance(value, np.ndarray | list | tuple | pd.Series) and not isinstance(value, str)


def _array_columns(key: str, value: Any) -> tuple[list[str], np.ndarray]:
    role, name = _ARRAY_ROLES[key]
    arr = np.asarray(value)
    if arr.ndim == 1 and role in ("treatment", "outcome", "selection"):
        return [name], arr[:, None]
    if arr.ndim == 2 and role in ("outcome", "selection") and arr.shape[1] != 1:
        raise DataValidationError(f"{key} must be one column, got shape {arr.shape}")
    arr = arr.reshape(len(arr), -1)
    return [f"{name}{i}" for i in range(arr.shape[1])], arr


class EffectEstimator(ParameterValidationMixin, BaseEstimator):
    """Base class of every causal-effect estimator (see the module docstring for the contract).

    Examples
    --------
    >>> from deepcause.estimate import IPW
    >>> from deepcause.simulate import make_confounded_binary
    >>> df = make_confounded_binary(1000, random_state=0, population_truth=False).data
    >>> est = IPW().fit(df, treatment="t", outcome="y", covariates=["x1", "x2", "x3"])
    >>> est.effect(treatment=1, control=0).query
    'E[y | do(t=1)] − E[y | do(t=0)]'
    >>> IPW().fit(df, treatment="t", outcome="y", instruments=["x1"])
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: IPW.fit does not take instruments=; its roles are treatment=, outcome=, covariates=
    """

    _roles: ClassVar[tuple[str, ...]] = ("treatment", "outcome", "covariates")
    _populations: ClassVar[tuple[str, ...]] = ("all",)

    # ---------------------------------------------------------------- hooks
    def _prepare(self, data: Any, estimand: Any, **roles: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def _fit_prepared(self, data: Any) -> None:  # pragma: no cover
        raise NotImplementedError

    def _check_prepared(self, data: Any) -> None:
        """Checks of the validated data before learning (the back-door family: overlap)."""

    def _effect(
        self, *, treatment: Any, control: Any, population: str, X: Any
    ) -> EffectEstimate:  # pragma: no cover
        raise NotImplementedError

    def _mean(self, *, treatment: Any, population: str) -> EffectEstimate:
        raise EstimandNotSupportedError(
            f"{type(self).__name__} estimates contrasts only; use effect(treatment=, control=)"
        )

    def _bootstrap_index(self, rng: np.random.Generator) -> np.ndarray:
        """Resampled row positions (families override to stratify, e.g. by treatment arm)."""
        n = self.data_.n
        return rng.integers(0, n, n)

    def _bootstrap_params(self) -> dict[str, Any]:
        """Parameters fixed in bootstrap refits (e.g. hyper-parameters chosen by a search)."""
        return {}

    def _query_names(self) -> tuple[str, str]:
        """(outcome, treatment) names for the query label."""
        return str(getattr(self.data_, "outcome", "y")), str(getattr(self.data_, "treatment", "t"))

    def _covariate_names(self) -> tuple[str, ...]:
        return tuple(getattr(self.data_, "names", ()))

    # ---------------------------------------------------------------- fitting
    def fit(
        self,
        data: Any,
        estimand: Any = None,
        *,
        treatment: Any = None,
        outcome: Any = None,
        covariates: Any = None,
        instruments: Any = None,
        mediators: Any = None,
        selection: Any = None,
        graph: Any = None,
    ) -> EffectEstimator:
        """Fit on a DataFrame, with an identified estimand or roles given by keyword.

        Returns ``self``. Arrays go through :meth:`fit_arrays`.
        """
        name = type(self).__name__
        if not isinstance(data, pd.DataFrame) and _is_array(data) or _is_array(estimand):
            raise DataValidationError(
                f"{name}.fit takes a DataFrame with roles by keyword (treatment=, outcome=, ...); "
                f"for arrays call {name}(...).fit_arrays(X=..., t=..., y=...)"
            )
        given = dict(
            treatment=treatment,
            outcome=outcome,
            covariates=covariates,
            instruments=instruments,
            mediators=mediators,
            selection=selection,
            graph=graph,
        )
        roles = {k: v for k, v in given.items() if v is not None}
        unknown = [r for r in ROLES if r in roles and r not in self._roles]
        if unknown:
            raise DataValidationError(
                f"{name}.fit does not take {', '.join(r + '=' for r in unknown)}; its roles are "
                f"{', '.join(r + '=' for r in self._roles)}"
            )
        if type(data).__module__.startswith("dask"):  # a Dask DataFrame: out of core
            from .distributed import fit_dask

            return fit_dask(self, data, estimand, roles)
        for attribute in ("_contrast", "_mean", "_bootstrap_index", "engine_"):  # Dask fit's
            self.__dict__.pop(attribute, None)
        self._validate_params()
        self.fitted_from_arrays_ = False
        self.data_ = self._prepare(data, estimand, **roles)
        self._check_prepared(self.data_)
        self._fit_prepared(self.data_)
        return self

    def fit_arrays(self, **arrays: Any) -> EffectEstimator:
        """Fit on arrays given by keyword: ``X`` (covariates), ``t``, ``y``, ``Z``, ``M``, ``s``.

        Columns are named ``x0, x1, ...``, ``t``, ``y``, ``z0, ...``; ``predict_cate`` then also
        accepts an array with the covariates in the same order.
        """
        unknown = sorted(set(arrays) - set(_ARRAY_ROLES))
        if unknown:
            raise DataValidationError(
                f"{type(self).__name__}.fit_arrays takes {', '.join(_ARRAY_ROLES)}; got {unknown}"
            )
        parts, roles = [], {}
        for key, value in arrays.items():
            if value is None:
                continue
            cols, arr = _array_columns(key, value)
            parts.append(pd.DataFrame(arr, columns=cols))
            role = _ARRAY_ROLES[key][0]
            single = role in ("outcome", "selection") or (role == "treatment" and len(cols) == 1)
            roles[role] = cols[0] if single else cols
        lengths = {len(p) for p in parts}
        if len(lengths) > 1:
            raise DataValidationError(
                f"the arrays have different numbers of rows: {sorted(lengths)}"
            )
        frame = pd.concat(parts, axis=1) if parts else pd.DataFrame()
        self.fit(frame, **roles)
        self.fitted_from_arrays_ = True
        return self

    # ---------------------------------------------------------------- asking
    def _check_population(self, population: str) -> None:
        if population not in POPULATIONS:
            raise DataValidationError(
                f"population must be one of {list(POPULATIONS)}, got {population!r}"
            )
        if population not in self._populations:
            raise EstimandNotSupportedError(
                f"{type(self).__name__} estimates the population(s) {list(self._populations)}, "
                f"not {population!r}"
            )

    def effect(
        self, *, treatment: Any = 1, control: Any = 0, population: str = "all", X: Any = None
    ) -> EffectEstimate:
        """E[Y | do(T=treatment)] − E[Y | do(T=control)] over ``population``.

        ``population`` is ``"all"`` (ATE), ``"treated"`` (ATT), ``"controls"`` (ATC) or
        ``"overlap"`` (ATO, overlap weights), as far as the estimator supports it. ``X`` asks
        for the effect at given covariate values where the estimator can (IV structural
        functions, CATE models).
        """
        check_is_fitted(self)
        self._check_population(population)
        result = self._effect(treatment=treatment, control=control, population=population, X=X)
        if not result.query:
            outcome, treat = self._query_names()
            label = query_label(outcome, treat, treatment, control, population)
            result = dataclasses.replace(result, query=label)
        return result

    def mean(self, *, treatment: Any = 1, population: str = "all") -> EffectEstimate:
        """E[Y | do(T=treatment)] over ``population``, the potential-outcome mean."""
        check_is_fitted(self)
        self._check_population(population)
        result = self._mean(treatment=treatment, population=population)
        if not result.query:
            outcome, treat = self._query_names()
            result = dataclasses.replace(
                result, query=query_label(outcome, treat, treatment, None, population)
            )
        return result

    def ate(self) -> EffectEstimate:
        """Average treatment effect E[Y(1) − Y(0)]: ``effect(population="all")``."""
        return self.effect(population="all")

    def att(self) -> EffectEstimate:
        """Average effect on the treated E[Y(1) − Y(0) | T=1]: ``effect(population="treated")``."""
        return self.effect(population="treated")

    def atc(self) -> EffectEstimate:
        """Average effect on the controls E[Y(1) − Y(0) | T=0]: ``effect(population="controls")``."""
        return self.effect(population="controls")

    # ---------------------------------------------------------------- bootstrap
    def _refit(self, index: np.ndarray) -> EffectEstimator:
        est = clone(self).set_params(**self._bootstrap_params())
        est.fitted_from_arrays_ = self.fitted_from_arrays_
        est.data_ = self.data_.take(index)
        est._fit_prepared(est.data_)
        return est

    def _ask(self, control: Any, **query: Any) -> EffectEstimate:
        """``effect(control=..., **query)``, or ``mean(**query)`` when ``control`` is None."""
        if control is None:
            return self.mean(**query)
        return self.effect(control=control, **query)

    def bootstrap(
        self,
        n_boot: int = 200,
        random_state: int | np.random.Generator | None = None,
        *,
        treatment: Any = 1,
        control: Any = 0,
        population: str = "all",
        verbose: Verbose = "auto",
        **query: Any,
    ) -> EffectEstimate:
        """Nonparametric bootstrap of ``effect(...)``: refit clones on resampled rows.

        Returns the point estimate with the bootstrap standard error and percentile interval.
        ``control=None`` bootstraps ``mean(treatment=...)`` instead of an effect; further
        keywords (``query``) go to ``effect``/``mean`` (e.g. PlugIn's ``given``). Resamples on
        which the refit fails (for example a bootstrap sample without a treated unit) are
        dropped and counted in ``diagnostics.extra["bootstrap_failures"]``; more than 10%
        failures is an error.
        """
        check_is_fitted(self)
        if not isinstance(n_boot, int | np.integer) or n_boot < 2:
            raise DataValidationError(f"n_boot must be an integer of at least 2, got {n_boot!r}")
        ask = dict(treatment=treatment, population=population, **query)
        point = self._ask(control, **ask)
        rng = np.random.default_rng(random_state)
        draws = np.full(n_boot, np.nan)
        with warnings.catch_warnings():  # the point estimate already warned once
            warnings.simplefilter("ignore", DeepCauseWarning)
            for b in progress(range(n_boot), verbose=verbose, desc="bootstrap"):
                try:
                    draws[b] = self._refit(self._bootstrap_index(rng))._ask(control, **ask).value
                except (DeepCauseError, np.linalg.LinAlgError):
                    continue
        failures = int(np.isnan(draws).sum())
        if failures > 0.1 * n_boot:
            raise DataValidationError(
                f"{type(self).__name__}: {failures} of {n_boot} bootstrap refits failed; the data "
                "are too small or too unbalanced for a bootstrap interval"
            )
        draws = draws[np.isfinite(draws)]
        diag = dataclasses.replace(
            point.diagnostics, extra={**point.diagnostics.extra, "bootstrap_failures": failures}
        )
        return dataclasses.replace(
            point,
            std_error=float(np.std(draws, ddof=1)),
            bootstrap=draws,
            ci_method="percentile",
            diagnostics=diag,
        )

    # ---------------------------------------------------------------- CATE helpers
    def _covariate_matrix(self, data: Any) -> np.ndarray:
        """The fitted covariates of ``data``, selected by name (never by position)."""
        check_is_fitted(self)
        names = list(self._covariate_names())
        if isinstance(data, pd.DataFrame):
            require_columns(data, names, role="covariate")
            return data[names].to_numpy(dtype=float)
        if _is_array(data) and self.fitted_from_arrays_:
            X = np.asarray(data, dtype=float).reshape(len(data), -1)
            if X.shape[1] != len(names):
                raise DataValidationError(
                    f"expected {len(names)} covariate columns (as in fit_arrays), got {X.shape[1]}"
                )
            return X
        raise DataValidationError(
            f"{type(self).__name__}.predict_cate needs a DataFrame with the covariate columns "
            f"{names} (columns are selected by name)"
        )
