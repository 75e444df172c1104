"""Plug-in estimation of any identified estimand on discrete data.

:class:`PlugIn` substitutes the empirical distribution of the sample into the estimand's
expression (:meth:`deepcause.identification.estimand.Estimand.evaluate`, exact and vectorized), so it handles
every estimand the identification engine returns: back-door, front-door, napkin, conditional
(IDC) and multi-treatment queries. Intervals come from :meth:`~PlugIn.bootstrap` (resampling
rows; each replicate is one evaluation of the expression).

Kidney stones: P(success | do(A)) = 0.83255 and P(success | do(B)) = 0.77888 although A's crude
success rate is lower.

>>> from deepcause.datasets import load_kidney_stones
>>> df = load_kidney_stones().data
>>> plug = PlugIn().fit(df, treatment="treatment", outcome="success", covariates=["stone_size"])
>>> round(plug.mean(treatment="A").value, 5), round(plug.mean(treatment="B").value, 5)
(0.83255, 0.77888)
>>> res = plug.bootstrap(50, random_state=0, treatment="A", control="B")
>>> round(res.value, 4), res.query
(0.0537, 'E[success | do(treatment=A)] − E[success | do(treatment=B)]')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._parameters import Interval, check_is_fitted
from .._validation import require_columns, require_dataframe
from ..exceptions import DataValidationError, EstimandNotSupportedError
from ..identification import Estimand, P, Product, Sum, identify
from ..results import EffectEstimate
from ._base import kind_error
from ._contract import EffectEstimator

__all__ = ["PlugIn", "PlugInData"]


@dataclass(frozen=True)
class PlugInData:
    """The discrete sample (or probability table) a :class:`PlugIn` evaluates its estimand on.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> d = PlugInData(pd.DataFrame({"x": [0, 1, 1]}), estimand=None)
    >>> d.n, d.take(np.array([2, 2])).frame["x"].tolist()
    (3, [1, 1])
    """

    frame: pd.DataFrame
    estimand: Any
    table: bool = False

    @property
    def n(self) -> int:
        """Number of rows."""
        return len(self.frame)

    @property
    def treatment(self) -> str:
        """The treatment name(s), for query labels."""
        return ", ".join(self.estimand.treatment)

    @property
    def outcome(self) -> str:
        """The outcome name(s), for query labels."""
        return ", ".join(self.estimand.outcome)

    def take(self, index: np.ndarray) -> PlugInData:
        """Rows ``index`` (a bootstrap resample)."""
        frame = self.frame.iloc[index].reset_index(drop=True)
        return PlugInData(frame, self.estimand, self.table)


def _backdoor_estimand(treatment: Any, outcome: str, covariates: Sequence[str]) -> Estimand:
    treat = (treatment,) if isinstance(treatment, str) else tuple(treatment)
    covs = tuple(covariates)
    term = P(outcome, given=[*treat, *covs])
    expression = Sum(covs, Product((term, P(covs)))) if covs else term
    return Estimand(expression, treat, (outcome,), kind="backdoor", adjustment_set=covs)


class PlugIn(EffectEstimator):
    """Empirical plug-in of an identified estimand (discrete variables only).

    Fit with an :class:`~deepcause.identification.estimand.Estimand`, a ``graph=`` (the query
    ``treatment`` -> ``outcome`` is identified in it), or back-door roles (``covariates=``,
    default: every other column). ``data`` may also be a joint probability table (one row per
    cell plus a ``probability`` column): it is evaluated exactly and has no bootstrap.

    Parameters
    ----------
    max_levels : int, default 50
        A float column with more distinct values than this is treated as continuous and
        rejected (use a regression or weighting estimator for those).

    Notes
    -----
    ``treatment`` and ``control`` of :meth:`effect` / :meth:`mean` are values of the single
    treatment, or mappings ``{name: value}`` for several treatments; ``given`` holds the values
    of the conditioning variables of a conditional (IDC) estimand. :meth:`distribution` gives
    ``P(Y | do(x))`` as a Series and :meth:`probability` ``P(Y = y | do(x))``. Estimates are
    exact plug-in values without a standard error: :meth:`bootstrap` gives the interval.

    Examples
    --------
    >>> from deepcause.simulate import make_frontdoor
    >>> ds = make_frontdoor(4000, binary=True, random_state=0)
    >>> plug = PlugIn().fit(ds.data, graph=ds.graph, treatment="X", outcome="Y")
    >>> res = plug.effect(treatment=1, control=0)
    >>> plug.estimand_.kind, bool(abs(res.value - ds.truth["ATE"]) < 0.05)
    ('frontdoor', True)
    """

    supported_kinds: ClassVar[tuple[str, ...]] = ("backdoor", "frontdoor", "general", "conditional")
    _roles: ClassVar[tuple[str, ...]] = ("treatment", "outcome", "covariates", "graph")
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "max_levels": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, max_levels: int = 50) -> None:
        self.max_levels = max_levels

    # ------------------------------------------------------------------ fitting
    def _estimand(self, df: pd.DataFrame, estimand: Any, roles: dict[str, Any]) -> Any:
        if estimand is not None:  # (a graph= beside it is the one it was identified in)
            if set(roles) - {"graph"}:
                raise DataValidationError("PlugIn.fit takes an estimand or roles, not both")
            return estimand
        treatment, outcome = roles.get("treatment"), roles.get("outcome")
        if treatment is None or outcome is None:
            raise DataValidationError(
                "PlugIn.fit needs an estimand, or treatment= and outcome= (with graph= or "
                "covariates=)"
            )
        if "graph" in roles:
            return identify(roles["graph"], treatment, outcome)
        treat = [treatment] if isinstance(treatment, str) else list(treatment)
        covariates = roles.get("covariates")
        if covariates is None:
            skip = {*treat, outcome, "probability"}
            covariates = [c for c in df.columns if c not in skip]
        return _backdoor_estimand(treat, outcome, covariates)

    def _prepare(self, data: Any, estimand: Any, **roles: Any) -> PlugInData:
        df = require_dataframe(data)
        estimand = self._estimand(df, estimand, roles)
        kind = getattr(estimand, "kind", None)
        if kind is None or not hasattr(estimand, "evaluate"):
            raise DataValidationError(
                "PlugIn.fit(df, estimand): the second argument must be an Estimand from "
                f"deepcause.identification.identify, got {type(estimand).__name__}"
            )
        if kind not in self.supported_kinds:
            raise kind_error("PlugIn", kind, self.supported_kinds)
        variables = list(estimand.variables)
        require_columns(df, variables)
        self._check_discrete(df, variables, kind)
        table = "probability" in df.columns and "probability" not in variables
        keep = variables + (["probability"] if table else [])
        return PlugInData(df[keep].reset_index(drop=True), estimand, table)

    def _fit_prepared(self, data: PlugInData) -> None:
        self.estimand_ = data.estimand

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

    # ------------------------------------------------------------------ evaluation
    def _values(self, value: Any, role: str) -> Mapping[str, Any]:
        if isinstance(value, Mapping):
            return value
        treat = self.estimand_.treatment
        if len(treat) != 1:
            raise EstimandNotSupportedError(
                f"the estimand has several treatments {list(treat)}; pass {role} as a mapping "
                "{name: value}"
            )
        return {treat[0]: value}

    def _result(self, value: float, quantity: str, query: str) -> EffectEstimate:
        return EffectEstimate(
            value=value,
            quantity=quantity,
            method="PlugIn",
            n=self.data_.n,
            estimand=self.estimand_,
            query=query,
        )

    def _outcome_mean(self, series: pd.Series) -> float:
        if len(self.estimand_.outcome) != 1 or isinstance(series.index, pd.MultiIndex):
            raise EstimandNotSupportedError(
                "mean() needs a single outcome without free given variables; use "
                "distribution() or probability() for joint outcomes, or pass given="
            )
        values = series.index.to_numpy()
        if not np.issubdtype(values.dtype, np.number) and not np.issubdtype(values.dtype, np.bool_):
            raise DataValidationError(
                f"outcome {self.estimand_.outcome[0]!r} is not numeric (values "
                f"{list(values[:5])}); use probability() for a categorical outcome"
            )
        return float(np.dot(values.astype(float), series.to_numpy()))

    def _do_mean(self, treatment: Mapping[str, Any], given: Any) -> float:
        return self._outcome_mean(self.estimand_.evaluate(self.data_.frame, treatment, given))

    def distribution(self, *, treatment: Any, given: Mapping[str, Any] | None = None) -> pd.Series:
        """``P(outcome | do(treatment), given)`` as a Series over the outcome's values.

        Examples
        --------
        >>> from deepcause.datasets import load_kidney_stones
        >>> plug = PlugIn().fit(load_kidney_stones().data, treatment="treatment",
        ...                     outcome="success", covariates=["stone_size"])
        >>> plug.distribution(treatment="A").round(5).tolist()
        [0.16745, 0.83255]
        """
        check_is_fitted(self)
        return self.estimand_.evaluate(
            self.data_.frame, self._values(treatment, "treatment"), given
        )

    def probability(
        self,
        *,
        treatment: Any,
        outcome: Mapping[str, Any],
        given: Mapping[str, Any] | None = None,
    ) -> EffectEstimate:
        """``P(outcome | do(treatment), given)`` for outcome values ``{name: value}``.

        Examples
        --------
        >>> from deepcause.datasets import load_kidney_stones
        >>> plug = PlugIn().fit(load_kidney_stones().data, treatment="treatment",
        ...                     outcome="success", covariates=["stone_size"])
        >>> p = plug.probability(treatment="B", outcome={"success": 1})
        >>> round(p.value, 5), p.query
        (0.77888, 'P(success=1 | do(treatment=B))')
        """
        check_is_fitted(self)
        do = self._values(treatment, "treatment")
        value = self.estimand_.probability(self.data_.frame, do, outcome, given)
        return self._result(value, "probability", _label("P", self.estimand_, do, outcome))

    def mean(
        self, *, treatment: Any = 1, population: str = "all", given: Mapping[str, Any] | None = None
    ) -> EffectEstimate:
        """``E[outcome | do(treatment), given]`` (numeric outcome).

        Examples
        --------
        >>> from deepcause.datasets import load_kidney_stones
        >>> plug = PlugIn().fit(load_kidney_stones().data, treatment="treatment",
        ...                     outcome="success", covariates=["stone_size"])
        >>> plug.mean(treatment="A").query
        'E[success | do(treatment=A)]'
        """
        check_is_fitted(self)
        self._check_population(population)
        do = self._values(treatment, "treatment")
        return self._result(self._do_mean(do, given), "mean", _label("E", self.estimand_, do))

    def effect(
        self,
        *,
        treatment: Any = 1,
        control: Any = 0,
        population: str = "all",
        X: Any = None,
        given: Mapping[str, Any] | None = None,
    ) -> EffectEstimate:
        """``E[Y | do(treatment), given] − E[Y | do(control), given]``.

        Examples
        --------
        >>> from deepcause.datasets import load_kidney_stones
        >>> plug = PlugIn().fit(load_kidney_stones().data, treatment="treatment",
        ...                     outcome="success", covariates=["stone_size"])
        >>> round(plug.effect(treatment="A", control="B").value, 5)
        0.05367
        """
        check_is_fitted(self)
        self._check_population(population)
        if X is not None:
            raise EstimandNotSupportedError("PlugIn estimates population quantities; drop X=")
        hi, lo = self._values(treatment, "treatment"), self._values(control, "control")
        value = self._do_mean(hi, given) - self._do_mean(lo, given)
        query = f"{_label('E', self.estimand_, hi)} − {_label('E', self.estimand_, lo)}"
        quantity = "ATE" if (treatment, control) == (1, 0) else "effect"
        return self._result(value, quantity, query)

    def bootstrap(
        self, n_boot: int = 200, random_state: Any = None, **kwargs: Any
    ) -> EffectEstimate:
        """Bootstrap interval of ``effect(...)`` (``control=None``: of ``mean(...)``).

        A probability table has no sampling variability and is refused.

        Examples
        --------
        >>> from deepcause.datasets import load_kidney_stones
        >>> plug = PlugIn().fit(load_kidney_stones().data, treatment="treatment",
        ...                     outcome="success", covariates=["stone_size"])
        >>> res = plug.bootstrap(30, random_state=0, treatment="A", control=None)
        >>> 0 < res.std_error < 0.05
        True
        """
        check_is_fitted(self)
        if self.data_.table:
            raise EstimandNotSupportedError(
                "PlugIn was fitted on a probability table (exact, no sampling variability); "
                "bootstrap needs a sample"
            )
        return super().bootstrap(n_boot, random_state, **kwargs)


def _label(
    head: str, est: Any, treatment_values: Mapping[str, Any], outcome_values: Any = None
) -> str:
    do = ", ".join(f"{k}={v}" for k, v in treatment_values.items())
    out = ", ".join(est.outcome)
    if outcome_values is not None:
        out = ", ".join(f"{k}={v}" for k, v in outcome_values.items())
    return f"{head}[{out} | do({do})]" if head == "E" else f"P({out} | do({do}))"
