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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataValidationError, QueryError
from ._names import _latex_name, _sorted
from .evaluate import Context, Factor, Prepared, prepare, value_index
from .expressions import (
    ONE,
    Expression,
    Fraction,
    P,
    Product,
    Sum,
    _all_variables,
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

    Parameters
    ----------
    expression : Expression
        The identifying formula over observational probabilities.
    treatment, outcome : tuple of str
        The intervened and the outcome variables of ``P(outcome | do(treatment), given)``.
    given : tuple of str, default ()
        Conditioning variables of a conditional query.
    kind : {"backdoor", "frontdoor", "conditional", "general"}, default "general"
        Which form the expression has (estimators use it to pick an estimation strategy).
    adjustment_set, mediators : tuple of str, optional
        The adjustment set of a back-door estimand, the mediators of a front-door one.

    Examples
    --------
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
        """The query as text, e.g. ``P(Y | do(X))``.

        >>> Estimand(P("Y", given="X"), ("X",), ("Y",)).query
        'P(Y | do(X))'
        """
        return _query_text(self.treatment, self.outcome, self.given)

    @property
    def variables(self) -> tuple[str, ...]:
        """Every variable the estimand mentions (query and expression), sorted.

        >>> Estimand(Sum("Z", P("Y", given=["X", "Z"]) * P("Z")), ("X",), ("Y",)).variables
        ('X', 'Y', 'Z')
        """
        names = _all_variables(self.expression) | set(self.treatment + self.outcome + self.given)
        return tuple(_sorted(names))

    def __str__(self) -> str:
        return f"{self.query} = {self.expression}"

    def to_text(self, ascii: bool = False) -> str:
        """``query = expression`` as text (what ``str()`` returns).

        Parameters
        ----------
        ascii : bool, default False
            Write ``sum_{Z}`` instead of ``Σ_{Z}``.

        Returns
        -------
        str

        Examples
        --------
        >>> est = Estimand(Sum("Z", P("Y", given=["X", "Z"]) * P("Z")), ("X",), ("Y",))
        >>> est.to_text(ascii=True)
        'P(Y | do(X)) = sum_{Z} P(Y | X, Z) P(Z)'
        """
        return f"{self.query} = {self.expression.to_text(ascii=ascii)}"

    def to_latex(self) -> str:
        """LaTeX source of ``query = expression``, without the surrounding ``$``.

        >>> print(Estimand(P("Y", given="X"), ("X",), ("Y",)).to_latex())
        P(Y \\mid \\mathrm{do}(X)) = P(Y \\mid X)
        """
        query = _query_text(self.treatment, self.outcome, self.given, latex=True)
        return f"{query} = {self.expression.to_latex()}"

    def _repr_latex_(self) -> str:
        return f"${self.to_latex()}$"

    def simplify(self) -> Estimand:
        """The same estimand with its expression simplified (see :func:`simplify`).

        >>> est = Estimand(Sum("Z", P(["Y", "Z"], given="X")), ("X",), ("Y",))
        >>> print(est.simplify())
        P(Y | do(X)) = P(Y | X)
        """
        return replace(self, expression=simplify(self.expression))

    def to_dict(self) -> dict[str, Any]:
        """The estimand as plain data (strings, lists and None) for JSON output.

        >>> d = Estimand(P("Y", given="X"), ("X",), ("Y",), kind="backdoor",
        ...              adjustment_set=()).to_dict()
        >>> d["query"], d["estimand"], d["adjustment_set"]
        ('P(Y | do(X))', 'P(Y | X)', [])
        """
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
        self, data: Prepared, values: Mapping[str, Any], names: Sequence[str], role: str
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
        what = f"positivity violation: {role} value"
        return {
            n: data.position(n, values[n], what, "; the query is undefined there") for n in names
        }

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
        data : DataFrame or Series
            Either discrete samples (one row per unit; the empirical distribution is plugged
            in), or a joint probability table: a DataFrame with one column per variable plus a
            column ``probability`` (or a Series with a MultiIndex over the variables).
        treatment_values : mapping
            One value per treatment variable, e.g. ``{"X": 1}``.
        given_values : mapping, optional
            For a conditional query, the values of the ``given`` variables; when omitted the
            result covers every combination of their values.
        weights : str, optional
            A column of probabilities, counts or sampling weights to use instead (they are
            normalised).

        Returns
        -------
        Series
            Probabilities indexed by the outcome values (a MultiIndex for several outcomes,
            with the ``given`` variables appended when ``given_values`` is omitted).

        Raises
        ------
        QueryError
            When ``treatment_values`` or ``given_values`` do not name exactly the query's
            variables.
        DataValidationError
            When a needed conditioning event has probability zero (positivity), naming the
            variables and values, or when the data lack a variable.

        Notes
        -----
        The ID algorithm may return an expression that also mentions variables
        outside the query (e.g. ``R`` in the napkin ``Σ_w P(x, y | r, w) P(w) / Σ_w P(x | r, w)
        P(w)``) although its value provably does not depend on them; such variables are
        averaged out with weights ``P(r)`` over the values where the expression is defined
        (on the exact distribution every value gives the same answer; on a sample the average
        uses all the data). Terms multiplied by a zero probability count as zero.

        Examples
        --------
        The front-door estimand (``X`` acts on ``Y`` only through ``M``; ``X`` and ``Y`` are
        confounded) on a joint probability table:

        >>> from deepcause.identification import identify
        >>> est = identify("X -> M -> Y; X <-> Y", "X", "Y")
        >>> t = pd.DataFrame({"X": [0, 0, 0, 0, 1, 1, 1, 1], "M": [0, 0, 1, 1] * 2,
        ...                   "Y": [0, 1] * 4, "probability": [.3, .1, .02, .08, .02, .03, .1, .35]})
        >>> est.evaluate(t, {"X": 1}).round(4).tolist()
        [0.2475, 0.7525]
        """
        prepared = prepare(data, set(self.variables), weights)
        tpos = self._positions(prepared, treatment_values, self.treatment, "treatment")
        gpos: dict[str, int] = {}
        if given_values is not None:
            if not self.given:
                raise QueryError("given_values were passed but the query has no given variables")
            gpos = self._positions(prepared, given_values, self.given, "given")
        ctx = Context(prepared)
        keep = list(self.outcome) + [g for g in self.given if g not in gpos]
        arr = self._arrange(ctx.eval(self.expression), {**tpos, **gpos}, keep, prepared)
        if np.isnan(arr).any():
            raise DataValidationError(self._positivity_message(ctx, treatment_values, gpos))
        label = _query_text(
            [f"{k}={treatment_values[k]}" for k in self.treatment],
            self.outcome,
            [f"{k}={given_values[k]}" for k in self.given] if given_values else self.given,
        )
        index = value_index([prepared.domains[v] for v in keep], keep)
        return pd.Series(arr.reshape(-1), index=index, name=label)

    def _arrange(
        self, factor: Factor, fixed: Mapping[str, int], keep: list[str], prepared: Prepared
    ) -> np.ndarray:
        """The factor's array at the ``fixed`` value positions, with axes in ``keep`` order.

        Variables in ``keep`` the factor lacks are broadcast; the remaining ones (which the
        answer provably does not depend on) are averaged out (see :meth:`_average_out`).
        """
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
        return arr

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
        self, ctx: Context, treatment_values: Mapping[str, Any], gpos: Mapping[str, int]
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
        """One number: ``P(outcome = values | do(treatment = values), given = values)``.

        Parameters
        ----------
        data : DataFrame or Series
            Samples or a joint probability table, as for :meth:`evaluate`.
        treatment_values, outcome_values : mapping
            One value per treatment and per outcome variable.
        given_values : mapping, optional
            One value per ``given`` variable (required for a conditional query).
        weights : str, optional
            A column of probabilities, counts or sampling weights.

        Returns
        -------
        float

        Raises
        ------
        QueryError
            When a mapping does not name exactly the query's variables.
        DataValidationError
            When the outcome value never occurs in the data, or positivity fails.

        Examples
        --------
        >>> est = Estimand(P("Y", given="X"), ("X",), ("Y",), kind="backdoor", adjustment_set=())
        >>> t = pd.DataFrame({"X": [0, 0, 1, 1], "Y": [0, 1, 0, 1], "probability": [.4, .1, .2, .3]})
        >>> est.probability(t, {"X": 1}, {"Y": 1})
        0.6
        """
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
