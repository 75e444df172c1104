"""Causal estimands: immutable expression trees over probability terms, and their evaluation.

An :class:`Expression` is built from :class:`P` (a probability term ``P(A | B)``), :class:`Sum`
(a sum over the values of some variables), :class:`Product` and :class:`Fraction`. All four are
hashable frozen dataclasses. A :class:`Sum` *binds* its variables: inside it they range over their
values, outside they do not exist, so ``Σ_{X} P(Y | X, M) P(X)`` inside an expression that also
uses a fixed treatment ``X`` is printed with a prime (``Σ_{X'} P(Y | M, X') P(X')``).

>>> e = Sum("Z", Product((P("Y", given=["X", "Z"]), P("Z"))))
>>> print(e)
Σ_{Z} P(Y | X, Z) P(Z)
>>> print(e.to_text(ascii=True))
sum_{Z} P(Y | X, Z) P(Z)
>>> e.to_latex()
'\\\\sum_{Z} P(Y \\\\mid X, Z) P(Z)'
>>> print(simplify(Sum(["A", "B"], P(["A", "B", "C"]))))
P(C)
>>> print(simplify(Product((P("A", given=["B", "C"]), P("B", given="C")))))
P(A, B | C)

An :class:`Estimand` (returned by :func:`deepcause.identification.algorithm`) is an expression plus its query;
:meth:`Estimand.evaluate` computes it exactly on a joint probability table or on discrete samples.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataValidationError, QueryError
from .expressions import (
    ONE,
    Expression,
    Fraction,
    P,
    Product,
    Sum,
    _all_variables,
    _latex_name,
    _sorted,
    simplify,
)

__all__ = [
    "Expression",
    "P",
    "Sum",
    "Product",
    "Fraction",
    "ONE",
    "simplify",
    "Estimand",
]

_MAX_CELLS = 50_000_000  # largest dense factor evaluate() will build


# ----------------------------------------------------------------------------- evaluation


def _index(domains: Sequence[np.ndarray], names: Sequence[str]) -> pd.Index:
    if len(names) == 1:
        return pd.Index(domains[0], name=names[0])
    return pd.MultiIndex.from_product(list(domains), names=list(names))


class _Prepared:
    """Discrete data as integer codes per variable plus normalised weights."""

    def __init__(self, frame: pd.DataFrame, variables: Iterable[str], w: np.ndarray) -> None:
        self.codes: dict[str, np.ndarray] = {}
        self.domains: dict[str, np.ndarray] = {}
        for v in _sorted(variables):
            col = frame[v]
            if col.isna().any():
                raise DataValidationError(
                    f"column {v!r} has {int(col.isna().sum())} missing values; drop or impute them"
                )
            try:
                codes, uniques = pd.factorize(col, sort=True)
            except TypeError:  # values that cannot be ordered
                codes, uniques = pd.factorize(col, sort=False)
            self.codes[v] = codes.astype(np.intp)
            self.domains[v] = np.asarray(uniques)
        self.w = w
        self._cache: dict[tuple[str, ...], np.ndarray] = {}

    def shape(self, names: Sequence[str]) -> tuple[int, ...]:
        return tuple(len(self.domains[v]) for v in names)

    def marginal(self, names: tuple[str, ...]) -> np.ndarray:
        """Dense marginal probability array with one axis per name (in order)."""
        if names in self._cache:
            return self._cache[names]
        if not names:
            return np.array(1.0)
        shape = self.shape(names)
        size = int(np.prod(shape, dtype=np.int64))
        _check_size(size, names)
        flat = np.ravel_multi_index(tuple(self.codes[v] for v in names), shape)
        arr = np.bincount(flat, weights=self.w, minlength=size).reshape(shape)
        self._cache[names] = arr
        return arr


def _check_size(size: int, names: Sequence[str]) -> None:
    if size > _MAX_CELLS:
        raise DataValidationError(
            f"evaluating the estimand needs a table over {list(names)} with {size:,} cells; "
            "coarsen these variables (fewer distinct values) or use an estimator instead"
        )


def _prepare(
    data: pd.DataFrame | pd.Series, variables: Iterable[str], weights: str | None
) -> _Prepared:
    variables = frozenset(variables)
    if isinstance(data, pd.Series):  # a joint table indexed by the variables
        if data.index.names is None or any(n is None for n in data.index.names):
            raise DataValidationError(
                "a probability Series needs a named (Multi)Index, one level per variable"
            )
        data = data.rename("probability").reset_index()
        weights = "probability"
    if not isinstance(data, pd.DataFrame):
        raise DataValidationError(
            f"data must be a pandas DataFrame of discrete samples or a joint probability table, "
            f"got {type(data).__name__}"
        )
    if weights is None and "probability" in data.columns and "probability" not in variables:
        weights = "probability"
    from .._validation import require_columns

    require_columns(data, _sorted(variables))
    if weights is None:
        if len(data) == 0:
            raise DataValidationError("the data has no rows")
        w = np.full(len(data), 1.0 / len(data))
    else:
        require_columns(data, [weights], role="weights column")
        w = pd.to_numeric(data[weights], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(w)) or (w < 0).any():
            raise DataValidationError(
                f"column {weights!r} must hold non-negative finite probabilities or counts"
            )
        total = w.sum()
        if total <= 0:
            raise DataValidationError(f"column {weights!r} sums to {total}; nothing to evaluate")
        w = w / total
    return _Prepared(data, variables, w)


def _py(value: Any) -> Any:
    """A numpy scalar as the plain Python value (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass
class _Factor:
    vars: tuple[str, ...]
    arr: np.ndarray


@dataclass
class _Context:
    """One evaluation: the data and the zero-probability events met on the way."""

    data: _Prepared
    zero_events: list[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]] = field(
        default_factory=list
    )

    def _record(self, what: str, names: tuple[str, ...], den: np.ndarray) -> None:
        zero = np.argwhere(den == 0)
        if zero.size:
            values = [
                tuple(_py(self.data.domains[v][i]) for v, i in zip(names, row, strict=True))
                for row in zero[:20]
            ]
            self.zero_events.append((what, names, values))

    def _aligned(self, factors: Sequence[_Factor]) -> tuple[tuple[str, ...], list[np.ndarray]]:
        order: list[str] = []
        for f in factors:
            order.extend(v for v in f.vars if v not in order)
        _check_size(int(np.prod(self.data.shape(order), dtype=np.int64)), order)
        pos = {v: i for i, v in enumerate(order)}
        arrays = []
        for f in factors:
            perm = sorted(range(len(f.vars)), key=lambda i, f=f: pos[f.vars[i]])
            arr = np.transpose(f.arr, perm) if f.vars else f.arr
            shape = [len(self.data.domains[v]) if v in f.vars else 1 for v in order]
            arrays.append(np.reshape(arr, shape))
        return tuple(order), arrays

    def eval(self, e: Expression) -> _Factor:
        if isinstance(e, P):
            given = tuple(_sorted(e.given))
            names = tuple(_sorted(e.variables)) + given
            joint = self.data.marginal(names)
            if not given:
                return _Factor(names, joint)
            den = self.data.marginal(given)
            self._record(str(e), given, den)
            den_b = den.reshape((1,) * len(e.variables) + den.shape)
            with np.errstate(invalid="ignore", divide="ignore"):
                out = np.where(den_b > 0, joint / np.where(den_b > 0, den_b, 1.0), np.nan)
            return _Factor(names, out)
        if isinstance(e, Sum):
            body = self.eval(e.expression)
            axes = tuple(i for i, v in enumerate(body.vars) if v in e.variables)
            rest = tuple(v for v in body.vars if v not in e.variables)
            return _Factor(rest, np.sum(body.arr, axis=axes) if axes else body.arr)
        if isinstance(e, Product):
            if not e.factors:
                return _Factor((), np.array(1.0))
            order, arrays = self._aligned([self.eval(f) for f in e.factors])
            zero = np.zeros((1,) * len(order), dtype=bool)
            prod = np.ones((1,) * len(order))
            for a in arrays:
                zero = zero | (a == 0)
                prod = prod * a
            # a term multiplied by a zero probability is zero even where another factor is
            # undefined (conditioning on an impossible event)
            return _Factor(order, np.where(zero, 0.0, prod))
        if isinstance(e, Fraction):
            num, den = self.eval(e.numerator), self.eval(e.denominator)
            order, (a, b) = self._aligned([num, den])
            self._record(f"the denominator {e.denominator}", den.vars, den.arr)
            with np.errstate(invalid="ignore", divide="ignore"):
                out = np.where(b != 0, a / np.where(b != 0, b, 1.0), np.nan)
            return _Factor(order, out)
        raise TypeError(f"not an expression: {e!r}")


