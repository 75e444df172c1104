"""How data columns become node tensors and back (``do=`` specifications: :mod:`._do`).

A *continuous* node is one or more float columns, standardised with the training mean and std
(tensor ``(n, dim)``); one whose training values are all whole numbers (a count with more than
``MAX_LEVELS`` levels, or whole-valued floats) is marked ``integer``: it is modelled and
generated as continuous, and a child's joint-support check (:mod:`deepcause.generative._support`)
reads its values rounded (:meth:`NodeSpec.snap`), since a counterfactual between two counts
is an interpolation, not an extrapolation. An integer-dtype column of that kind is generated
rounded to whole numbers and kept within its dtype's range, and at or above 0 when no negative
value was observed (children see these values; :meth:`NodeSpec.clip_counts`), and comes back in
its dtype (``uint8`` in, ``uint8`` out); a
*discrete* node is one column whose sorted
distinct values are its levels (tensor ``(n,)`` of level indices, one-hot encoded when used as
a parent); an *image* node is an array ``(n, C, H, W)`` scaled to ``[-1, 1]`` by its training
range and flattened (tensor ``(n, C*H*W)``; ``NodeSpec.shape`` keeps ``(C, H, W)``), so that node tensors are 2-D
everywhere and image mechanisms reshape them.

Data come as a data frame (one column per tabular node or component) or as a mapping
``{node: array}`` (:func:`~deepcause.generative._data.split_data`): 1-D arrays for tabular nodes, ``(n, C, H, W)`` for
images. What goes in comes out (:class:`~deepcause.generative._data.Samples` for mappings): discrete nodes in their training
column's dtype (a categorical column with its categories and their order, also inside a
mapping), continuous nodes as float64, or float32 when their training columns were float32, or
in their integer dtype when they were integer columns (counts with many levels); image nodes
in their training images' dtype and pixel range (:mod:`._images`: ``uint8`` in, ``uint8`` out).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..exceptions import DataValidationError
from ._data import column_dtype
from ._images import restore_pixels, scale_problem
from ._support import observed_range

__all__ = [
    "NodeSpec",
    "image_spec",
    "infer_spec",
    "is_discrete_column",
    "MAX_LEVELS",
]

MAX_LEVELS = 20  # integer columns with at most this many distinct values are discrete
NARROW_FLOATS = ("float16", "float32")  # float columns that come back in their own dtype


def is_discrete_column(col: pd.Series) -> bool:
    """Discrete: bool, category, object/string, integers with few levels, 2-valued floats."""
    if pd.api.types.is_bool_dtype(col) or isinstance(col.dtype, pd.CategoricalDtype):
        return True
    if not pd.api.types.is_numeric_dtype(col):
        return True
    n_levels = col.nunique()
    if pd.api.types.is_integer_dtype(col):
        return n_levels <= MAX_LEVELS
    return n_levels <= 2


def _py(v: Any) -> Any:
    """A JSON-friendly Python scalar."""
    return v.item() if isinstance(v, np.generic) else v


@dataclass
class NodeSpec:
    """Learned encoding of one node (JSON-serialisable through :meth:`to_dict`).

    ``low``, ``high`` and ``n_obs`` are the observed range of a scalar continuous node's
    training values and their number: ``do()`` values outside the range warn (see
    :mod:`deepcause.generative._support`). They are ``None`` for vector, discrete and image
    nodes and in models saved before ranges were recorded, which load unchanged and keep the
    former 4-s.d. rule. ``integer`` marks a scalar continuous node whose training values are
    whole numbers (see the module docstring).

    Examples
    --------
    >>> df = pd.DataFrame({"x": [0.5, -1.0, 2.0, 1.0]})
    >>> spec = infer_spec("x", df, ["x"], discrete=None)
    >>> spec.low, spec.high, spec.n_obs
    (-1.0, 2.0, 4)
    >>> NodeSpec(**{k: v for k, v in spec.to_dict().items() if k != "low"}).low is None
    True
    >>> counts = infer_spec("n", pd.DataFrame({"n": np.arange(30) % 25}), ["n"], discrete=None)
    >>> counts.discrete, counts.integer
    (False, True)
    >>> counts.decode_values(counts.snap(torch.tensor([[0.31], [-1.2]])))
    array([13.,  1.])
    """

    name: str
    columns: list[str]
    discrete: bool
    levels: list[Any] | None = None
    dtype: str | None = None
    mean: list[float] | None = None
    std: list[float] | None = None
    shape: list[int] | None = None  # (C, H, W) of an image node
    # observed training range of a scalar continuous node (None: vector node, or a model saved
    # before ranges were recorded); see deepcause.generative._support
    low: float | None = None
    high: float | None = None
    n_obs: int | None = None
    # a one-column continuous node with whole-number training values (models saved before this
    # field load as False)
    integer: bool = False
    # a categorical column's categories (all of them, in their order) and whether they are
    # ordered: outputs keep the input's CategoricalDtype (None: the levels, unordered)
    categories: list[Any] | None = None
    ordered: bool = False
    # an image node whose training pixels were all whole numbers (8-bit images): images
    # scaled to [0, 1] are refused (models saved before this field load as False)
    whole_pixels: bool = False
    # a whole-valued float column with at most MAX_LEVELS distinct values: their number (it is
    # modelled as continuous, which summary() says; None otherwise and for older saves)
    few_values: int | None = None
    # an image node's channels that are one value in every training image: {channel: value}
    # (JSON keys are text); generated images keep them exactly (older saves: None)
    constant_channels: dict[str, float] | None = None

    @property
    def is_image(self) -> bool:
        return self.shape is not None

    @property
    def dim(self) -> int:
        if self.shape is not None:
            return int(np.prod(self.shape))
        return 1 if self.discrete else len(self.columns)

    @property
    def width(self) -> int:
        """Number of context features this node contributes as a parent."""
        return len(self.levels) if self.discrete else self.dim

    @property
    def context_shape(self) -> int | list[int]:
        """How a child's mechanism reads this parent: ``(C, H, W)`` or a width."""
        return list(self.shape) if self.shape is not None else self.width

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    # --------------------------------------------------------------- data <-> tensors
    def encode_frame(self, df: pd.DataFrame, device: torch.device) -> torch.Tensor:
        if self.discrete:
            return self.encode_values(df[self.columns[0]].to_numpy(), device)
        try:
            values = df[self.columns].to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise DataValidationError(
                f"column(s) {self.columns} of continuous node {self.name!r} hold values that are "
                "not numbers; give numbers, as in the training data (pd.to_numeric)"
            ) from None
        return self.encode_values(values, device)

    def encode_values(
        self, values: Any, device: torch.device, n: int | None = None
    ) -> torch.Tensor:
        """Encode raw values (original units/levels); ``n`` broadcasts a single value."""
        if self.discrete:
            arr = np.asarray(values, dtype=object).reshape(-1)
            codes = pd.Index(self.levels or [], dtype=object).get_indexer(arr).astype(np.int64)
            if (codes < 0).any():
                bad = arr[codes < 0][0]
                raise DataValidationError(
                    f"value {bad!r} is not a level of discrete node {self.name!r}; its "
                    f"levels are {self.levels}"
                )
            if n is not None and codes.shape[0] == 1:
                codes = np.repeat(codes, n)
            return torch.as_tensor(codes, device=device)
        arr = np.asarray(values, dtype=float)
        if self.shape is not None:
            self._check_pixel_scale(arr)
            if arr.ndim == 3 and n is not None:
                arr = np.broadcast_to(arr, (n, *arr.shape))
            arr = arr.reshape(arr.shape[0], -1)
        elif arr.ndim == 1 and self.dim > 1 and n is not None and arr.shape[0] == self.dim:
            arr = np.broadcast_to(arr, (n, self.dim))
        elif arr.ndim == 0 and n is not None:
            arr = np.full((n, self.dim), float(arr))
        elif arr.ndim == 1 and self.dim == 1:
            arr = arr[:, None]
        z = (arr - np.asarray(self.mean)) / np.asarray(self.std)
        return torch.as_tensor(np.ascontiguousarray(z), dtype=torch.float32, device=device)

    def _check_pixel_scale(self, arr: np.ndarray) -> None:
        """Refuse images on another scale than the training images' (0-255 against 0-1 or
        the reverse; :func:`~deepcause.generative._images.scale_problem`)."""
        if not arr.size:
            return
        lo, hi = self.mean[0] - self.std[0], self.mean[0] + self.std[0]
        got = (float(arr.min()), float(arr.max()))
        whole = not self.whole_pixels or bool(np.all(arr == np.rint(arr)))
        problem = scale_problem(got, (lo, hi), whole=whole)
        if problem:
            raise DataValidationError(f"the images given for node {self.name!r} have {problem}")

    @property
    def float_dtype(self) -> np.dtype:
        """The dtype of a continuous tabular node's values out: its training columns' float
        dtype (float32 in, float32 out); float64 otherwise and for models saved without it."""
        return np.dtype(self.dtype) if self.dtype in NARROW_FLOATS else np.dtype("float64")

    @property
    def whole(self) -> bool:
        """A one-column continuous node trained on an integer column (a count with more than
        ``MAX_LEVELS`` levels): generated values are rounded, kept within the dtype's range (and
        at least 0 for a column of non-negative counts: :meth:`clip_counts`) and come out in the
        column's integer dtype (``uint8`` in, ``uint8`` out).

        >>> infer_spec("n", pd.DataFrame({"n": np.arange(30)}), ["n"], discrete=None).whole
        True
        >>> infer_spec("n", pd.DataFrame({"n": np.arange(30.0)}), ["n"], discrete=None).whole
        False
        """
        return (
            not self.discrete
            and self.shape is None
            and self.dtype is not None
            and pd.api.types.is_integer_dtype(pd.api.types.pandas_dtype(self.dtype))
        )

    def restore(self, values: np.ndarray) -> Any:
        """One continuous tabular column's values in the training column's dtype: float32 in,
        float32 out; an integer column's whole values in its integer dtype (others stay float).

        >>> spec = infer_spec("n", pd.DataFrame({"n": np.arange(30)}), ["n"], discrete=None)
        >>> spec.restore(np.array([3.0, 4.0])).dtype, spec.restore(np.array([2.5])).dtype
        (dtype('int64'), dtype('float64'))
        """
        if self.whole:
            return as_training_dtype(np.asarray(values, dtype=float), self.dtype)
        return np.asarray(values).astype(self.float_dtype, copy=False)

    @property
    def image_dtype(self) -> np.dtype:
        """The dtype of an image node's arrays out: its training images' dtype (models saved
        before integer images kept theirs give float32 for them)."""
        return np.dtype(self.dtype or "float32")

    def restore_image(self, values: Any, clip: bool = True) -> np.ndarray:
        """Images in the training images' dtype (integers rounded), clipped to the training
        pixel range unless ``clip=False`` (images the user gave: do-values, factuals)."""
        lo, hi = self.mean[0] - self.std[0], self.mean[0] + self.std[0]
        return restore_pixels(values, self.dtype, *((lo, hi) if clip else ()))

    def decode_values(self, t: torch.Tensor) -> np.ndarray:
        """Raw values: ``(n,)`` for one-column nodes, ``(n, dim)`` for vector nodes."""
        a = t.detach().cpu().numpy()
        if self.discrete:
            return np.asarray(self.levels, dtype=object)[a]
        if self.shape is not None:
            kind = self.image_dtype.type if self.image_dtype.kind == "f" else np.float64
            a = a.astype(kind) * kind(self.std[0]) + kind(self.mean[0])
            images = self.restore_image(a).reshape(len(a), *self.shape)
            for c, value in (self.constant_channels or {}).items():
                images[:, int(c)] = value
            return images
        a = a.astype(np.float64) * np.asarray(self.std) + np.asarray(self.mean)
        return a[:, 0] if self.dim == 1 else a

    def snap(self, t: torch.Tensor) -> torch.Tensor:
        """Encoded values of an integer node rounded to whole numbers in original units (other
        nodes unchanged): where a child's joint-support check reads a counterfactual parent.

        >>> spec = NodeSpec("n", ["n"], False, mean=[2.0], std=[2.0], integer=True)
        >>> spec.snap(torch.tensor([[0.3], [-0.9]])).tolist()  # 2.6 -> 3, 0.2 -> 0
        [[0.5], [-1.0]]
        """
        if not self.integer:
            return t
        mean, std = float(self.mean[0]), float(self.std[0])
        return (torch.round(t.double() * std + mean) - mean).div(std).to(t.dtype)

    @property
    def count_bounds(self) -> tuple[int, int]:
        """The values an integer column's generated counts are kept within (:attr:`whole` nodes):
        its dtype's limits, and at least 0 when every training value was (a count).

        >>> spec = infer_spec("n", pd.DataFrame({"n": np.arange(30, dtype=np.int16)}), ["n"], None)
        >>> spec.count_bounds
        (0, 32767)
        """
        limits = np.iinfo(np.dtype(pd.api.types.pandas_dtype(self.dtype).type))
        low = max(int(limits.min), 0) if self.low is not None and self.low >= 0 else limits.min
        return int(low), int(limits.max)

    def clip_counts(self, t: torch.Tensor) -> tuple[torch.Tensor, list[float]]:
        """Encoded values of a :attr:`whole` node rounded to whole numbers and kept within
        :attr:`count_bounds`, and the shares of them the lower and the upper bound moved.

        >>> spec = NodeSpec("n", ["n"], False, dtype="uint8", mean=[2.0], std=[2.0], low=0.0)
        >>> t, moved = spec.clip_counts(torch.tensor([[0.3], [-1.6], [-0.2]]))  # 2.6, -1.2, 1.6
        >>> (t * 2.0 + 2.0).ravel().tolist(), [round(s, 3) for s in moved]
        ([3.0, 0.0, 2.0], [0.333, 0.0])
        """
        mean, std = float(self.mean[0]), float(self.std[0])
        raw = torch.round(t.double() * std + mean)
        low, high = self.count_bounds
        n = max(raw.numel(), 1)
        moved = [float((raw < low).sum()) / n, float((raw > high).sum()) / n]
        return (raw.clamp(low, high) - mean).div(std).to(t.dtype), moved

    @property
    def categorical_dtype(self) -> pd.CategoricalDtype | None:
        """The training column's ``CategoricalDtype`` (None unless the column was categorical)."""
        if self.dtype != "category":
            return None
        cats = self.levels if self.categories is None else self.categories
        return pd.CategoricalDtype(cats, ordered=self.ordered)

    def to_columns(self, t: torch.Tensor) -> dict[str, Any]:
        values = self.decode_values(t)
        if self.discrete:
            return {self.columns[0]: as_training_dtype(values, self.dtype, self.categorical_dtype)}
        if self.shape is not None:
            return {self.columns[0]: values}
        if self.dim == 1:
            return {self.columns[0]: self.restore(np.round(values) if self.whole else values)}
        values = values.astype(self.float_dtype, copy=False)
        return {c: values[:, i] for i, c in enumerate(self.columns)}

    def one_hot(self, t: torch.Tensor) -> torch.Tensor:
        """Context features of this node's encoded values."""
        if self.discrete:
            return torch.nn.functional.one_hot(t, len(self.levels or [])).float()
        return t


