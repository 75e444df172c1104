"""Discrete data for bounds: a joint probability array over the graph's variables.

``data`` is either samples (one row per unit, discrete columns) or a joint probability table
(one column per variable plus ``probability``). Both become a :class:`Joint`: the variables in
the graph's topological order, the sorted levels of each, and the joint probabilities as an
array with one axis per variable. Every refusal is one line naming the problem and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..._validation import require_columns, require_dataframe
from ...exceptions import DataValidationError, QueryError

__all__ = [
    "Joint",
    "Interventional",
    "continuous_columns",
    "joint_from_data",
    "interventional_from_data",
    "positions",
]

PROB = "probability"
MAX_LEVELS = 50
TOL = 1e-6


@dataclass(frozen=True, eq=False)
class Joint:
    """Joint distribution of discrete variables; ``n`` is the sample size (None for a table)."""

    names: tuple[str, ...]
    levels: tuple[tuple[Any, ...], ...]
    prob: np.ndarray
    n: int | None = None

    @property
    def cards(self) -> tuple[int, ...]:
        return tuple(len(lv) for lv in self.levels)

    def axis(self, name: str) -> int:
        return self.names.index(name)

    def marginal(self, names: Sequence[str]) -> np.ndarray:
        """Marginal over ``names`` (in the order of ``self.names``), keeping all axes."""
        drop = tuple(i for i, v in enumerate(self.names) if v not in names)
        return self.prob.sum(axis=drop, keepdims=True)

    def resample(self, rng: np.random.Generator) -> Joint:
        """A bootstrap replicate: multinomial counts over the cells (= resampling the rows)."""
        assert self.n is not None
        p = self.prob.ravel()
        counts = rng.multinomial(self.n, p / p.sum())
        return Joint(self.names, self.levels, (counts / self.n).reshape(self.prob.shape), self.n)


@dataclass(frozen=True, eq=False)
class Interventional:
    """``P(others | do(treated))``: ``prob`` has the treated axes first, then the others."""

    treated: tuple[str, ...]
    others: tuple[str, ...]
    prob: np.ndarray
    n: int | None = None
    counts: np.ndarray | None = None  # joint sample counts over (treated, others) for resampling

    def resample(self, rng: np.random.Generator) -> Interventional:
        if self.counts is None:
            return self
        c = self.counts.ravel()
        counts = rng.multinomial(int(c.sum()), c / c.sum()).reshape(self.counts.shape)
        return Interventional(self.treated, self.others, _conditional(counts, len(self.treated)),
                              self.n, self.counts)  # fmt: skip


def _levels(col: pd.Series, name: str) -> tuple[Any, ...]:
    if col.isna().any():
        raise DataValidationError(
            f"column {name!r} has {int(col.isna().sum())} missing values; drop or impute them "
            f"before computing bounds"
        )
    values = pd.unique(col)
    if pd.api.types.is_float_dtype(col) and not np.all(np.mod(values.astype(float), 1) == 0):
        raise DataValidationError(
            f"column {name!r} is continuous (non-integer values such as {values[0]!r}); bounds "
            f"need discrete variables: discretise it first (pd.cut) or use method='ncm'"
        )
    if len(values) > MAX_LEVELS:
        raise DataValidationError(
            f"column {name!r} has {len(values)} distinct values (more than {MAX_LEVELS}); bounds "
            f"need few levels: discretise it first (pd.cut) or use method='ncm'"
        )
    try:
        return tuple(sorted(values.tolist()))
    except TypeError:
        return tuple(sorted(values.tolist(), key=str))


def _codes(df: pd.DataFrame, names: Sequence[str], levels: Sequence[tuple[Any, ...]]) -> tuple:
    return tuple(
        pd.Categorical(df[v], categories=list(lv)).codes.astype(np.intp)
        for v, lv in zip(names, levels, strict=True)
    )


def _weights(df: pd.DataFrame, what: str) -> np.ndarray:
    w = pd.to_numeric(df[PROB], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(w)) or (w < 0).any():
        raise DataValidationError(
            f"column 'probability' of the {what} must hold finite non-negative probabilities; "
            f"fix or drop the offending rows"
        )
    return w


def _check_table_rows(df: pd.DataFrame, allowed: Sequence[str], what: str) -> None:
    """Every column is a graph node or ``probability``; one row per combination of values."""
    extra = [c for c in df.columns if c not in allowed and c != PROB]
    if extra:
        raise DataValidationError(
            f"column {extra[0]!r} of the {what} probability table is not a variable of the "
            f"query; sum it out (df.groupby([...])['probability'].sum()) or add it to the graph"
        )
    if df.duplicated(subset=[c for c in df.columns if c != PROB]).any():
        raise DataValidationError(
            f"the {what} probability table lists a combination of values twice; give one row "
            f"per combination (sum duplicates with df.groupby([...])['probability'].sum())"
        )


def joint_from_data(data: object, names: Sequence[str], nodes: Sequence[str] = ()) -> Joint:
    """The :class:`Joint` of ``names`` from samples or from a probability table.

    A table may also hold other graph ``nodes`` (summed out); any other column is refused.

    >>> df = pd.DataFrame({"X": [0, 1, 1, 1], "Y": [0, 0, 1, 1]})
    >>> j = joint_from_data(df, ["X", "Y"])
    >>> j.levels, j.prob.tolist(), j.n
    (((0, 1), (0, 1)), [[0.25, 0.0], [0.25, 0.5]], 4)
    """
    df = require_dataframe(data)
    names = tuple(names)
    require_columns(df, names, role="graph node")
    if len(df) == 0:
        raise DataValidationError("the data has no rows; pass samples or a probability table")
    levels = tuple(_levels(df[v], v) for v in names)
    shape = tuple(len(lv) for lv in levels)
    prob = np.zeros(shape)
    is_table = PROB in df.columns and PROB not in names
    if is_table:
        _check_table_rows(df, (*names, *nodes), "data")
        w = _weights(df, "data")
        if abs(w.sum() - 1) > TOL:
            raise DataValidationError(
                f"the probabilities of the data table sum to {w.sum():.6g}, not 1; normalise "
                f"them (df['probability'] /= df['probability'].sum()) or pass samples"
            )
        np.add.at(prob, _codes(df, names, levels), w / w.sum())
        return Joint(names, levels, prob, None)
    np.add.at(prob, _codes(df, names, levels), 1.0)
    return Joint(names, levels, prob / len(df), len(df))


def continuous_columns(data: object, names: Sequence[str]) -> list[str]:
    """The columns of ``names`` in samples that are continuous or have more than
    ``MAX_LEVELS`` values (a probability table is discrete by construction).

    >>> continuous_columns(pd.DataFrame({"X": [0, 1], "Y": [0.5, 1.2]}), ["X", "Y"])
    ['Y']
    """
    if not isinstance(data, pd.DataFrame) or PROB in data.columns:
        return []
    out = []
    for v in (v for v in names if v in data.columns):
        col = data[v]
        values = pd.unique(col.dropna())
        fractional = pd.api.types.is_float_dtype(col) and not np.all(np.mod(values, 1) == 0)
        if fractional or len(values) > MAX_LEVELS:
            out.append(v)
    return out


def _conditional(counts: np.ndarray, k: int) -> np.ndarray:
    """Normalise over the trailing axes (after the first ``k``); empty slices stay zero."""
    axes = tuple(range(k, counts.ndim))
    tot = counts.sum(axis=axes, keepdims=True)
    return np.divide(counts, tot, out=np.zeros(counts.shape), where=tot > 0)


def interventional_from_data(data: object, joint: Joint, treated: Sequence[str]) -> Interventional:
    """``P(others | do(treated))`` from an experimental table or experimental samples.

    The columns are the treated variables and the measured outcomes (graph nodes), plus
    ``probability`` for a table, whose probabilities must sum to 1 within each treatment value.
    Levels are those of the observational data.
    """
    df = require_dataframe(data, "experimental")
    treated = tuple(treated)
    require_columns(df, treated, role="treatment")
    others = tuple(c for c in df.columns if c not in treated and c != PROB)
    unknown = [c for c in others if c not in joint.names]
    if unknown or not others:
        what = f"column {unknown[0]!r} is not a graph node" if unknown else "it has no outcome"
        raise DataValidationError(
            f"experimental data: {what}; give the treatment column(s), outcome column(s) and, "
            f"for a table, 'probability'"
        )
    names = treated + others
    levels = [joint.levels[joint.axis(v)] for v in names]
    for v, lv in zip(names, levels, strict=True):
        bad = set(df[v].tolist()) - set(lv)
        if bad:
            raise DataValidationError(
                f"experimental data: {v}={sorted(bad, key=str)[0]!r} never occurs in the "
                f"observational data (values {list(lv)}); recode it to match"
            )
    counts = np.zeros(tuple(len(lv) for lv in levels))
    is_table = PROB in df.columns
    if is_table:
        _check_table_rows(df, names, "experimental")
    np.add.at(counts, _codes(df, names, levels), _weights(df, "experimental") if is_table else 1.0)
    prob = _conditional(counts, len(treated))
    sums = counts.sum(axis=tuple(range(len(treated), counts.ndim)))
    if is_table and np.any(np.abs(sums[sums > 0] - 1) > TOL):
        raise DataValidationError(
            "experimental probability table: P(outcome | do(treatment)) must sum to 1 for each "
            "treatment value; normalise within each treatment value"
        )
    return Interventional(treated, others, prob, None if is_table else len(df),
                          None if is_table else counts)  # fmt: skip


def _match(value: Any, levels: tuple[Any, ...]) -> int | None:
    for i, lv in enumerate(levels):
        if lv == value:
            return i
    text = str(value)
    hits = [i for i, lv in enumerate(levels) if str(lv) == text]
    return hits[0] if len(hits) == 1 else None


def positions(joint: Joint, assignment: object, role: str) -> dict[str, int]:
    """Level indices of a value assignment such as ``{"X": 1}``; names and values are checked.

    >>> j = joint_from_data(pd.DataFrame({"X": [0, 1]}), ["X"])
    >>> positions(j, {"X": 1}, "treatment"), positions(j, {"X": "1"}, "treatment")
    ({'X': 1}, {'X': 1})
    """
    if not isinstance(assignment, Mapping) or not assignment:
        raise QueryError(
            f"{role} must be a non-empty value assignment such as {{'X': 1}}, got {assignment!r}"
        )
    out = {}
    for name, value in assignment.items():
        if name not in joint.names:
            raise QueryError(
                f"{role} variable {name!r} is not a node of the graph (nodes: {list(joint.names)})"
            )
        levels = joint.levels[joint.axis(name)]
        idx = _match(value, levels)
        if idx is None:
            raise QueryError(
                f"{role} {name}={value!r} is not a value of {name} in the data (values: "
                f"{list(levels)}); use one of those"
            )
        out[name] = idx
    return out