# ----------------------------------------------------------------------------- the estimand


def _query_text(
    treatment: Sequence[str], outcome: Sequence[str], given: Sequence[str], latex: bool = False
) -> str:
    def names(ns: Sequence[str]) -> str:
        return ", ".join(_latex_name(n) for n in ns) if latex else ", ".join(ns)

    do = "\\mathrm{do}" if latex else "do"
    mid = " \\mid " if latex else " | "
    cond = f"{do}({names(treatment)})" + (f", {names(given)}" if given else "")
    return f"P({names(outcome)}{mid}{cond})"


@dataclass(frozen=True)
class Estimand:
    """An identified causal query ``P(outcome | do(treatment), given)`` and its expression.

    Returned by :func:`deepcause.identification.algorithm`. ``kind`` is ``"backdoor"`` (then ``adjustment_set``
    holds the adjustment set, possibly empty), ``"frontdoor"`` (``mediators`` holds the
    front-door set), ``"conditional"`` (a query with ``given`` variables) or ``"general"``
    (any other output of the ID algorithm). The treatment values are not part of the query: the
    expression is a function of them, supplied to :meth:`evaluate`.

    >>> est = Estimand(Sum("Z", Product((P("Y", given=["X", "Z"]), P("Z")))), ("X",), ("Y",),
    ...                kind="backdoor", adjustment_set=("Z",))
    >>> print(est)
    P(Y | do(X)) = Σ_{Z} P(Y | X, Z) P(Z)
    >>> t = pd.DataFrame({"Z": [0, 0, 0, 0, 1, 1, 1, 1], "X": [0, 0, 1, 1] * 2,
    ...                   "Y": [0, 1] * 4, "probability": [.2, .1, .05, .05, .1, .1, .1, .3]})
    >>> est.evaluate(t, {"X": 1}).round(4).tolist()
    [0.35, 0.65]
    >>> round(est.probability(t, {"X": 1}, {"Y": 1}), 4)
    0.65
    """

    expression: Expression
    treatment: tuple[str, ...]
    outcome: tuple[str, ...]
    given: tuple[str, ...] = ()
    kind: str = "general"
    adjustment_set: tuple[str, ...] | None = None
    mediators: tuple[str, ...] | None = None

    @property
    def query(self) -> str:
        """The query in words, e.g. ``P(Y | do(X))``."""
        return _query_text(self.treatment, self.outcome, self.given)

    @property
    def variables(self) -> tuple[str, ...]:
        """Every variable the estimand mentions (query and expression), sorted."""
        names = _all_variables(self.expression) | set(self.treatment + self.outcome + self.given)
        return tuple(_sorted(names))

    def __str__(self) -> str:
        return f"{self.query} = {self.expression}"

    def to_text(self, ascii: bool = False) -> str:
        """``str()`` with an optional ASCII-only spelling (``sum_{Z}`` for ``Σ_{Z}``)."""
        return f"{self.query} = {self.expression.to_text(ascii=ascii)}"

    def to_latex(self) -> str:
        """LaTeX source of ``query = expression``."""
        query = _query_text(self.treatment, self.outcome, self.given, latex=True)
        return f"{query} = {self.expression.to_latex()}"

    def _repr_latex_(self) -> str:
        return f"${self.to_latex()}$"

    def simplify(self) -> Estimand:
        """The same estimand with a simplified expression."""
        return replace(self, expression=simplify(self.expression))

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (for JSON output)."""
        return {
            "query": self.query,
            "estimand": str(self.expression),
            "estimand_ascii": self.expression.to_text(ascii=True),
            "latex": self.expression.to_latex(),
            "kind": self.kind,
            "treatment": list(self.treatment),
            "outcome": list(self.outcome),
            "given": list(self.given),
            "adjustment_set": None if self.adjustment_set is None else list(self.adjustment_set),
            "mediators": None if self.mediators is None else list(self.mediators),
        }

    # ------------------------------------------------------------------ evaluation

    def _positions(
        self, data: _Prepared, values: Mapping[str, Any], names: Sequence[str], role: str
    ) -> dict[str, int]:
        if not isinstance(values, Mapping):
            raise QueryError(f"{role} values must be a mapping such as {{{names[0]!r}: 1}}")
        missing = [n for n in names if n not in values]
        extra = [k for k in values if k not in names]
        if missing or extra:
            raise QueryError(
                f"{role} values must give exactly one value for each of {list(names)}"
                + (f"; missing {missing}" if missing else "")
                + (f"; not {role} variables: {extra}" if extra else "")
            )
        out = {}
        for n in names:
            domain = data.domains[n]
            hits = np.flatnonzero(pd.Index(domain) == values[n])
            if hits.size == 0:
                shown = [_py(v) for v in domain[:20]]
                raise DataValidationError(
                    f"positivity violation: {role} value {n}={values[n]!r} never occurs in the "
                    f"data (observed values: {shown}); the query is undefined there"
                )
            out[n] = int(hits[0])
        return out

    def evaluate(
        self,
        data: pd.DataFrame | pd.Series,
        treatment_values: Mapping[str, Any],
        given_values: Mapping[str, Any] | None = None,
        *,
        weights: str | None = None,
    ) -> pd.Series:
        """Exact value of ``P(outcome | do(treatment = values), given)`` on discrete data.

        Parameters
        ----------
        data : either a DataFrame of discrete samples (one row per unit; the empirical
            distribution is plugged in), or a joint probability table: a DataFrame with one
            column per variable plus a column ``probability`` (or a Series with a MultiIndex
            over the variables). ``weights`` names a column of probabilities, counts or
            sampling weights to use instead (they are normalised).
        treatment_values : one value per treatment variable, e.g. ``{"X": 1}``.
        given_values : for a conditional query, the values of the ``given`` variables; when
            omitted the result covers every combination of their values.

        Returns a Series of probabilities indexed by the outcome values (a MultiIndex for
        several outcomes, with the ``given`` variables appended when ``given_values`` is
        omitted). The ID algorithm may return an expression that also mentions variables
        outside the query (e.g. ``R`` in the napkin ``Σ_w P(x, y | r, w) P(w) / Σ_w P(x | r, w)
        P(w)``) although its value provably does not depend on them; such variables are
        averaged out with weights ``P(r)`` over the values where the expression is defined
        (on the exact distribution every value gives the same answer; on a sample the average
        uses all the data). Terms multiplied by a zero probability count as zero; a conditional the
        estimand needs whose conditioning event has probability zero raises
        :class:`~deepcause.exceptions.DataValidationError` naming the variables and values.
        """
        needed = set(self.variables)
        prepared = _prepare(data, needed, weights)
        tpos = self._positions(prepared, treatment_values, self.treatment, "treatment")
        gpos: dict[str, int] = {}
        if given_values is not None:
            if not self.given:
                raise QueryError("given_values were passed but the query has no given variables")
            gpos = self._positions(prepared, given_values, self.given, "given")
        ctx = _Context(prepared)
        factor = ctx.eval(self.expression)
        fixed = {**tpos, **gpos}
        keep = list(self.outcome) + [g for g in self.given if g not in gpos]
        arr, names = factor.arr, list(factor.vars)
        index = tuple(fixed[v] if v in fixed else slice(None) for v in names)
        arr = arr[index] if names else arr
        names = [v for v in names if v not in fixed]
        if not set(self.outcome) <= set(names):
            raise QueryError(  # pragma: no cover - guarded by identify
                f"the estimand depends on {names}, not on all the outcomes {list(self.outcome)}"
            )
        for v in keep:  # the answer does not depend on a given variable missing from it
            if v not in names:
                arr = np.repeat(arr[..., None], len(prepared.domains[v]), axis=-1)
                names.append(v)
        extras = [v for v in names if v not in keep]
        arr = np.transpose(arr, [names.index(v) for v in keep + extras])
        if extras:
            arr = self._average_out(arr, prepared.marginal(tuple(extras)), len(self.outcome))
        if np.isnan(arr).any():
            raise DataValidationError(self._positivity_message(ctx, treatment_values, gpos))
        label = _query_text(
            [f"{k}={treatment_values[k]}" for k in self.treatment],
            self.outcome,
            [f"{k}={given_values[k]}" for k in self.given] if given_values else self.given,
        )
        index = _index([prepared.domains[v] for v in keep], keep)
        return pd.Series(arr.reshape(-1), index=index, name=label)

    @staticmethod
    def _average_out(arr: np.ndarray, weights: np.ndarray, n_outcome: int) -> np.ndarray:
        """Average the trailing axes (variables the answer provably does not depend on)."""
        k = arr.ndim - weights.ndim
        ok = ~np.isnan(arr).any(axis=tuple(range(n_outcome)), keepdims=True)
        w = np.where(ok, weights.reshape((1,) * k + weights.shape), 0.0)
        axes = tuple(range(k, arr.ndim))
        num = np.sum(np.where(ok, arr, 0.0) * w, axis=axes)
        den = np.sum(w, axis=axes)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)

    def _positivity_message(
        self, ctx: _Context, treatment_values: Mapping[str, Any], gpos: Mapping[str, int]
    ) -> str:
        fixed = {**treatment_values}
        parts = []
        for what, names, rows in ctx.zero_events:
            consistent = [
                r
                for r in rows
                if all(n not in fixed or r[i] == fixed[n] for i, n in enumerate(names))
            ] or rows
            shown = "; ".join(
                ", ".join(f"{n}={v!r}" for n, v in zip(names, r, strict=True))
                for r in consistent[:3]
            )
            parts.append(f"{what} needs P({', '.join(names)}) > 0 but it is 0 at {shown}")
        do = ", ".join(f"{k}={v!r}" for k, v in treatment_values.items())
        detail = "; ".join(parts[:4]) if parts else "a conditioning event has probability 0"
        given = " for some values of the given variables" if self.given and not gpos else ""
        return (
            f"positivity violation: {self.query} is undefined at do({do}){given}: {detail}. "
            "Collect data where these combinations occur, merge sparse categories, or choose "
            "other treatment values."
        )

    def probability(
        self,
        data: pd.DataFrame | pd.Series,
        treatment_values: Mapping[str, Any],
        outcome_values: Mapping[str, Any],
        given_values: Mapping[str, Any] | None = None,
        *,
        weights: str | None = None,
    ) -> float:
        """``P(outcome = outcome_values | do(treatment = treatment_values), given = given_values)``."""
        if self.given and given_values is None:
            raise QueryError(f"{self.query} needs given_values for {list(self.given)}")
        series = self.evaluate(data, treatment_values, given_values, weights=weights)
        if not isinstance(outcome_values, Mapping):
            raise QueryError("outcome_values must be a mapping such as {'Y': 1}")
        missing = [n for n in self.outcome if n not in outcome_values]
        if missing or set(outcome_values) - set(self.outcome):
            raise QueryError(f"outcome_values must give one value for each of {list(self.outcome)}")
        key = tuple(outcome_values[n] for n in self.outcome)
        try:
            return float(series.loc[key[0] if len(key) == 1 else key])
        except KeyError:
            raise DataValidationError(
                f"outcome value(s) {dict(outcome_values)} never occur in the data"
            ) from None
