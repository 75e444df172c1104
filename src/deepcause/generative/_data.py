"""The data containers of the generative models: a data frame, or a mapping ``{node: array}``
with ``(n, C, H, W)`` images (:func:`split_data`), and what comes back out (:class:`Samples` for
mappings, in the order the columns came in: :func:`input_order`; text and categorical columns
in their own kind: :func:`column_dtype`, :func:`column_values`). How the columns become node
tensors: :mod:`deepcause.generative._encoding`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataValidationError
from ._images import check_image_layout

__all__ = [
    "KEY_ORDER",
    "TEXT_ARRAYS",
    "Samples",
    "column_dtype",
    "column_values",
    "input_order",
    "split_data",
]

TEXT_ARRAYS = "deepcause_text_arrays"  # split_data's note of numpy text columns (frame.attrs)
KEY_ORDER = "deepcause_key_order"  # split_data's note of a mapping's key order (frame.attrs)


class Samples(dict):
    """A mapping ``{node: array}`` returned for mapping input; ``attrs`` as on a data frame.

    >>> s = Samples({"X": np.zeros(2)})
    >>> s.attrs["identified"] = True
    >>> sorted(s), s.attrs
    (['X'], {'identified': True})
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attrs: dict[str, Any] = {}

    @classmethod
    def of(cls, columns: Mapping[str, Any]) -> Samples:
        """Output columns as a mapping: arrays copied, ``pd.Categorical`` kept (its input's kind).

        >>> s = Samples.of({"a": np.broadcast_to(1.0, (2,)), "c": pd.Categorical(["x", "y"])})
        >>> s["a"].flags.writeable, type(s["c"]).__name__
        (True, 'Categorical')
        """
        return cls(
            {k: a if isinstance(a, pd.Categorical) else np.array(a) for k, a in columns.items()}
        )


def split_data(data: Any, role: str = "data") -> tuple[pd.DataFrame, dict[str, np.ndarray], bool]:
    """``(tabular frame, {image node: (n, C, H, W) float array}, was_mapping)`` from ``data``.

    A data frame passes through (duplicate column names are refused); a mapping gives 1-D
    arrays as frame columns (a ``pd.Categorical`` or categorical Series stays categorical, so
    its dtype comes back out) and 4-D arrays as images (checked: channels first, at least 4x4
    pixels, finite; :func:`~deepcause.generative._images.check_image_layout`).

    >>> df, images, mapping = split_data({"y": np.arange(3), "img": np.zeros((3, 1, 4, 4))})
    >>> list(df.columns), images["img"].shape, mapping
    (['y'], (3, 1, 4, 4), True)
    """
    if isinstance(data, pd.DataFrame):
        dup = sorted({str(c) for c in data.columns[data.columns.duplicated()]})
        if dup:
            raise DataValidationError(
                f"{role} has duplicate column name(s) {dup}; give each column one name"
            )
        for c in data.columns:
            first = data[c].iloc[0] if len(data) and data[c].dtype.kind == "O" else None
            if isinstance(first, np.ndarray | list) and np.ndim(first) > 0:
                raise DataValidationError(
                    f"{role} column {c!r} holds arrays; give image nodes in a mapping "
                    "{node: array} ((n, C, H, W) images, 1-D arrays for tabular nodes)"
                )
        return data, {}, False
    if not isinstance(data, Mapping):
        raise DataValidationError(
            f"{role} must be a pandas DataFrame or a mapping {{node: array}}, got "
            f"{type(data).__name__}"
        )
    columns: dict[str, np.ndarray] = {}
    images: dict[str, np.ndarray] = {}
    text: dict[str, np.dtype] = {}
    lengths = {}
    for key, value in data.items():
        if isinstance(value, pd.Categorical) or isinstance(
            getattr(value, "dtype", None), pd.CategoricalDtype
        ):  # kept categorical: its dtype comes back out
            arr = pd.Series(value).array
        else:
            arr = value.to_numpy() if isinstance(value, pd.Series) else np.asarray(value)
        if arr.ndim == 4:
            if arr.dtype.kind not in "biuf":
                raise DataValidationError(
                    f"{role}[{key!r}]: image arrays must be real numbers or booleans, got "
                    f"{arr.dtype} (convert them, e.g. images.astype(np.float32))"
                )
            check_image_layout(f"{role}[{key!r}]", arr.shape)
            if not np.all(np.isfinite(arr)):
                raise DataValidationError(
                    f"{role}[{key!r}] contains NaN or inf pixels; drop or repair those images"
                )
            images[str(key)] = arr
        elif arr.ndim == 1:
            columns[str(key)] = arr
            if arr.dtype.kind == "U":  # numpy text comes back as numpy text, not object
                text[str(key)] = arr.dtype
        else:
            hint = (
                "; grey images need a channel axis: images[:, None]"
                if arr.ndim == 3
                else f"; a column of one value per unit: give {role}[{key!r}].ravel()"
                if arr.ndim == 2 and arr.shape[1] == 1
                else ""
            )
            raise DataValidationError(
                f"{role}[{key!r}] has shape {arr.shape}; give image nodes as (n, C, H, W) "
                f"arrays and tabular nodes as 1-D arrays{hint}"
            )
        lengths[str(key)] = len(arr)
    if len(set(lengths.values())) > 1:
        raise DataValidationError(f"{role}: the arrays have different lengths {lengths}")
    n = next(iter(lengths.values()), 0)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(n))
    frame.attrs[TEXT_ARRAYS] = text
    frame.attrs[KEY_ORDER] = list(lengths)
    return frame, images, True


def input_order(df: pd.DataFrame, images: Mapping[str, Any]) -> list[Any]:
    """The columns and image nodes of :func:`split_data`'s output in the order they came in
    (a data frame's columns, a mapping's keys).

    >>> data = {"y": np.arange(3), "img": np.zeros((3, 1, 4, 4)), "t": [1, 2, 3]}
    >>> df, images, _ = split_data(data)
    >>> input_order(df, images)
    ['y', 'img', 't']
    """
    return df.attrs.get(KEY_ORDER) or [*df.columns, *images]


def column_dtype(df: pd.DataFrame, column: str) -> Any:
    """The dtype ``column`` came in with: the frame's dtype, or numpy text (``<U``) for a text
    array given in a mapping (which a data frame holds as object).

    >>> df, _, _ = split_data({"s": np.array(["a", "bc"]), "k": np.array([1, 2])})
    >>> column_dtype(df, "s"), column_dtype(df, "k")
    (dtype('<U2'), dtype('int64'))
    """
    return df.attrs.get(TEXT_ARRAYS, {}).get(column, df[column].dtype)


def column_values(df: pd.DataFrame, column: str) -> Any:
    """``column`` as it came in: numpy text as numpy text, a categorical as ``pd.Categorical``,
    other columns as numpy arrays.

    >>> df, _, _ = split_data({"s": np.array(["a", "bc"]), "c": pd.Categorical(["x", "y"])})
    >>> column_values(df, "s").dtype, type(column_values(df, "c")).__name__
    (dtype('<U2'), 'Categorical')
    """
    if isinstance(df[column].dtype, pd.CategoricalDtype):
        return df[column].array
    text = df.attrs.get(TEXT_ARRAYS, {}).get(column)
    return df[column].to_numpy() if text is None else df[column].to_numpy(dtype=text)
