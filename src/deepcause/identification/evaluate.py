"""Internal: numeric evaluation of estimand expressions on discrete data (the evaluator behind
:meth:`Estimand.evaluate <deepcause.identification.estimand.Estimand.evaluate>` and
:meth:`Expression.table <deepcause.identification.expressions.Expression.table>`).

Data (samples or a joint probability table) is turned into integer codes per variable and
normalised weights (:func:`prepare`); a :class:`Context` then computes dense factors, one axis
per free variable. The expression nodes drive the recursion (each calls back the primitive it
needs: :meth:`Context.probability`, :meth:`Context.marginalise`, :meth:`Context.product`,
:meth:`Context.fraction`), so this module does not depend on the expression classes.

Nothing here is public API (the classes skip input checks); evaluate through
:meth:`Estimand.evaluate <deepcause.identification.estimand.Estimand.evaluate>` or
:meth:`Expression.table <deepcause.identification.expressions.Expression.table>`.

>>> t = pd.DataFrame({"A": [0, 0, 1, 1], "B": [0, 1, 0, 1], "probability": [.1, .3, .2, .4]})
>>> ctx = Context(prepare(t, {"A", "B"}, None))
>>> f = ctx.probability(("A",), ("B",), "P(A | B)")
>>> f.vars, f.arr.round(3).tolist()
(('A', 'B'), [[0.333, 0.429], [0.667, 0.571]])
>>> ctx.marginalise(f, {"A"}).arr.tolist()
[1.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._validation import require_columns
from ..exceptions import DataValidationError
from ._names import _sorted

__all__: list[str] = []  # internal to deepcause.identification; see the module docstring

MAX_CELLS = 50_000_000  # largest dense factor an evaluation will build


def value_index(domains: Sequence[np.ndarray], names: Sequence[str]) -> pd.Index:
    """The index over every combination of the variables' values (a MultiIndex for several).

    >>> value_index([np.array([0, 1])], ["A"]).tolist()
    [0, 1]
    """
    if len(names) == 1:
        return pd.Index(domains[0], name=names[0])
    return pd.MultiIndex.from_product(list(domains), names=list(names))


def _check_size(size: int, names: Sequence[str]) -> None:
    if size > MAX_CELLS:
        raise DataValidationError(
            f"evaluating the estimand needs a table over {list(names)} with {size:,} cells; "
            "coarsen these variables (fewer distinct values) or use an estimator instead"
        )


class Prepared:
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

    def position(self, var: str, value: Any, what: str, undefined: str = "") -> int:
        """Index of ``value`` in the domain of ``var``; a :class:`DataValidationError` that starts
        with ``what`` (e.g. ``"treatment value"``), lists the observed values and ends with
        ``undefined`` when the value never occurs.

        >>> prep = prepare(pd.DataFrame({"A": ["a", "b"]}), ["A"], None)
        >>> prep.position("A", "b", "treatment value")
        1
        >>> prep.position("A", "c", "treatment value")
        Traceback (most recent call last):
        ...
        deepcause.exceptions.DataValidationError: treatment value A='c' never occurs in the data (observed values: ['a', 'b'])
        """
        domain = self.domains[var]
        hits = np.flatnonzero(pd.Index(domain) == value)
        if hits.size == 0:
            shown = [py_value(v) for v in domain[:20]]
            raise DataValidationError(
                f"{what} {var}={value!r} never occurs in the data (observed values: {shown})"
                + undefined
            )
        return int(hits[0])

    def shape(self, names: Sequence[str]) -> tuple[int, ...]:
        """Number of distinct values of each of ``names``."""
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


def _weights(data: pd.DataFrame, weights: str | None) -> np.ndarray:
    if weights is None:
        if len(data) == 0:
            raise DataValidationError("the data has no rows")
        return np.full(len(data), 1.0 / len(data))
    require_columns(data, [weights], role="weights column")
    w = pd.to_numeric(data[weights], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(w)) or (w < 0).any():
        raise DataValidationError(
            f"column {weights!r} must hold non-negative finite probabilities or counts"
        )
    total = w.sum()
    if total <= 0:
        raise DataValidationError(f"column {weights!r} sums to {total}; nothing to evaluate")
    return w / total


def prepare(
    data: pd.DataFrame | pd.Series, variables: Iterable[str], weights: str | None
) -> Prepared:
    """Codes and weights of ``variables`` from samples or a joint probability table.

    >>> prepare(pd.DataFrame({"A": [1, 0, 1]}), ["A"], None).marginal(("A",)).round(3).tolist()
    [0.333, 0.667]
    """
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
    require_columns(data, _sorted(variables))
    return Prepared(data, variables, _weights(data, weights))


def py_value(value: Any) -> Any:
    """A numpy scalar as the plain Python value (for messages).

    >>> py_value(np.int64(3)), py_value("a")
    (3, 'a')
    """
    return value.item() if isinstance(value, np.generic) else value


@dataclass
class Factor:
    """A dense array with one axis per variable in ``vars``."""

    vars: tuple[str, ...]
    arr: np.ndarray


@dataclass
class Context:
    """One evaluation: the data and the zero-probability events met on the way."""

    data: Prepared
    zero_events: list[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]] = field(
        default_factory=list
    )

    def _record(self, what: str, names: tuple[str, ...], den: np.ndarray) -> None:
        zero = np.argwhere(den == 0)
        if zero.size:
            values = [
                tuple(py_value(self.data.domains[v][i]) for v, i in zip(names, row, strict=True))
                for row in zero[:20]
            ]
            self.zero_events.append((what, names, values))

    def _aligned(self, factors: Sequence[Factor]) -> tuple[tuple[str, ...], list[np.ndarray]]:
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

    def eval(self, expression: Any) -> Factor:
        """The dense factor of an expression (each node calls back the primitive it needs)."""
        evaluate = getattr(expression, "_evaluate", None)
        if evaluate is None:
            raise TypeError(f"not an expression: {expression!r}")
        return evaluate(self)

    def probability(self, variables: tuple[str, ...], given: tuple[str, ...], label: str) -> Factor:
        """``P(variables | given)``, undefined (NaN) where ``P(given) = 0``."""
        names = variables + given
        joint = self.data.marginal(names)
        if not given:
            return Factor(names, joint)
        den = self.data.marginal(given)
        self._record(label, given, den)
        den_b = den.reshape((1,) * len(variables) + den.shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(den_b > 0, joint / np.where(den_b > 0, den_b, 1.0), np.nan)
        return Factor(names, out)

    def marginalise(self, body: Factor, variables: Iterable[str]) -> Factor:
        """Sum ``body`` over ``variables``."""
        summed = set(variables)
        axes = tuple(i for i, v in enumerate(body.vars) if v in summed)
        rest = tuple(v for v in body.vars if v not in summed)
        return Factor(rest, np.sum(body.arr, axis=axes) if axes else body.arr)

    def product(self, factors: Sequence[Factor]) -> Factor:
        """The product of ``factors`` (a zero factor wins over an undefined one)."""
        if not factors:
            return Factor((), np.array(1.0))
        order, arrays = self._aligned(factors)
        zero = np.zeros((1,) * len(order), dtype=bool)
        prod = np.ones((1,) * len(order))
        for a in arrays:
            zero = zero | (a == 0)
            prod = prod * a
        # a term multiplied by a zero probability is zero even where another factor is
        # undefined (conditioning on an impossible event)
        return Factor(order, np.where(zero, 0.0, prod))

    def fraction(self, num: Factor, den: Factor, label: str) -> Factor:
        """``num / den``, undefined (NaN) where the denominator is zero."""
        order, (a, b) = self._aligned([num, den])
        self._record(label, den.vars, den.arr)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(b != 0, a / np.where(b != 0, b, 1.0), np.nan)
        return Factor(order, out)
