"""Checked ``do=`` specifications: a hard value per node (encoded like the node's training
data, with a warning outside its observed range) or a shift function of the natural value
(checked the same way when applied).

>>> import pandas as pd
>>> from deepcause.generative._encoding import infer_spec
>>> spec = infer_spec("x", pd.DataFrame({"x": [0.0, 1.0, 2.0]}), ["x"], discrete=None)
>>> parse_do({"x": 1.0}, {"x": spec}, 2, torch.device("cpu"))["x"].value.flatten().tolist()
[0.0, 0.0]
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..exceptions import DataValidationError, UnknownNodeError
from ._encoding import NodeSpec, as_training_dtype
from ._image_support import ImageSupport, warn_off_images
from ._images import layout_hint
from ._support import outside_range, warn_extrapolation

__all__ = ["DoSpec", "align_do", "apply_shift", "parse_do"]


@dataclass(frozen=True)
class DoSpec:
    """A checked intervention on one node: a hard value (encoded tensor) or a shift function."""

    node: str
    value: torch.Tensor | None = None
    shift: Callable[[np.ndarray], Any] | None = None
    raw: Any = None  # the hard value as given, written back exactly into the output


def parse_do(
    do: Mapping[str, Any] | None,
    specs: Mapping[str, NodeSpec],
    n: int,
    device: torch.device,
    image_supports: Mapping[str, ImageSupport] | None = None,
) -> dict[str, DoSpec]:
    """Check a ``do=`` mapping against the model's nodes and encode hard values for ``n`` units.

    A hard value that extrapolates beyond the node's training data warns
    (:class:`~deepcause.exceptions.PositivityWarning`, rule in
    :mod:`deepcause.generative._support`; for image nodes with a support in
    ``image_supports``, :mod:`deepcause.generative._image_support`); shift functions are
    checked when applied.

    Examples
    --------
    >>> import warnings
    >>> spec = NodeSpec("x", ["x"], False, mean=[0.0], std=[1.0], low=-2.0, high=2.0, n_obs=50)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     out = parse_do({"x": 2.5}, {"x": spec}, 3, torch.device("cpu"))
    >>> out["x"].value.tolist(), caught[0].category.__name__
    ([[2.5], [2.5], [2.5]], 'PositivityWarning')
    """
    if do is None:
        return {}
    if not isinstance(do, Mapping):
        raise DataValidationError(
            f"do must be a mapping from node to value, array or callable, got {type(do).__name__}"
        )
    out: dict[str, DoSpec] = {}
    for node, value in do.items():
        if node not in specs:
            owner = [s.name for s in specs.values() if node in s.columns and len(s.columns) > 1]
            hint = (
                f"; {node!r} is a column of vector node {owner[0]!r}, intervene on the node"
                if owner
                else _close(node, specs)
            )
            raise UnknownNodeError(
                f"cannot intervene on {node!r}: it is not a node of the model{hint}"
            )
        spec = specs[node]
        if callable(value):
            out[node] = DoSpec(node, shift=value)
            continue
        out[node] = DoSpec(node, value=_encode_do_value(spec, value, n, device), raw=value)
        if spec.is_image:
            warn_off_images(image_supports, node, value)
        else:
            warn_extrapolation(spec, value)
    return out


def align_do(do: Mapping[str, Any], index: pd.Index) -> dict[str, Any]:
    """``do`` with its pandas Series values put in the order of the factual rows' ``index``.

    A Series indexed like the rows (or of one value) passes unchanged; one with the same labels
    in another order is reordered to the rows (as pandas aligns); one whose labels differ is
    refused, since reading it by position would give units each other's values. Arrays are
    read by position.

    >>> rows = pd.Index([10, 11, 12])
    >>> align_do({"x": pd.Series([2.0, 0.0, 1.0], index=[12, 10, 11])}, rows)["x"].tolist()
    [0.0, 1.0, 2.0]
    >>> align_do({"x": pd.Series([0.0, 1.0, 2.0])}, rows)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    deepcause.exceptions.DataValidationError: do['x'] is a pandas Series whose index does not match the factual rows' index ...
    """
    out = dict(do)
    for node, value in do.items():
        if not isinstance(value, pd.Series) or len(value) == 1 or value.index.equals(index):
            continue  # (one value is one value for every unit)
        same = (
            index.is_unique
            and value.index.is_unique
            and len(value) == len(index)
            and value.index.isin(index).all()
        )
        if not same:
            raise DataValidationError(
                f"do[{node!r}] is a pandas Series whose index does not match the factual rows' "
                f"index (first labels {list(value.index[:3])} against {list(index[:3])}); give "
                f"it indexed like the rows (e.g. factual[{node!r}] + 1), or "
                f"do={{{node!r}: values.to_numpy()}} for values in row order"
            )
        out[node] = value.reindex(index)
    return out


def _encode_do_value(spec: NodeSpec, value: Any, n: int, device: torch.device) -> torch.Tensor:
    if value is None:
        raise DataValidationError(
            f"do-value for node {spec.name!r} is None; give a value, or leave {spec.name!r} out "
            "of do="
        )
    try:
        arr = np.asarray(value, dtype=object if spec.discrete else float)
    except (TypeError, ValueError):
        kind = "an image array" if spec.is_image else "numbers"
        raise DataValidationError(
            f"do-value for node {spec.name!r} must be {kind}, got {type(value).__name__} "
            f"{str(value)[:40]!r}"
        ) from None
    if spec.discrete:
        ok = arr.ndim == 0 or (arr.ndim == 1 and arr.shape[0] in (1, n))
        want = f"a level of the node or an array of {n} levels"
    elif spec.shape is not None:
        shape = tuple(spec.shape)
        ok = arr.shape == shape or (arr.ndim == 4 and arr.shape[1:] == shape and len(arr) in (1, n))
        want = (
            f"one image of shape {shape} or an array of shape ({n}, {', '.join(map(str, shape))})"
        )
        if ok and arr.ndim == 4 and len(arr) == 1:
            arr = arr[0]
    elif spec.dim == 1:
        ok = arr.ndim == 0 or (arr.ndim == 1 and arr.shape[0] in (1, n)) or arr.shape == (n, 1)
        want = f"a number or an array of length n = {n}"
    else:
        ok = arr.shape in ((spec.dim,), (n, spec.dim))
        want = f"a vector of length {spec.dim} or an array of shape ({n}, {spec.dim})"
    if not ok:
        hint = layout_hint(arr.shape, tuple(spec.shape)) if spec.is_image else ""
        raise DataValidationError(
            f"do-value for node {spec.name!r} has shape {arr.shape}; expected {want}{hint}"
        )
    if not spec.discrete and not np.all(np.isfinite(arr.astype(float))):
        raise DataValidationError(f"do-value for node {spec.name!r} contains NaN or inf")
    if not spec.discrete and arr.ndim == 2 and spec.dim == 1:
        arr = arr[:, 0]
    if not spec.discrete and spec.dim == 1 and arr.ndim == 1 and arr.shape[0] == 1:
        arr = arr.reshape(())
    return spec.encode_values(arr, device, n=n)


def apply_shift(
    spec: NodeSpec,
    shift: Callable,
    natural: torch.Tensor,
    device: torch.device,
    image_supports: Mapping[str, ImageSupport] | None = None,
) -> torch.Tensor:
    """Apply a shift intervention to encoded natural values, in the node's original units; a
    discrete node's values reach ``shift`` in its training column's dtype (a bool array for a
    bool node, so ``lambda b: ~b`` flips it; a ``pd.Categorical`` for a categorical one), numpy
    integer columns as ``int64`` (a ``uint8`` count's ``k - 5`` is negative, not 251-255).

    Shifted values beyond the node's training data warn (scalar nodes: the observed range;
    image nodes with a support in ``image_supports``: images farther off the training images
    than the ones they were shifted from).

    >>> import pandas as pd
    >>> from deepcause.generative._encoding import infer_spec
    >>> spec = infer_spec("b", pd.DataFrame({"b": [True, False]}), ["b"], discrete=None)
    >>> flip = apply_shift(spec, lambda b: ~b, torch.tensor([0, 1]), torch.device("cpu"))
    >>> flip.tolist()  # level indices: False -> True, True -> False
    [1, 0]
    """
    raw = spec.decode_values(natural)
    n = natural.shape[0]
    given = as_training_dtype(raw, spec.dtype, spec.categorical_dtype) if spec.discrete else raw
    if isinstance(given, np.ndarray) and given.dtype.kind in "iu":
        given = given.astype(np.int64)  # uint8's k - 5 would wrap around to 251-255
    new = np.asarray(shift(given), dtype=object if spec.discrete else float)
    if not spec.discrete and not np.isfinite(new).all():
        raise DataValidationError(
            f"the shift function for node {spec.name!r} returned non-finite values (NaN or inf) "
            f"for {int((~np.isfinite(new)).sum())} of {new.size} values; return finite numbers"
        )
    if new.shape != raw.shape:
        raise DataValidationError(
            f"the shift function for node {spec.name!r} returned shape {new.shape}; it must return "
            f"an array of the same shape as its input {raw.shape}"
        )
    if spec.is_image:
        what = f"the shift do({spec.name})"
        warn_off_images(image_supports, spec.name, new, what=what, baseline=raw)
    elif spec.low is not None:  # models without a recorded range never checked shifts
        before = int((outside_range(spec, raw) > 0).sum())  # sample(): the model's own draws
        note = f" ({before} of the values it shifted already lay outside)" if before else ""
        warn_extrapolation(spec, new, f"the shift do({spec.name})", note=note)
    return spec.encode_values(new, device, n=n)


def _close(name: str, candidates: Sequence[str] | Mapping[str, Any]) -> str:
    names = [str(c) for c in candidates]
    m = [c for c in names if c.lower() == str(name).lower()]  # 'x' for 'X'
    m = m or difflib.get_close_matches(str(name), names, n=3, cutoff=0.5)
    return f" (did you mean {', '.join(map(repr, m))}?)" if m else f"; nodes: {list(candidates)}"