def infer_spec(name: str, df: pd.DataFrame, columns: list[str], discrete: bool | None) -> NodeSpec:
    """Build the :class:`NodeSpec` of a node from training data (``discrete=None``: infer)."""
    if discrete is None:
        discrete = len(columns) == 1 and is_discrete_column(df[columns[0]])
    if discrete:
        if len(columns) != 1:
            raise DataValidationError(
                f"node {name!r} spans {len(columns)} columns; discrete nodes must be one column"
            )
        col = df[columns[0]]
        levels = sorted(pd.unique(col).tolist(), key=lambda v: (str(type(v)), v))
        if len(levels) < 2:
            raise DataValidationError(
                f"node {name!r} takes a single value {levels} in the data; a constant cannot be "
                "modelled: drop it from the graph and the data"
            )
        _check_levels(name, col, len(levels))
        dtype = str(column_dtype(df, columns[0]))
        spec = NodeSpec(name, list(columns), True, [_py(v) for v in levels], dtype)
        if isinstance(col.dtype, pd.CategoricalDtype):
            spec.categories = [_py(v) for v in col.dtype.categories]
            spec.ordered = bool(col.dtype.ordered)
        return spec
    try:
        values = df[columns].to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise DataValidationError(
            f"node {name!r} is modelled as continuous but column(s) {columns} are not numeric; "
            "use a categorical mechanism or recode them"
        ) from None
    std = values.std(axis=0)
    if np.any(std == 0):
        bad = [c for c, s in zip(columns, std) if s == 0]
        raise DataValidationError(f"column(s) {bad} of node {name!r} are constant; drop them")
    mean, std = values.mean(0).tolist(), std.tolist()
    integer = len(columns) == 1 and bool(np.all(values == np.round(values)))
    kinds = {df[c].dtype for c in columns}  # float32 columns come back float32
    kind = kinds.pop() if len(kinds) == 1 else None
    # an integer column with many levels comes back as whole numbers in its dtype
    counts = len(columns) == 1 and pd.api.types.is_integer_dtype(df[columns[0]])
    distinct = len(np.unique(values)) if integer and not counts else None
    return NodeSpec(
        name, list(columns), False, dtype=str(kind) if narrow_float(kind) or counts else None,
        mean=mean, std=std, integer=integer, **observed_range(values),
        few_values=distinct if distinct is not None and distinct <= MAX_LEVELS else None,
    )  # fmt: skip


