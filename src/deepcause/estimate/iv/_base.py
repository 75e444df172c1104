"""The contract shared by every instrumental-variable estimator.

An IV estimator learns the *structural function* ``h(t, x) = E[Y | do(T=t), X=x]`` of a
treatment ``T`` (one or several continuous or discrete columns) that is confounded with the
outcome ``Y``, using excluded instruments ``Z`` and exogenous controls ``X``. Data arrive as

* ``fit(df, treatment="T", outcome="Y", instruments=["Z"], controls=[...])`` — column names;
  add ``graph=g`` to check every instrument against a causal graph (an invalid one is refused
  with the reason, from :func:`deepcause.graph.criteria.explain_instrument`);
* ``fit(df, g, treatment="T", outcome="Y")`` — a :class:`~deepcause.graph.CausalGraph` alone:
  the instruments (and the controls they need) are found with :func:`deepcause.graph.criteria.instruments`;
* ``fit(df, instrument, treatment=..., outcome=...)`` — one or several
  :class:`~deepcause.graph.criteria.Instrument` results (instrument + conditioning set);
* ``fit(Z, T, Y, X=None)`` — arrays.

Fitted estimators expose ``predict(T, X=None)`` (the structural function, not ``E[Y | T, X]``)
and ``effect(t0, t1, X=None)`` (the average of ``h(t1, x) - h(t0, x)`` over the rows of ``X``,
an :class:`~deepcause.results.EffectEstimate`). Subclasses implement ``_fit(data: IVData)`` and
``_predict(T, X) -> ndarray`` (``T`` and ``X`` are float matrices, ``X`` possibly with zero
columns); those with a linear-in-parameters structural function also implement
``_effect_std_error`` to give analytic intervals. Every estimator gets percentile-bootstrap
intervals from :meth:`BaseIVEstimator.bootstrap`; ``_bootstrap_params`` returns the
hyper-parameters (chosen by a search in the original fit) to keep fixed in the refits, and
``_effect_diagnostics`` extra information attached to every ``EffectEstimate``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from ..._progress import Verbose, progress
from ..._validation import (
    check_finite,
    check_no_duplicate_columns,
    numeric_covariates,
    require_columns,
    require_dataframe,
)
from ...exceptions import (
    DataValidationError,
    EstimandNotSupportedError,
    NotFittedError,
    QueryError,
    WeakInstrumentWarning,
)
from ...results import EffectEstimate

__all__ = ["IVData", "BaseIVEstimator", "InvalidInstrumentError", "resolve_iv_data"]


class InvalidInstrumentError(QueryError):
    """A variable given as an instrument is not one in the causal graph (the reason is said)."""


@dataclass(frozen=True)
class IVData:
    """Validated arrays of an IV problem.

    ``Z`` holds the excluded instruments, ``T`` the endogenous treatments, ``X`` the exogenous
    controls (which act as their own instruments); ``X`` may have zero columns.
    """

    Z: np.ndarray  # (n, kz)
    T: np.ndarray  # (n, kt)
    y: np.ndarray  # (n,)
    X: np.ndarray  # (n, kx)
    instrument_names: tuple[str, ...]
    treatment_names: tuple[str, ...]
    control_names: tuple[str, ...]
    outcome: str = "y"
    graph: Any = None

    @property
    def n(self) -> int:
        return len(self.y)

    def take(self, index: np.ndarray) -> IVData:
        """Rows ``index`` of the data (for bootstrap, sample splitting and cross-fitting)."""
        return replace(self, Z=self.Z[index], T=self.T[index], y=self.y[index], X=self.X[index])


# ---------------------------------------------------------------------- graph handling
def _is_graph(obj: Any) -> bool:
    return hasattr(obj, "directed_edges") and hasattr(obj, "bidirected_edges")


def _is_instrument(obj: Any) -> bool:
    return hasattr(obj, "instrument") and hasattr(obj, "conditioning")


def _as_names(value: Any, role: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or _is_instrument(value):
        value = [value]
    names = []
    for v in value:
        if _is_instrument(v):
            names.append(str(v.instrument))
        elif isinstance(v, str):
            names.append(v)
        else:
            raise DataValidationError(
                f"{role} must be column names (str) or Instrument objects, got {v!r}"
            )
    return names


def _instruments_from_graph(graph: Any, treatment: list[str], outcome: str) -> list[Any]:
    from ...graph import criteria

    target = treatment[0] if len(treatment) == 1 else tuple(treatment)
    found = list(criteria.instruments(graph, target, outcome))
    if not found:
        raise InvalidInstrumentError(
            f"the graph has no instrument (conditional or not) for the effect of "
            f"{treatment} on {outcome!r}: an instrument must cause the treatment, reach "
            f"{outcome!r} only through it and share no confounder with it. Measure one, or "
            "use a back-door or front-door estimator if the graph allows."
        )
    # take the instruments that need the fewest controls, then all others valid with them
    found.sort(key=lambda ins: (len(ins.conditioning), str(ins.instrument)))
    base = frozenset(found[0].conditioning)
    return [ins for ins in found if frozenset(ins.conditioning) <= base]


def _check_against_graph(
    graph: Any, treatment: list[str], outcome: str, instruments: list[str], controls: list[str]
) -> None:
    from ...graph import criteria

    graph.check_nodes(treatment, role="treatment")
    graph.check_nodes([outcome], role="outcome")
    graph.check_nodes(instruments, role="instrument")
    graph.check_nodes(controls, role="control", allow_empty=True)
    target = treatment[0] if len(treatment) == 1 else tuple(treatment)
    for z in instruments:
        reason = criteria.explain_instrument(graph, target, outcome, z, conditioning=controls)
        if reason is not None:
            given = f" given {sorted(controls)}" if controls else ""
            hint = ""
            if len(treatment) == 1:
                for ins in criteria.instruments(graph, target, outcome):
                    if ins.instrument == z and ins.conditioning:
                        hint = f"; it is one given {sorted(ins.conditioning)}: pass controls="
                        hint += f"{sorted(set(controls) | set(ins.conditioning))}"
            raise InvalidInstrumentError(
                f"{z!r} is not a valid instrument for {target!r} -> {outcome!r}{given} in the "
                f"graph: {reason}{hint}"
            )


# ---------------------------------------------------------------------- data resolution
def _numeric_block(df: pd.DataFrame, cols: list[str], role: str) -> tuple[np.ndarray, list[str]]:
    if not cols:
        return np.empty((len(df), 0)), []
    return numeric_covariates(df, cols)


def _check_columns_vary(M: np.ndarray, names: Sequence[str], role: str, fix: str) -> None:
    if M.shape[0] == 0:
        raise DataValidationError("the data have no rows")
    constant = [n for n, col in zip(names, M.T) if np.ptp(col) == 0]
    if constant:
        raise DataValidationError(
            f"{role} {constant} {'is' if len(constant) == 1 else 'are'} constant and carr"
            f"{'ies' if len(constant) == 1 else 'y'} no information; {fix}"
        )


def _check_order(kz: int, kt: int, estimator: str) -> None:
    if kz == 0:
        raise DataValidationError(
            f"{estimator} needs at least one instrument: pass instruments=['z', ...] (columns "
            "that move the treatment and affect the outcome only through it), or a causal "
            "graph to find them in."
        )
    if kz < kt:
        raise DataValidationError(
            f"{estimator}: {kt} treatments but only {kz} instrument(s); the effect is not "
            "identified (at least one instrument per treatment is needed). Add instruments or "
            "model fewer treatments."
        )


def _finish(
    Z: np.ndarray,
    T: np.ndarray,
    y: np.ndarray,
    X: np.ndarray,
    znames: list[str],
    tnames: list[str],
    xnames: list[str],
    outcome: str,
    graph: Any,
    estimator: str,
) -> IVData:
    _check_order(Z.shape[1], T.shape[1], estimator)
    _check_columns_vary(Z, znames, "instrument", "drop it; an instrument must vary.")
    _check_columns_vary(T, tnames, "treatment", "there is no variation to learn an effect from.")
    if X.shape[1]:
        _check_columns_vary(X, xnames, "control", "drop it.")
    return IVData(Z, T, y, X, tuple(znames), tuple(tnames), tuple(xnames), outcome, graph)


def resolve_iv_data(
    data: Any,
    T: Any = None,
    Y: Any = None,
    X: Any = None,
    *,
    treatment: str | Sequence[str] | None = None,
    outcome: str | None = None,
    instruments: Any = None,
    controls: Sequence[str] | None = None,
    graph: Any = None,
    estimator: str = "this estimator",
) -> IVData:
    """Turn any accepted ``fit`` signature (see the module docstring) into :class:`IVData`."""
    if not isinstance(data, pd.DataFrame):
        if not isinstance(data, np.ndarray | list | tuple) or isinstance(data, str):
            raise DataValidationError(
                f"{estimator}.fit takes a DataFrame (with treatment=, outcome=, instruments=) "
                f"or arrays (Z, T, Y, X=None); got {type(data).__name__}"
            )
        return _resolve_arrays(data, T, Y, X, estimator)
    df = require_dataframe(data)
    if T is not None:  # second positional argument: a graph or Instrument result(s)
        if hasattr(T, "kind") and hasattr(T, "treatment"):
            raise EstimandNotSupportedError(
                f"{estimator} takes instruments, not an identified Estimand (IV needs no "
                "back-door identification): call fit(df, graph, treatment=, outcome=) to find "
                "the instruments in the graph, or pass instruments=[...]"
            )
        if _is_graph(T):
            if graph is not None:
                raise DataValidationError(f"{estimator}.fit got two graphs; pass one")
            graph = T
        elif _is_instrument(T) or (
            isinstance(T, list | tuple) and T and all(_is_instrument(i) for i in T)
        ):
            if instruments is not None:
                raise DataValidationError(
                    f"{estimator}.fit got instruments twice (positionally and instruments=)"
                )
            instruments = T
        else:
            raise DataValidationError(
                f"with a DataFrame, the second argument of {estimator}.fit must be a "
                f"CausalGraph or Instrument result(s), got {type(T).__name__}; pass column "
                "names as treatment=, outcome=, instruments=, controls="
            )
    if treatment is None or outcome is None:
        raise DataValidationError(
            f"{estimator}.fit(df, ...) needs treatment= and outcome= column names"
        )
    tnames = [treatment] if isinstance(treatment, str) else list(treatment)
    if instruments is None and graph is not None:
        instruments = _instruments_from_graph(graph, tnames, outcome)
    items = (
        []
        if instruments is None
        else (
            [instruments]
            if isinstance(instruments, str) or _is_instrument(instruments)
            else list(instruments)
        )
    )
    znames = _as_names(items, "instruments")
    if controls is None:
        needed = set().union(*[set(i.conditioning) for i in items if _is_instrument(i)])
        controls = sorted(needed)
    xnames = list(controls)
    _check_roles(tnames, outcome, znames, xnames)
    require_columns(df, tnames, role="treatment")
    require_columns(df, [outcome], role="outcome")
    require_columns(df, znames, role="instrument")
    require_columns(df, xnames, role="control")
    if graph is not None:
        _check_against_graph(graph, tnames, outcome, znames, xnames)
    used = [*tnames, outcome, *znames, *xnames]
    check_finite(df, used)
    check_no_duplicate_columns(df, used)
    for c in [*tnames, outcome]:
        if not pd.api.types.is_numeric_dtype(df[c]):
            raise DataValidationError(
                f"column {c!r} must be numeric (got dtype {df[c].dtype}); encode it."
            )
    Zm, zn = _numeric_block(df, znames, "instrument")
    Xm, xn = _numeric_block(df, xnames, "control")
    Tm = df[tnames].to_numpy(dtype=float)
    y = df[outcome].to_numpy(dtype=float)
    return _finish(Zm, Tm, y, Xm, zn, tnames, xn, outcome, graph, estimator)


def _check_roles(tnames: list[str], outcome: str, znames: list[str], xnames: list[str]) -> None:
    roles = {"treatment": tnames, "outcome": [outcome], "instrument": znames, "control": xnames}
    seen: dict[str, str] = {}
    for role, names in roles.items():
        for name in names:
            if name in seen and seen[name] != role:
                raise DataValidationError(
                    f"column {name!r} is given both as {seen[name]} and as {role}; each column "
                    "can play one role."
                )
            seen[name] = role


def _as_2d(a: Any, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise DataValidationError(f"{name} must be 1- or 2-dimensional, got shape {arr.shape}")
    return arr


def _resolve_arrays(Z: Any, T: Any, Y: Any, X: Any, estimator: str) -> IVData:
    if T is None or Y is None:
        raise DataValidationError(f"{estimator}.fit(Z, T, Y, X=None) needs Z, T and Y arrays")
    Zm, Tm = _as_2d(Z, "Z"), _as_2d(T, "T")
    y = np.asarray(Y, dtype=float)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataValidationError(f"Y must be one outcome column, got shape {y.shape}")
    Xm = np.empty((len(y), 0)) if X is None else _as_2d(X, "X")
    sizes = {"Z": len(Zm), "T": len(Tm), "Y": len(y), "X": len(Xm)}
    if len(set(sizes.values())) > 1:
        raise DataValidationError(f"Z, T, Y and X must have the same number of rows; got {sizes}")
    for name, M in (("Z", Zm), ("T", Tm), ("Y", y[:, None]), ("X", Xm)):
        bad = ~np.isfinite(M).all(axis=1)
        if bad.any():
            raise DataValidationError(
                f"{name} has missing or infinite values in {int(bad.sum())} rows; drop or "
                "impute them before fitting."
            )
    znames = [f"z{i}" for i in range(Zm.shape[1])]
    tnames = [f"t{i}" for i in range(Tm.shape[1])] if Tm.shape[1] > 1 else ["t"]
    xnames = [f"x{i}" for i in range(Xm.shape[1])]
    return _finish(Zm, Tm, y, Xm, znames, tnames, xnames, "y", None, estimator)


def _shown(values: np.ndarray) -> str:
    """A treatment value for labels: the number when all rows share it, else ``t``."""
    if values.shape[1] == 1 and np.ptp(values) == 0:
        return f"{float(values[0, 0]):g}"
    return "t"


# ---------------------------------------------------------------------- estimator base
class BaseIVEstimator(BaseEstimator):
    """Base class of IV estimators of a structural function (see module docstring)."""

    #: short name used in results (``EffectEstimate.method``)
    method_name: ClassVar[str] = ""

    def fit(
        self,
        data: Any,
        T: Any = None,
        Y: Any = None,
        X: Any = None,
        *,
        treatment: str | Sequence[str] | None = None,
        outcome: str | None = None,
        instruments: Any = None,
        controls: Sequence[str] | None = None,
        graph: Any = None,
    ) -> BaseIVEstimator:
        """Fit on a DataFrame + column names (and optionally a graph) or arrays (Z, T, Y, X)."""
        self.data_ = resolve_iv_data(
            data,
            T,
            Y,
            X,
            treatment=treatment,
            outcome=outcome,
            instruments=instruments,
            controls=controls,
            graph=graph,
            estimator=type(self).__name__,
        )
        self._fit(self.data_)
        return self

    def _fit(self, data: IVData) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict(self, T: np.ndarray, X: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _effect_std_error(self, T0: np.ndarray, T1: np.ndarray, X: np.ndarray) -> float | None:
        """Standard error of mean(h(T1, X) - h(T0, X)); ``None`` when not available."""
        return None

    def _effect_diagnostics(self) -> dict[str, Any]:
        return {}

    def _bootstrap_params(self) -> dict[str, Any]:
        """Parameters fixed in bootstrap refits (e.g. hyper-parameters chosen by a search)."""
        return {}

    def _check_fitted(self) -> None:
        if not hasattr(self, "data_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit() first")

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
                f"T must have {len(names)} column(s) {list(names)}, got shape {np.shape(M)}"
            )
        if n is not None and M.shape[0] == 1 and n != 1:
            M = np.broadcast_to(M, (n, M.shape[1]))
        return np.ascontiguousarray(M, dtype=float)

    def _control_matrix(self, X: Any, T: Any, n: int | None) -> np.ndarray:
        names = self.data_.control_names
        if not names:
            return np.empty((n or 1, 0))
        if X is None and isinstance(T, pd.DataFrame) and set(names) <= set(T.columns):
            X = T
        if X is None:
            raise DataValidationError(
                f"the structural function depends on the controls {list(names)}: pass X (rows "
                "of controls) or a DataFrame T holding them"
            )
        if isinstance(X, pd.DataFrame):
            require_columns(X, names, role="control")
            M = X[list(names)].to_numpy(dtype=float)
        else:
            M = _as_2d(X, "X")
        if M.shape[1] != len(names):
            raise DataValidationError(
                f"X must have {len(names)} control column(s) {list(names)}, got {M.shape[1]}"
            )
        return M

    # ---------------------------------------------------------------- public API
    def predict(self, T: Any, X: Any = None) -> np.ndarray:
        """The structural function ``h(t, x) = E[Y | do(T=t), X=x]`` at the given rows.

        ``T`` is an array (one column per treatment) or a DataFrame with the treatment columns
        (and the controls, if ``X`` is not given).
        """
        self._check_fitted()
        Xm = self._control_matrix(X, T, None)
        n = Xm.shape[0] if self.data_.control_names else None
        Tm = self._treatment_matrix(T, n)
        if self.data_.control_names and Tm.shape[0] != Xm.shape[0]:
            raise DataValidationError(
                f"T has {Tm.shape[0]} rows but X has {Xm.shape[0]}; give one row of controls "
                "per treatment row"
            )
        if not self.data_.control_names:
            Xm = np.empty((Tm.shape[0], 0))
        return np.asarray(self._predict(Tm, Xm), dtype=float).ravel()

    def effect(self, t0: Any = 0.0, t1: Any = 1.0, X: Any = None) -> EffectEstimate:
        """Average effect of moving the treatment from ``t0`` to ``t1``: mean of h(t1,x)-h(t0,x).

        The average runs over the rows of ``X`` (default: the controls of the training data).
        With a linear structural function this is the coefficient of the treatment times
        ``t1 - t0``.
        """
        self._check_fitted()
        data = self.data_
        T0, T1, Xm = self._effect_rows(t0, t1, X)
        diff = self._predict(T1, Xm) - self._predict(T0, Xm)
        se = self._effect_std_error(T0, T1, Xm)
        names = ", ".join(data.treatment_names)
        quantity = f"E[{data.outcome}|do({names}={_shown(T1)})] - E[{data.outcome}|do({names}={_shown(T0)})]"
        return EffectEstimate(
            value=float(np.mean(diff)),
            std_error=se,
            quantity=quantity,
            method=self.method_name or type(self).__name__,
            n=data.n,
            diagnostics=self._effect_diagnostics(),
        )

    def _effect_rows(self, t0: Any, t1: Any, X: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        data = self.data_
        if X is None:
            Xm = data.X if data.control_names else np.empty((1, 0))
        else:
            Xm = self._control_matrix(X, None, None)
        n = Xm.shape[0]
        T0, T1 = self._treatment_matrix(t0, n), self._treatment_matrix(t1, n)
        if T0.shape[0] != n or T1.shape[0] != n:
            raise DataValidationError(
                f"t0 and t1 must be scalars, one value per treatment, or {n} rows"
            )
        return T0, T1, Xm

    def bootstrap(
        self,
        t0: Any = 0.0,
        t1: Any = 1.0,
        X: Any = None,
        n_boot: int = 100,
        random_state: int | None = 0,
        verbose: Verbose = "auto",
    ) -> EffectEstimate:
        """Percentile-bootstrap interval for :meth:`effect`: refit clones on resampled rows.

        Hyper-parameters chosen by a search in the original fit are kept fixed in the refits;
        the effect is always averaged over the same rows of ``X``.
        """
        self._check_fitted()
        if int(n_boot) < 2:
            raise ValueError(f"n_boot must be at least 2, got {n_boot}")
        point = self.effect(t0, t1, X)
        T0, T1, Xm = self._effect_rows(t0, t1, X)
        rng = np.random.default_rng(random_state)
        template = clone(self).set_params(**self._bootstrap_params())
        draws = np.empty(int(n_boot))
        for b in progress(range(int(n_boot)), verbose=verbose, desc="bootstrap"):
            est = clone(template)
            est.data_ = self.data_.take(rng.integers(0, self.data_.n, self.data_.n))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", WeakInstrumentWarning)
                est._fit(est.data_)
            draws[b] = float(np.mean(est._predict(T1, Xm) - est._predict(T0, Xm)))
        return EffectEstimate(
            value=point.value,
            std_error=float(np.std(draws, ddof=1)),
            quantity=point.quantity,
            method=point.method,
            n=point.n,
            bootstrap=draws,
            ci_method="percentile",
            diagnostics=point.diagnostics,
        )
