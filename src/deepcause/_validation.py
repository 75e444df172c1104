"""Input checks shared by every estimator. Each message names the problem and the fix."""

from __future__ import annotations

import difflib
import os
import sys
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import DataValidationError, DeepCauseWarning

__all__ = [
    "require_dataframe",
    "require_columns",
    "check_finite",
    "check_scale",
    "scaled_std",
    "SAFE_MAX",
    "check_binary",
    "check_group_sizes",
    "check_not_constant",
    "check_no_duplicate_columns",
    "numeric_covariates",
]


def require_dataframe(data: object, what: str = "data") -> pd.DataFrame:
    """Return ``data`` if it is a DataFrame, else raise :class:`DataValidationError`.

    >>> require_dataframe([[1, 2]], what="X")
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: X must be a pandas DataFrame with one column per variable, got list; wrap arrays with pd.DataFrame(array, columns=[...])
    """
    if isinstance(data, pd.DataFrame):
        return data
    raise DataValidationError(
        f"{what} must be a pandas DataFrame with one column per variable, got "
        f"{type(data).__name__}; wrap arrays with pd.DataFrame(array, columns=[...])"
    )


def _close(name: str, candidates: Iterable[str]) -> str:
    matches = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=3, cutoff=0.5)
    return f" (did you mean {', '.join(repr(m) for m in matches)}?)" if matches else ""


def require_columns(df: pd.DataFrame, columns: Iterable[str], role: str = "variable") -> None:
    """Raise if any of ``columns`` is missing from ``df``, suggesting close matches.

    >>> require_columns(pd.DataFrame({"re74": [1]}), ["re75"])
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: variable 're75' is not a column of the data (did you mean 're74'?); available columns: ['re74']

    A column whose name is a number, not text, is named as such:

    >>> require_columns(pd.DataFrame({0: [1]}), ["0"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: variable '0' is not a column of the data: the data's column is labelled 0 (type int), not the text '0'; name the columns by text: df.columns = df.columns.astype(str); ...
    """
    missing = [c for c in columns if c not in df.columns]
    if missing:
        parts = [f"{role} {c!r} is not a column of the data{_near(c, df.columns)}" for c in missing]
        shown = list(map(str, df.columns[:20]))
        more = "" if len(df.columns) <= 20 else f" ... ({len(df.columns)} in all)"
        raise DataValidationError("; ".join(parts) + f"; available columns: {shown}{more}")