def narrow_float(dtype: Any) -> bool:
    """Whether ``dtype`` is a float narrower than float64 (a column to return in that dtype).

    >>> narrow_float(np.dtype("float32")), narrow_float(np.dtype("float64")), narrow_float(None)
    (True, False, False)
    """
    return isinstance(dtype, np.dtype) and dtype.kind == "f" and dtype != np.float64


def _check_levels(name: str, col: pd.Series, k: int) -> None:
    """Refuse a discrete node that is numbers stored as text/object, or has ``k`` > 200
    levels, saying why and what to do."""
    textual = pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col)
    numbers = pd.to_numeric(col, errors="coerce") if textual else None
    if numbers is not None and numbers.notna().all() and not is_discrete_column(numbers):
        raise DataValidationError(
            f"column {col.name!r} of node {name!r} holds numbers stored as {col.dtype} dtype; "
            f"convert it to a numeric dtype (df[{col.name!r}].astype(float))"
        )
    if k <= 200:
        return
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        raise DataValidationError(
            f"node {name!r} has {k} distinct numeric values, too many for a categorical "
            "mechanism; give it a continuous one (e.g. 'auto' or 'additive') or bin it"
        )
    raise DataValidationError(
        f"node {name!r} has {k} distinct non-numeric values; encode it numerically"
    )


