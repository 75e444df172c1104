"""The contract shared by every instrumental-variable estimator.

An IV estimator learns the *structural function* ``h(t, x) = E[Y | do(T=t), X=x]`` of a
treatment ``T`` (one or several continuous or discrete columns) that is confounded with the
outcome ``Y``, using excluded instruments ``Z`` and exogenous covariates ``X`` (which act as
their own instruments). It follows the one effect contract of
:class:`~deepcause.estimate._contract.EffectEstimator`::

    est.fit(df, treatment="T", outcome="Y", instruments=["Z"], covariates=[...])
    est.fit(df, treatment="T", outcome="Y", graph=g)   # instruments (+ covariates) from g
    est.fit(df, treatment="T", outcome="Y", instruments=[Instrument(...)])
    est.fit_arrays(Z=..., t=..., y=..., X=None)

    est.effect(treatment=t1, control=t0, X=None)  # mean over the rows of X of h(t1,x)-h(t0,x)
    est.mean(treatment=t)                         # mean over the training rows of h(t, x)
    est.predict(T, X=None)                        # h(t, x) at given rows (pointwise)
    est.bootstrap(n_boot=200, random_state=0)     # percentile interval of effect()
    est.summary()                                 # Summary with weak-instrument notes

With ``graph=`` every instrument is checked against the causal graph (an invalid one is refused
with the reason, from :func:`deepcause.graph.criteria.explain_instrument`); with a graph and no
``instruments=`` they are found with :func:`deepcause.graph.criteria.instruments`, together with
the covariates they need.

Subclasses implement ``_fit_prepared(data: IVData)`` and ``_predict(T, X) -> ndarray`` (``T``
and ``X`` float matrices, ``X`` possibly with zero columns); those with a linear-in-parameters
structural function also implement ``_effect_std_error(T0, T1, X)`` and ``_mean_std_error(T,
X)`` for analytic intervals. ``_effect_diagnostics()`` returns a mapping sorted into the typed
:class:`~deepcause.results.Diagnostics` (``first_stage_f``, ``notes``, the rest in ``extra``),
and ``_bootstrap_params()`` the hyper-parameters chosen by a search in the original fit, kept
fixed in bootstrap refits.

>>> from deepcause.estimate.iv import TwoStageLeastSquares
>>> from deepcause.simulate.iv import make_linear_iv
>>> ds = make_linear_iv(2000, effect=2.0, random_state=0)
>>> est = TwoStageLeastSquares().fit(ds.data, treatment="d", outcome="y",
...                                  instruments=["z1", "z2"], covariates=["x1", "x2"])
>>> est.effect(treatment=1, control=0).query
'E[y | do(d=1)] − E[y | do(d=0)]'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..._parameters import check_is_fitted
from ..._validation import (
    check_finite,
    check_no_duplicate_columns,
    numeric_covariates,
    require_columns,
    require_dataframe,
)
from ...exceptions import DataValidationError, EstimandNotSupportedError, QueryError
from ...graph import criteria
from ...graph.causal_graph import CausalGraph
from ...graph.criteria import Instrument
from ...results import Diagnostics, EffectEstimate, Summary
from .._contract import EffectEstimator

__all__ = ["IVData", "BaseIVEstimator", "InvalidInstrumentError", "resolve_iv_data"]


class InvalidInstrumentError(QueryError):
    """A variable given as an instrument is not one in the causal graph (the reason is said).

    Examples
    --------
    >>> from deepcause.graph import CausalGraph
    >>> from deepcause.estimate.iv import TwoStageLeastSquares
    >>> from deepcause.simulate.iv import make_linear_iv
    >>> df = make_linear_iv(200, n_controls=0, random_state=0).data
    >>> g = CausalGraph("z1 -> d -> y; z2 -> d; d <-> y; z1 -> y")
    >>> TwoStageLeastSquares().fit(df, treatment="d", outcome="y", instruments=["z1"], graph=g)
    Traceback (most recent call last):
    ...
    deepcause.estimate.iv._base.InvalidInstrumentError: 'z1' is not a valid instrument ...
    """


@dataclass(frozen=True)
class IVData:
    """Validated arrays of an IV problem.

    ``Z`` holds the excluded instruments, ``T`` the endogenous treatments, ``X`` the exogenous
    covariates (which act as their own instruments); ``X`` may have zero columns.

    Examples
    --------
    >>> import numpy as np
    >>> d = IVData(np.ones((3, 1)), np.zeros((3, 1)), np.arange(3.0), np.empty((3, 0)),
    ...            ("z",), ("t",), ())
    >>> d.n, d.take(np.array([0, 0])).n, d.treatment
    (3, 2, 't')
    """

    Z: np.ndarray  # (n, kz)
    T: np.ndarray  # (n, kt)
    y: np.ndarray  # (n,)
    X: np.ndarray  # (n, kx)
    instrument_names: tuple[str, ...]
    treatment_names: tuple[str, ...]
    covariate_names: tuple[str, ...]
    outcome: str = "y"
    graph: Any = None

    @property
    def n(self) -> int:
        """Number of rows."""
        return len(self.y)

    @property
    def treatment(self) -> str:
        """The treatment column(s) as one label."""
        return ", ".join(self.treatment_names)

    def take(self, index: np.ndarray) -> IVData:
        """Rows ``index`` of the data (for bootstrap, sample splitting and cross-fitting)."""
        return replace(self, Z=self.Z[index], T=self.T[index], y=self.y[index], X=self.X[index])


# ---------------------------------------------------------------------- roles and graphs
def _refuse_positional(estimand: Any, estimator: str) -> None:
    """The second positional slot of ``fit`` is an estimand, which IV has no use for."""
    if isinstance(estimand, CausalGraph):
        raise DataValidationError(
            f"{estimator}.fit takes the graph by keyword: fit(df, treatment=..., outcome=..., "
            "graph=g)"
        )
    if isinstance(estimand, Instrument) or (
        isinstance(estimand, list | tuple) and any(isinstance(i, Instrument) for i in estimand)
    ):
        raise DataValidationError(
            f"{estimator}.fit takes Instrument results by keyword: fit(df, ..., instruments=[...])"
        )
    kind = getattr(estimand, "kind", type(estimand).__name__)
    raise EstimandNotSupportedError(
        f"{estimator} takes instruments, not an identified {kind} Estimand (IV needs no "
        "identification): pass graph=g to find the instruments in the graph, or instruments=[...]"
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | Instrument):
        return [value]
    return list(value)


def _instrument_names(items: list[Any]) -> list[str]:
    names = []
    for v in items:
        if isinstance(v, Instrument):
            names.append(str(v.instrument))
        elif isinstance(v, str):
            names.append(v)
        else:
            raise DataValidationError(
                f"instruments must be column names (str) or Instrument objects, got {v!r}"
            )
    return names


def _instruments_from_graph(graph: CausalGraph, treatment: list[str], outcome: str) -> list[Any]:
    target = treatment[0] if len(treatment) == 1 else tuple(treatment)
    found = list(criteria.instruments(graph, target, outcome))
    if not found:
        raise InvalidInstrumentError(
            f"the graph has no instrument (conditional or not) for the effect of "
            f"{treatment} on {outcome!r}: an instrument must cause the treatment, reach "
            f"{outcome!r} only through it and share no confounder with it. Measure one, or "
            "use a back-door or front-door estimator if the graph allows."
        )
    # take the instruments that need the fewest covariates, then all others valid with them
    found.sort(key=lambda ins: (len(ins.conditioning), str(ins.instrument)))
    base = frozenset(found[0].conditioning)
    return [ins for ins in found if frozenset(ins.conditioning) <= base]


def _check_against_graph(
    graph: CausalGraph,
    treatment: list[str],
    outcome: str,
    instruments: list[str],
    covariates: list[str],
) -> None:
    graph.check_nodes(treatment, role="treatment")
    graph.check_nodes([outcome], role="outcome")
    graph.check_nodes(instruments, role="instrument")
    graph.check_nodes(covariates, role="covariate", allow_empty=True)
    target = treatment[0] if len(treatment) == 1 else tuple(treatment)
    for z in instruments:
        reason = criteria.explain_instrument(graph, target, outcome, z, conditioning=covariates)
        if reason is None:
            continue
        given = f" given {sorted(covariates)}" if covariates else ""
        hint = ""
        if len(treatment) == 1:
            for ins in criteria.instruments(graph, target, outcome):
                if ins.instrument == z and ins.conditioning:
                    needed = sorted(set(covariates) | set(ins.conditioning))
                    hint = f"; it is one given {sorted(ins.conditioning)}: pass covariates={needed}"
        raise InvalidInstrumentError(
            f"{z!r} is not a valid instrument for {target!r} -> {outcome!r}{given} in the "
            f"graph: {reason}{hint}"
        )


def _resolve_roles(
    treatment: list[str], outcome: str, instruments: Any, covariates: Any, graph: Any
) -> tuple[list[str], list[str]]:
    """Instrument and covariate column names from the roles (and the graph)."""
    if instruments is None and graph is not None:
        instruments = _instruments_from_graph(graph, treatment, outcome)
    items = _as_list(instruments)
    znames = _instrument_names(items)
    if covariates is None:
        needed = set().union(*[set(i.conditioning) for i in items if isinstance(i, Instrument)])
        xnames = sorted(needed)
    else:
        xnames = _as_list(covariates)
    roles = {"treatment": treatment, "outcome": [outcome], "instrument": znames}
    seen: dict[str, str] = {}
    for role, names in {**roles, "covariate": xnames}.items():
        for name in names:
            if name in seen and seen[name] != role:
                raise DataValidationError(
                    f"column {name!r} is given both as {seen[name]} and as {role}; each column "
                    "can play one role."
                )
            seen[name] = role
    return znames, xnames


# ---------------------------------------------------------------------- data resolution
def _check_columns_vary(M: np.ndarray, names: Sequence[str], role: str, fix: str) -> None:
    constant = [n for n, col in zip(names, M.T) if np.ptp(col) == 0]
    if constant:
        one = len(constant) == 1
        raise DataValidationError(
            f"{role} {constant} {'is' if one else 'are'} constant and carr"
            f"{'ies' if one else 'y'} no information; {fix}"
        )


def _check_sizes(n: int, kz: int, kt: int, kx: int, estimator: str) -> None:
    if kz == 0:
        raise DataValidationError(
            f"{estimator} needs at least one instrument: pass instruments=['z', ...] (columns "
            "that move the treatment and affect the outcome only through it), or graph= to "
            "find them in."
        )
    if kz < kt:
        raise DataValidationError(
            f"{estimator}: {kt} treatments but only {kz} instrument(s); the effect is not "
            "identified (at least one instrument per treatment is needed). Add instruments or "
            "model fewer treatments."
        )
    if n <= kz + kx + 1:
        raise DataValidationError(
            f"{estimator}: {n} rows are too few for {kz} instrument(s) and {kx} covariate(s); "
            "the first stage needs more rows than columns."
        )


def _frame_to_data(
    df: pd.DataFrame,
    tnames: list[str],
    outcome: str,
    znames: list[str],
    xnames: list[str],
    graph: Any,
    estimator: str,
) -> IVData:
    used = [*tnames, outcome, *znames, *xnames]
    check_finite(df, used)
    check_no_duplicate_columns(df, used)
    for c in [*tnames, outcome]:
        if not pd.api.types.is_numeric_dtype(df[c]):
            raise DataValidationError(
                f"column {c!r} must be numeric (got dtype {df[c].dtype}); encode it."
            )
    Z, zn = numeric_covariates(df, znames)
    X, xn = numeric_covariates(df, xnames) if xnames else (np.empty((len(df), 0)), [])
    T = df[tnames].to_numpy(dtype=float)
    if len(df) == 0:
        raise DataValidationError("the data have no rows")
    _check_sizes(len(df), Z.shape[1], T.shape[1], X.shape[1], estimator)
    _check_columns_vary(Z, zn, "instrument", "drop it; an instrument must vary.")
    _check_columns_vary(T, tnames, "treatment", "there is no variation to learn an effect from.")
    _check_columns_vary(X, xn, "covariate", "drop it.")
    y = df[outcome].to_numpy(dtype=float)
    return IVData(Z, T, y, X, tuple(zn), tuple(tnames), tuple(xn), outcome, graph)


def resolve_iv_data(
    data: Any,
    *,
    treatment: str | Sequence[str] | None = None,
    outcome: str | None = None,
    instruments: Any = None,
    covariates: Sequence[str] | None = None,
    graph: Any = None,
    estimator: str = "this estimator",
) -> IVData:
    """Validate a DataFrame and the IV roles into :class:`IVData`.

    ``instruments`` are column names or :class:`~deepcause.graph.criteria.Instrument` results
    (whose conditioning sets become the covariates when ``covariates`` is None); ``graph`` (a
    :class:`~deepcause.graph.CausalGraph` or its text) checks them, or supplies them when
    ``instruments`` is None.

    Examples
    --------
    >>> from deepcause.simulate.iv import make_linear_iv
    >>> df = make_linear_iv(300, n_controls=0, random_state=0).data
    >>> d = resolve_iv_data(df, treatment="d", outcome="y", graph="z1 -> d -> y; d <-> y")
    >>> d.instrument_names, d.covariate_names, d.n
    (('z1',), (), 300)
    """
    df = require_dataframe(data)
    if treatment is None or outcome is None:
        raise DataValidationError(f"{estimator}.fit needs treatment= and outcome= column names")
    if graph is not None and not isinstance(graph, CausalGraph):
        graph = CausalGraph(graph)
    tnames = [treatment] if isinstance(treatment, str) else list(treatment)
    znames, xnames = _resolve_roles(tnames, outcome, instruments, covariates, graph)
    require_columns(df, tnames, role="treatment")
    require_columns(df, [outcome], role="outcome")
    require_columns(df, znames, role="instrument")
    require_columns(df, xnames, role="covariate")
    if graph is not None:
        _check_against_graph(graph, tnames, outcome, znames, xnames)
    return _frame_to_data(df, tnames, outcome, znames, xnames, graph, estimator)


def _as_2d(a: Any, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise DataValidationError(f"{name} must be 1- or 2-dimensional, got shape {arr.shape}")
    return arr


def _assign(names: Sequence[str], T: np.ndarray) -> str:
    """``d=1`` for a treatment set to one value in every row, ``d=t`` otherwise."""
    if len(T) and np.all(np.ptp(T, axis=0) == 0):
        return ", ".join(f"{n}={float(v):g}" for n, v in zip(names, T[0]))
    return ", ".join(f"{n}=t" for n in names)


# ---------------------------------------------------------------------- estimator base
class BaseIVEstimator(EffectEstimator):
    """Base class of IV estimators of a structural function (see the module docstring).

    Examples
    --------
    >>> from deepcause.estimate.iv import TwoStageLeastSquares
    >>> from deepcause.simulate.iv import make_linear_iv
    >>> ds = make_linear_iv(2000, effect=2.0, n_controls=0, random_state=0)
    >>> est = TwoStageLeastSquares().fit(ds.data, treatment="d", outcome="y",
    ...                                  instruments=["z1", "z2"])
    >>> round(est.effect(treatment=3, control=1).value, 1), est.mean(treatment=0).quantity
    (4.0, 'mean')
    """

    _roles: ClassVar[tuple[str, ...]] = (
        "treatment",
        "outcome",
        "covariates",
        "instruments",
        "graph",
    )
    _populations: ClassVar[tuple[str, ...]] = ("all",)
    #: no identified estimand is taken (instruments are roles): every kind is refused
    supported_kinds: ClassVar[tuple[str, ...]] = ()
    #: short name used in results (``EffectEstimate.method``)
    method_name: ClassVar[str] = ""

    # ---------------------------------------------------------------- hooks
    def _prepare(self, data: Any, estimand: Any, **roles: Any) -> IVData:
        name = type(self).__name__
        if estimand is not None:
            _refuse_positional(estimand, name)
        return resolve_iv_data(data, estimator=name, **roles)

    def _predict(self, T: np.ndarray, X: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _effect_std_error(self, T0: np.ndarray, T1: np.ndarray, X: np.ndarray) -> float | None:
        """Standard error of mean(h(T1, X) - h(T0, X)) given the rows X; None if unknown."""
        return None

    def _mean_std_error(self, T: np.ndarray, X: np.ndarray) -> float | None:
        """Standard error of mean(h(T, X)) given the rows X; None if unknown."""
        return None

    def _effect_diagnostics(self) -> Mapping[str, Any]:
        return {}

    def _query_names(self) -> tuple[str, str]:
        return self.data_.outcome, self.data_.treatment

    def _covariate_names(self) -> tuple[str, ...]:
        return self.data_.covariate_names

    def _diagnostics(self) -> Diagnostics:
        data = self.data_
        facts = dict(self._effect_diagnostics())
        notes = list(facts.pop("notes", ()))
        if data.graph is not None:
            notes.append(
                f"instruments {list(data.instrument_names)} checked against the causal graph "
                f"(valid given the covariates {list(data.covariate_names)})"
            )
        facts |= {
            "notes": tuple(notes),
            "instruments": list(data.instrument_names),
            "covariates": list(data.covariate_names),
        }
        return Diagnostics.from_mapping(facts)

    # ---------------------------------------------------------------- inputs at predict time
    def _treatment_matrix(self, T: Any, n: int | None = None) -> np.ndarray:
        names = self.data_.treatment_names
        if isinstance(T, pd.DataFrame):
            require_columns(T, names, role="treatment")
            M = T[list(names)].to_numpy(dtype=float)
        elif isinstance(T, pd.Series) and len(names) == 1:
            M = T.to_numpy(dtype=float)[:, None]
        else:
            M = np.asarray(T, dtype=float)
            if M.ndim == 0 or (M.ndim == 1 and len(names) > 1 and M.shape[0] == len(names)):
                M = np.broadcast_to(M.reshape(1, -1), (n or 1, len(names)))
            elif M.ndim == 1:
                M = M[:, None]
        if M.ndim != 2 or M.shape[1] != len(names):
            raise DataValidationError(
                f"the treatment values must have {len(names)} column(s) {list(names)}, got "
                f"shape {np.shape(M)}"
            )
        if n is not None and M.shape[0] == 1 and n != 1:
            M = np.broadcast_to(M, (n, M.shape[1]))
        return np.ascontiguousarray(M, dtype=float)

    def _covariates_at(self, X: Any, T: Any = None) -> np.ndarray | None:
        """The covariate rows of ``X`` (or of a DataFrame ``T`` holding them), by name."""
        names = self.data_.covariate_names
        if not names:
            return None
        if X is None and isinstance(T, pd.DataFrame) and set(names) <= set(T.columns):
            X = T
        if X is None:
            raise DataValidationError(
                f"the structural function depends on the covariates {list(names)}: pass X (rows "
                "of covariates) or a DataFrame holding them"
            )
        if isinstance(X, pd.DataFrame):
            require_columns(X, names, role="covariate")
            M = X[list(names)].to_numpy(dtype=float)
        else:
            M = _as_2d(X, "X")
        if M.shape[1] != len(names):
            raise DataValidationError(
                f"X must have {len(names)} covariate column(s) {list(names)}, got {M.shape[1]}"
            )
        return M

    # ---------------------------------------------------------------- public API
    def predict(self, T: Any, X: Any = None) -> np.ndarray:
        """The structural function ``h(t, x) = E[Y | do(T=t), X=x]`` at given rows.

        Pointwise, unlike :meth:`mean` (its average over the population) and not the
        regression ``E[Y | T=t, X=x]``, which is confounded. ``T`` is an array (one column per
        treatment) or a DataFrame with the treatment columns (and the covariates, selected by
        name, when ``X`` is not given).

        Examples
        --------
        >>> from deepcause.estimate.iv import TwoStageLeastSquares
        >>> from deepcause.simulate.iv import make_linear_iv
        >>> ds = make_linear_iv(2000, effect=2.0, n_controls=0, random_state=0)
        >>> est = TwoStageLeastSquares().fit(ds.data, treatment="d", outcome="y",
        ...                                  instruments=["z1", "z2"])
        >>> h = est.predict([0.0, 1.0])
        >>> round(float(h[1] - h[0]), 1)
        2.0
        """
        check_is_fitted(self)
        Xm = self._covariates_at(X, T)
        Tm = self._treatment_matrix(T, None if Xm is None else Xm.shape[0])
        if Xm is None:
            Xm = np.empty((Tm.shape[0], 0))
        if Tm.shape[0] != Xm.shape[0]:
            raise DataValidationError(
                f"T has {Tm.shape[0]} rows but X has {Xm.shape[0]}; give one row of covariates "
                "per treatment row"
            )
        return np.asarray(self._predict(Tm, Xm), dtype=float).ravel()

    def _effect(self, *, treatment: Any, control: Any, population: str, X: Any) -> EffectEstimate:
        return self._average(treatment, control, X)

    def _mean(self, *, treatment: Any, population: str) -> EffectEstimate:
        return self._average(treatment, None, None)

    def _average(self, t1: Any, t0: Any, X: Any) -> EffectEstimate:
        """Mean over the rows of ``X`` (default: the training covariates) of h(t1,x) - h(t0,x),
        or of h(t1, x) when ``t0`` is None."""
        data = self.data_
        if X is None:
            Xm = data.X if data.covariate_names else np.empty((1, 0))
        else:
            Xm = self._covariates_at(X)
            Xm = np.empty((1, 0)) if Xm is None else Xm
        n = Xm.shape[0]
        T1 = self._treatment_matrix(t1, n)
        T0 = None if t0 is None else self._treatment_matrix(t0, n)
        if T1.shape[0] != n or (T0 is not None and T0.shape[0] != n):
            raise DataValidationError(
                f"treatment and control must be scalars, one value per treatment, or {n} rows"
            )
        values = np.asarray(self._predict(T1, Xm), dtype=float)
        if T0 is None:
            se = self._mean_std_error(T1, Xm)
        else:
            values = values - self._predict(T0, Xm)
            se = self._effect_std_error(T0, T1, Xm)
        if se is not None and X is None and n > 1:
            # the average runs over a sample of the population: add its sampling variance
            se = float(np.sqrt(se**2 + np.var(values, ddof=1) / n))
        cond = ", X" if X is not None else ""
        names = data.treatment_names
        query = f"E[{data.outcome} | do({_assign(names, T1)}){cond}]"
        if T0 is not None:
            query += f" − E[{data.outcome} | do({_assign(names, T0)}){cond}]"
        quantity = "mean" if T0 is None else ("ATE" if X is None else "CATE")
        return EffectEstimate(
            value=float(np.mean(values)),
            std_error=se,
            quantity=quantity,
            method=self.method_name or type(self).__name__,
            n=data.n,
            diagnostics=self._diagnostics(),
            query=query,
        )

    def _summary_table(self, alpha: float) -> pd.DataFrame:
        return self.effect().coef_table(alpha)

    def summary(self, alpha: float = 0.05) -> Summary:
        """A :class:`~deepcause.results.Summary`: the roles, a table and numbered notes.

        The table is the coefficient table for linear estimators (:class:`TwoStageLeastSquares`)
        and the effect of a unit change of the treatment otherwise; the notes hold the
        weak-instrument and over-identification diagnostics.

        Examples
        --------
        >>> from deepcause.estimate.iv import TwoStageLeastSquares
        >>> from deepcause.simulate.iv import make_linear_iv
        >>> ds = make_linear_iv(2000, n_controls=0, random_state=0)
        >>> est = TwoStageLeastSquares().fit(ds.data, treatment="d", outcome="y",
        ...                                  instruments=["z1", "z2"])
        >>> text = est.summary().as_text()
        >>> "first-stage F" in text and "Sargan" in text
        True
        """
        check_is_fitted(self)
        data = self.data_
        rows = [
            ("outcome", data.outcome),
            ("treatment", data.treatment),
            ("instruments", ", ".join(data.instrument_names)),
            ("covariates", ", ".join(data.covariate_names) or "none"),
            ("n", str(data.n)),
            ("interval", f"{100 * (1 - alpha):g}%"),
        ]
        title = self.method_name or type(self).__name__
        table = self._summary_table(alpha)
        notes = self._diagnostics().messages()
        if table["std_error"].isna().all():
            notes.append(
                f"{title} reports no valid standard error; use bootstrap() for an interval"
            )
        return Summary(title, rows, table, notes)