_PACKAGE = os.path.dirname(os.path.abspath(__file__))  # deepcause's own files


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a :func:`warnings.warn` call by this function's caller
    point at the first frame outside deepcause and torch (whose ``no_grad`` decorator wraps
    ``sample`` and ``counterfactual``): the user's line, however deep the warning is raised.

    >>> def warns_here():  # a function outside deepcause: its own frame is the user's
    ...     return user_stacklevel()
    >>> warns_here()
    1
    """
    torch = sys.modules.get("torch")
    roots = (_PACKAGE, os.path.dirname(getattr(torch, "__file__", None) or _PACKAGE))
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(roots):
        frame, level = frame.f_back, level + 1
    return level


def _near(name: Any, columns: pd.Index) -> str:
    """Why ``name`` may be missing: a column named by a non-text label that prints as it, or
    close matches (:func:`_close`)."""
    typed = [c for c in columns if not isinstance(c, str) and str(c) == str(name)]
    if typed and isinstance(name, str):
        return (
            f": the data's column is labelled {typed[0]!r} (type {type(typed[0]).__name__}), not "
            f"the text {name!r}; name the columns by text: df.columns = df.columns.astype(str)"
        )
    return _close(name, columns)


SAFE_MAX = 1e150  # larger magnitudes overflow squares, products and variances to inf


def scaled_std(X: np.ndarray, axis: int = 0) -> np.ndarray:
    """Standard deviation computed on ``X / max|X|`` and scaled back, so it cannot overflow.

    >>> x = np.array([[1e200], [-1e200], [3e200]])   # np.std(x) overflows to inf
    >>> round(float(scaled_std(x)[0]) / 1e200, 4)
    1.633
    """
    X = np.asarray(X, dtype=float)
    top = np.max(np.abs(X), axis=axis, keepdims=True) if X.size else np.ones((1,) * X.ndim)
    top = np.where((top > 0) & np.isfinite(top), top, 1.0)
    return np.squeeze(top, axis=axis) * np.std(X / top, axis=axis)


def check_scale(df: pd.DataFrame, columns: Sequence[str] | None = None) -> None:
    """Raise if a numeric column holds values beyond ``±SAFE_MAX`` or has a non-finite spread.

    Such columns overflow to inf inside standardisation and least squares, and a confounder
    silently turns into zeros; they are refused instead (NaN and inf: see
    :func:`check_finite`).

    >>> check_scale(pd.DataFrame({"income": [1.0, 2e300]}))
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: column 'income' has values up to 2e+300 in magnitude, beyond the safe range ±1e+150 where squares and variances overflow; rescale the column (e.g. divide it by 1e+300) before fitting
    """
    cols = list(df.columns if columns is None else columns)
    for c in cols:
        col = df[c]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            continue
        values = col.to_numpy(dtype=float, na_value=np.nan)
        finite = values[np.isfinite(values)]
        top = float(np.max(np.abs(finite))) if finite.size else 0.0
        if top == 0.0:  # empty or all zeros: nothing can overflow (and 0 / 0 would warn)
            continue
        if top > SAFE_MAX or not np.isfinite(np.var(finite / top) * top):
            raise DataValidationError(
                f"column {c!r} has values up to {top:.3g} in magnitude, beyond the safe range "
                f"±{SAFE_MAX:.0e} where squares and variances overflow; rescale the column "
                f"(e.g. divide it by {10 ** np.floor(np.log10(top)):.0e}) before fitting"
            )


def check_finite(
    df: pd.DataFrame, columns: Sequence[str] | None = None, when: str = "before fitting"
) -> None:
    """Raise if numeric columns contain NaN or inf, naming columns and row counts, or values
    beyond the safe range (:func:`check_scale`); ``when`` ends the advice (data given to a
    fitted model: ``"first"``).

    >>> check_finite(pd.DataFrame({"x": [1.0, np.inf, np.nan], "t": [0, 1, 1]}))
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: missing or infinite values in 'x' (2 rows); 2 rows affected in all. Drop them (df.dropna()) or impute them before fitting.
    """
    cols = list(df.columns if columns is None else columns)
    sub = df[cols]
    complex_ = [c for c in cols if pd.api.types.is_complex_dtype(sub[c])]
    if complex_:
        raise DataValidationError(
            f"column(s) {complex_} hold complex numbers; give real numbers (e.g. the real and "
            "imaginary parts as two columns)"
        )
    problems = []
    bad_rows = np.zeros(len(df), dtype=bool)
    for c in cols:
        col = sub[c]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            values = col.to_numpy(dtype=float, na_value=np.nan)
            bad = ~np.isfinite(values)
        else:
            bad = col.isna().to_numpy()
        if bad.any():
            problems.append(f"{c!r} ({int(bad.sum())} rows)")
            bad_rows |= bad
    if problems:
        raise DataValidationError(
            f"missing or infinite values in {', '.join(problems)}; {int(bad_rows.sum())} rows "
            f"affected in all. Drop them (df.dropna()) or impute them {when}."
        )
    check_scale(sub, cols)


def check_binary(values: pd.Series | np.ndarray, name: str = "treatment") -> np.ndarray:
    """Return a 0/1 integer array or raise showing the values seen.

    Booleans and any two-valued numeric column with values {0, 1} are accepted.

    >>> check_binary(pd.Series([True, False, True]))
    array([1, 0, 1])
    >>> check_binary([0, 1, 2], name="dose")
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: dose must be binary with values 0 and 1; values seen: ['0', '1', '2']...
    """
    arr = np.asarray(values)
    if arr.dtype == bool:
        return arr.astype(np.int64)
    seen = pd.unique(pd.Series(arr).dropna())
    if not np.issubdtype(arr.dtype, np.number) or not set(seen.tolist()) <= {0, 1}:
        shown = sorted(map(str, seen))[:10]
        raise DataValidationError(
            f"{name} must be binary with values 0 and 1; values seen: {shown}"
            f"{' ...' if len(seen) > 10 else ''}. Recode it as 0/1 (for example compare the "
            "column with the level of interest, (column == level).astype(int)), or use an "
            "estimator for multi-valued treatments (PlugIn on discrete data)."
        )
    return arr.astype(np.int64)


def check_group_sizes(t: np.ndarray, name: str = "treatment", minimum: int = 2) -> None:
    """Raise if a treatment arm has fewer than ``minimum`` units.

    >>> check_group_sizes(np.array([1, 1, 1, 0]))
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: treatment group 0 has 1 unit(s); at least 2 are needed in each group to estimate an effect.
    """
    for arm in (0, 1):
        count = int(np.sum(t == arm))
        if count < minimum:
            raise DataValidationError(
                f"{name} group {arm} has {count} unit(s); at least {minimum} are needed in each "
                "group to estimate an effect."
            )


def _is_constant(col: pd.Series) -> bool:
    if len(col) == 0:
        return True
    values = col.to_numpy()
    if values.dtype.kind in "biuf":  # fast path; NaN-free columns (checked before) compare exactly
        return bool((values == values[0]).all())
    return col.nunique(dropna=False) <= 1


def check_not_constant(df: pd.DataFrame, columns: Sequence[str], role: str = "covariate") -> None:
    """Raise if one of ``columns`` takes a single value.

    >>> check_not_constant(pd.DataFrame({"age": [30, 40], "site": [1, 1]}), ["age", "site"])
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: covariate column(s) ['site'] are constant and carry no information; drop them.
    """
    constant = [c for c in columns if _is_constant(df[c])]
    if constant:
        raise DataValidationError(
            f"{role} column(s) {constant} are constant and carry no information; drop them."
        )


def check_no_duplicate_columns(df: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise if two of ``columns`` hold identical values (or a name is repeated).

    >>> df = pd.DataFrame({"a": [1, 2, 3], "b": [1, 2, 3], "c": [3, 2, 1]})
    >>> check_no_duplicate_columns(df, ["a", "c"])  # fine: nothing raised
    >>> check_no_duplicate_columns(df, ["a", "b", "c"])
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: columns [['a', 'b']] hold identical values; keep one of each group.
    """
    names = list(columns)
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise DataValidationError(f"column name(s) {repeated} appear more than once; rename them.")
    if len(names) < 2:
        return
    # one O(n) fingerprint per column (no transposed copy), then exact comparison of candidates
    prints: dict[tuple[int, int], list[str]] = {}
    for c in names:
        h = pd.util.hash_pandas_object(df[c], index=False).to_numpy()
        key = (int(h.sum(dtype=np.uint64)), int((h[::7] ^ h[0]).sum(dtype=np.uint64)))
        prints.setdefault(key, []).append(c)
    groups = []
    for cands in prints.values():
        while len(cands) > 1:
            first = df[cands[0]]
            same = [c for c in cands[1:] if df[c].equals(first)]
            if same:
                groups.append([str(cands[0]), *map(str, same)])
            cands = [c for c in cands[1:] if c not in same]
    if groups:
        raise DataValidationError(
            f"columns {groups} hold identical values; keep one of each group."
        )


def numeric_covariates(df: pd.DataFrame, columns: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Return a float matrix of ``columns``; categorical ones are one-hot encoded with a warning.

    Boolean columns become 0/1 without a warning.

    >>> X, names = numeric_covariates(pd.DataFrame({"age": [30, 40], "smoker": [True, False]}),
    ...                               ["age", "smoker"])
    >>> X.tolist(), names
    ([[30.0, 1.0], [40.0, 0.0]], ['age', 'smoker_True'])
    """
    categorical = [
        c
        for c in columns
        if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])
    ]
    sub = df[list(columns)]
    if categorical:
        non_bool = [c for c in categorical if not pd.api.types.is_bool_dtype(df[c])]
        if non_bool:
            warnings.warn(
                f"categorical column(s) {non_bool} were one-hot encoded (first level dropped); "
                "encode them yourself to control the coding.",
                DeepCauseWarning,
                stacklevel=3,
            )
        sub = pd.get_dummies(sub, columns=categorical, drop_first=True, dtype=float)
    check_scale(sub)
    return sub.to_numpy(dtype=float), [str(c) for c in sub.columns]