def as_training_dtype(
    values: Any, dtype: str | None, categorical: pd.CategoricalDtype | None = None
) -> Any:
    """Values of a discrete node in its training column's dtype: a ``pd.Categorical`` of the
    training categories for a categorical column, else ``dtype`` when the values convert to it
    without change (a ``do`` value ``1`` on a bool node becomes ``True``; a count generated as
    continuous stays float); other values are returned unchanged.

    >>> as_training_dtype(np.array([1, 0], dtype=object), "bool")
    array([ True, False])
    >>> as_training_dtype(np.array([0.5, 2.0]), "int64")
    array([0.5, 2. ])
    >>> as_training_dtype(np.array([2, 0]), "Int64").dtype
    Int64Dtype()
    >>> as_training_dtype(np.array(["ab", "c"], dtype=object), "<U2")
    array(['ab', 'c'], dtype='<U2')
    >>> out = as_training_dtype(["b"], "category", pd.CategoricalDtype(["b", "a"], ordered=True))
    >>> list(out.categories), out.ordered
    (['b', 'a'], True)
    """
    if categorical is not None:
        return pd.Categorical(np.asarray(values, dtype=object), dtype=categorical)
    arr = np.asarray(values)
    if isinstance(dtype, str | np.dtype) and str(dtype)[:2] in ("<U", ">U"):  # numpy text
        return arr.astype(str)
    with contextlib.suppress(TypeError, ValueError):
        cast = pd.Series(arr).astype(dtype or "object")
        if cast.astype(object).eq(pd.Series(arr, dtype=object)).all():
            # pandas extension dtypes (Int64, string) stay extension arrays
            extension = isinstance(cast.dtype, pd.api.extensions.ExtensionDtype)
            return cast.array if extension else cast.to_numpy()
    return arr


def image_spec(name: str, images: np.ndarray) -> NodeSpec:
    """The :class:`NodeSpec` of an image node: pixels scaled to ``[-1, 1]`` by their range;
    images come out in the training images' dtype and range (8-bit images as ``uint8``,
    rounded; :mod:`deepcause.generative._images`).

    >>> spec = image_spec("img", np.linspace(0, 1, 32).reshape(2, 1, 4, 4))
    >>> spec.shape, spec.dtype
    ([1, 4, 4], 'float64')
    >>> image_spec("img", np.arange(32, dtype=np.uint8).reshape(2, 1, 4, 4)).dtype
    'uint8'
    >>> rgb = np.zeros((2, 3, 4, 4))
    >>> rgb[:, 0] = np.linspace(0, 1, 32).reshape(2, 4, 4)
    >>> rgb[:, 1] = 0.25  # a constant channel comes back as given
    >>> image_spec("img", rgb).constant_channels
    {'1': 0.25, '2': 0.0}
    """
    lo, hi = float(images.min()), float(images.max())
    if hi <= lo:
        raise DataValidationError(f"the images of node {name!r} are all one value {lo}; drop it")
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    whole = images.dtype.kind in "biu" or bool(np.all(images == np.rint(images)))
    first = images[0, :, 0, 0]
    same = (images == first[None, :, None, None]).all(axis=(0, 2, 3))
    constant = {str(c): _py(first[c]) for c in np.flatnonzero(same)}
    return NodeSpec(
        name, [name], False, None, images.dtype.name, [mid], [half], list(images.shape[1:]),
        whole_pixels=whole, constant_channels=constant or None,
    )  # fmt: skip
