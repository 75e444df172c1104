"""Metrics for generated and counterfactual images (re-exported by :mod:`deepcause.metrics`).

Distribution metrics compare two samples of images through an attribute *reader* — any object
with ``predict(images) -> {attribute: values}`` and ``features(images) -> (n, k) array`` (for
example :func:`deepcause.simulate.train_attribute_readers`), or a plain callable
``images -> {attribute: values}``. Counterfactual metrics follow Monteiro, Ribeiro, Pawlowski,
Castro & Glocker (2023), *Measuring axiomatic soundness of counterfactual image models*:

* **effectiveness** — the intervention did what it said: the reader applied to the
  counterfactual image returns the intervened value (accuracy for a class, mean absolute
  error for a continuous attribute);
* **composition** — the null intervention (setting an attribute to its factual value),
  applied once or ``m`` times, returns the factual image: distance between the factual image
  and that result (pixel L1 and distance in reader features). Through
  :meth:`~deepcause.generative.CausalGenerativeModel.counterfactual` it is 0 by construction
  (a unit whose parents do not change keeps its factual image); the image mechanism's own
  abduction and decoding is measured by ``composition(x, model.reconstruct(units, node))``;
* **reversibility** — intervening and then reverting the intervention (with the factual
  value) returns the factual image: the same distances, on the reverted image;
* **realism** — the Fréchet distance between Gaussians fitted to reader features of the
  counterfactual images and of real images (FID with the reader as feature extractor);
* **counterfactual pixel error** — when the true counterfactual image is known (a simulator),
  the root mean squared pixel difference.

Every function takes arrays: images ``(n, C, H, W)`` with pixels in ``[0, 1]``.

>>> rng = np.random.default_rng(0)
>>> a = rng.uniform(size=(50, 1, 4, 4))
>>> counterfactual_pixel_error(a, a), composition(a, a)["l1"]
(0.0, 0.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .exceptions import DataValidationError

__all__ = [
    "attribute_tv",
    "frechet_distance",
    "realism",
    "effectiveness",
    "composition",
    "reversibility",
    "counterfactual_pixel_error",
    "save_image_grid",
]


def _images(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim != 4 or len(arr) == 0:
        raise DataValidationError(f"{name} must be a non-empty (n, C, H, W) array; got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise DataValidationError(f"{name} contains NaN or infinite pixels")
    return arr


def _read(reader: Any, images: Any, name: str) -> Mapping[str, np.ndarray]:
    if reader is None:
        raise DataValidationError(f"{name}: pass a reader (e.g. train_attribute_readers(scm))")
    read = reader.predict if hasattr(reader, "predict") else reader
    if not callable(read):
        raise DataValidationError(
            "reader must have a predict(images) method or be a callable images -> {attr: values}"
        )
    out = read(_images(images, name))
    if not isinstance(out, Mapping):
        raise DataValidationError("the reader must return a mapping attribute -> values")
    return out


def _kind(reader: Any, attribute: str, values: np.ndarray) -> str:
    kinds = getattr(reader, "kinds", None) or {}
    if attribute in kinds:
        return kinds[attribute]
    return "class" if np.issubdtype(np.asarray(values).dtype, np.integer) else "continuous"


def _attribute_table(x: Any, name: str) -> dict[str, np.ndarray]:
    if isinstance(x, Mapping):
        table = {str(k): np.asarray(v).ravel() for k, v in x.items()}
    else:
        arr = np.asarray(x)
        arr = arr[:, None] if arr.ndim == 1 else arr
        if arr.ndim != 2:
            raise DataValidationError(f"{name}: give images with a reader, or attribute values")
        table = {str(i): arr[:, i] for i in range(arr.shape[1])}
    if (
        not table
        or len({len(v) for v in table.values()}) != 1
        or len(next(iter(table.values()))) == 0
    ):
        raise DataValidationError(f"{name}: attribute values must be non-empty, of equal length")
    return table


def attribute_tv(
    x: Any,
    y: Any,
    reader: Any = None,
    attributes: Any = None,
    bins: int = 10,
) -> float:
    """Total-variation distance between the joint attribute distributions of two samples.

    With a ``reader``, ``x`` and ``y`` are images ``(n, C, H, W)`` and their attributes are
    read; without, they are the attribute values (a mapping attribute -> values, or an
    ``(n,)`` / ``(n, k)`` array). Class attributes (integers, or ``reader.kinds == "class"``)
    are compared as they are; continuous ones are cut into ``bins`` equal-width bins over the
    pooled range. ``TV = 1/2 sum_a |p(a) - q(a)|`` over the joint cells, in ``[0, 1]``.

    Parameters
    ----------
    x, y : array or mapping
        Two samples (sizes may differ).
    reader : object, optional
        An attribute reader (``predict`` method or callable).
    attributes : str or list of str, optional
        The attributes compared jointly (default: all).
    bins : int, default 10
        Bins per continuous attribute.

    Returns
    -------
    float

    Examples
    --------
    >>> attribute_tv(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]))
    0.25
    >>> attribute_tv({"d": np.array([1, 2])}, {"d": np.array([1, 2])})
    0.0
    """
    if reader is not None:
        a, b = dict(_read(reader, x, "x")), dict(_read(reader, y, "y"))
    else:
        a, b = _attribute_table(x, "x"), _attribute_table(y, "y")
    keys = (
        list(a)
        if attributes is None
        else ([attributes] if isinstance(attributes, str) else list(attributes))
    )
    missing = [k for k in keys if k not in a or k not in b]
    if missing:
        raise DataValidationError(
            f"attributes {missing} are not read from both samples; have {sorted(a)}"
        )
    if int(bins) < 1:
        raise DataValidationError(f"bins must be a positive integer; got {bins!r}")
    codes_a, codes_b = [], []
    for k in keys:
        va, vb = np.asarray(a[k]).ravel(), np.asarray(b[k]).ravel()
        if _kind(reader, k, va) == "continuous":
            edges = np.linspace(min(va.min(), vb.min()), max(va.max(), vb.max()), int(bins) + 1)
            va, vb = np.digitize(va, edges[1:-1]), np.digitize(vb, edges[1:-1])
        codes_a.append(va)
        codes_b.append(vb)
    ca, cb = np.column_stack(codes_a), np.column_stack(codes_b)
    cells, inverse = np.unique(np.vstack([ca, cb]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    p = np.bincount(inverse[: len(ca)], minlength=len(cells)) / len(ca)
    q = np.bincount(inverse[len(ca) :], minlength=len(cells)) / len(cb)
    return float(0.5 * np.abs(p - q).sum())


def features_of(reader: Any, x: Any, name: str) -> np.ndarray:
    """Reader features of images ``x``, or ``x`` itself when it is already ``(n, k)`` features."""
    if reader is None:
        arr = np.asarray(x, dtype=float)
        if arr.ndim != 2:
            raise DataValidationError(f"{name}: give (n, k) features, or images with a reader")
        return arr
    if not hasattr(reader, "features"):
        raise DataValidationError("the reader has no features(images) method")
    return np.asarray(reader.features(_images(x, name)), dtype=float)


def frechet_distance(a: Any, b: Any) -> float:
    """Fréchet distance between Gaussians fitted to two feature samples ``(n, k)``.

    ``||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a^{1/2} S_b S_a^{1/2})^{1/2})`` (the FID formula).

    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(500, 4))
    >>> frechet_distance(f, f), round(frechet_distance(f, f + 1.0), 2)
    (0.0, 4.0)
    """
    fa, fb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if fa.ndim != 2 or fb.ndim != 2 or fa.shape[1] != fb.shape[1] or min(len(fa), len(fb)) < 2:
        raise DataValidationError(
            f"features must be (n, k) arrays with the same k and n >= 2; got {fa.shape}, {fb.shape}"
        )
    ma, mb = fa.mean(0), fb.mean(0)
    sa, sb = np.atleast_2d(np.cov(fa, rowvar=False)), np.atleast_2d(np.cov(fb, rowvar=False))
    w, v = np.linalg.eigh(sa)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ sb @ root_a), 0, None)).sum()
    d = float(((ma - mb) ** 2).sum() + np.trace(sa) + np.trace(sb) - 2.0 * cross)
    return max(d, 0.0) if d > 1e-9 * max(1.0, float(np.trace(sa) + np.trace(sb))) else 0.0


def realism(generated: Any, real: Any, reader: Any = None) -> float:
    """Realism: Fréchet distance between reader features of generated and real images.

    Without a reader, ``generated`` and ``real`` are ``(n, k)`` features already.

    >>> rng = np.random.default_rng(1)
    >>> real = rng.normal(size=(300, 2))
    >>> realism(real, real)
    0.0
    """
    return frechet_distance(
        features_of(reader, generated, "generated"), features_of(reader, real, "real")
    )


def effectiveness(images: Any, target: Any, reader: Any, attribute: str) -> float:
    """Effectiveness of an intervention on ``attribute``: does the image now show the value?

    Reads ``attribute`` off the counterfactual ``images`` and compares it with the intervened
    ``target`` (a value or one per image): accuracy for a class attribute, mean absolute error
    for a continuous one (Monteiro et al. 2023).

    >>> def reader(x):
    ...     return {"bright": x.mean(axis=(1, 2, 3))}
    >>> effectiveness(np.full((2, 1, 2, 2), 0.5), 0.25, reader, "bright")
    0.25
    """
    read = _read(reader, images, "images")
    if attribute not in read:
        raise DataValidationError(
            f"the reader does not read {attribute!r}; it reads {sorted(read)}"
        )
    pred = np.asarray(read[attribute]).ravel()
    want = np.broadcast_to(np.asarray(target).ravel() if np.ndim(target) else target, pred.shape)
    if _kind(reader, attribute, pred) == "class":
        return float(np.mean(pred == want))
    return float(np.mean(np.abs(pred.astype(float) - want.astype(float))))


def _image_distances(factual: Any, other: Any, reader: Any, name: str) -> dict[str, float]:
    a, b = _images(factual, "factual"), _images(other, name)
    if a.shape != b.shape:
        raise DataValidationError(
            f"factual and {name} must have the same shape; got {a.shape}, {b.shape}"
        )
    out = {"l1": float(np.abs(a - b).mean())}
    if reader is not None and hasattr(reader, "features"):
        fa, fb = np.asarray(reader.features(a), float), np.asarray(reader.features(b), float)
        out["feature"] = float(np.linalg.norm(fa - fb, axis=1).mean())
    return out


def composition(factual: Any, null_counterfactual: Any, reader: Any = None) -> dict[str, float]:
    """Composition: distance between factual images and their null-intervention counterfactuals.

    ``null_counterfactual`` is the model's counterfactual under ``do(attribute = its factual
    value)`` (applied ``m`` times for the m-step version). Returns ``{"l1": mean absolute pixel
    difference}`` plus ``"feature"`` (mean Euclidean distance of reader features) when a
    reader with ``features`` is given. A sound model gives 0.

    What the number means depends on the model. ``CausalGenerativeModel.counterfactual``
    returns a unit's factual value wherever its counterfactual parents equal its factual ones,
    so its null intervention gives 0 for every mechanism: what a user gets, not a measure of
    the mechanism. To compare image mechanisms, pass the mechanism's own round trip instead,
    ``model.reconstruct(units, node)`` (noise abducted by the mechanism, decoded under the
    factual parents): an image VAE's reconstruction error, the DDIM inversion's for
    diffusion. Models without that rule (a conditional generator drawing fresh noise,
    :class:`~deepcause.generative.CausalVAE`) are measured as they are.

    >>> x = np.zeros((3, 1, 2, 2))
    >>> round(composition(x, x + 0.1)["l1"], 6)
    0.1
    """
    return _image_distances(factual, null_counterfactual, reader, "null_counterfactual")


def reversibility(factual: Any, reverted: Any, reader: Any = None) -> dict[str, float]:
    """Reversibility: distance between factual images and their reverted counterfactuals.

    ``reverted`` is the counterfactual of the counterfactual image under the reverse
    intervention (back to the factual value). Returns the distances of :func:`composition`.
    Through ``CausalGenerativeModel.counterfactual`` this is a real measurement: for a unit
    whose image parents the intervention changed, the reverse step changes them back, so the
    mechanism abducts the counterfactual image's noise and decodes it (the rule that keeps
    units with unchanged parents at their given value does not apply).

    >>> x = np.ones((2, 3, 2, 2))
    >>> reversibility(x, x)
    {'l1': 0.0}
    """
    return _image_distances(factual, reverted, reader, "reverted")


def counterfactual_pixel_error(pred: Any, truth: Any, per_unit: bool = False) -> Any:
    """Root mean squared pixel error of counterfactual images against the true ones.

    Returns one float, or with ``per_unit=True`` the RMSE of each image ``(n,)``.

    >>> counterfactual_pixel_error(np.zeros((2, 1, 2, 2)), np.ones((2, 1, 2, 2)))
    1.0
    """
    p, t = _images(pred, "pred"), _images(truth, "truth")
    if p.shape != t.shape:
        raise DataValidationError(
            f"pred and truth must have the same shape; got {p.shape}, {t.shape}"
        )
    sq = ((p.astype(float) - t.astype(float)) ** 2).reshape(len(p), -1)
    return np.sqrt(sq.mean(1)) if per_unit else float(np.sqrt(sq.mean()))


def save_image_grid(images: Any, path: str | Path, ncols: int | None = None, pad: int = 1) -> Path:
    """Save images ``(n, C, H, W)`` (C = 1 or 3, pixels in [0, 1]) as one PNG grid.

    Needs matplotlib (``pip install deepcause[plot]``). Returns the path.

    >>> import tempfile, os
    >>> out = save_image_grid(np.zeros((5, 3, 8, 8)), os.path.join(tempfile.mkdtemp(), "g.png"))
    >>> out.suffix
    '.png'
    """
    try:
        from matplotlib import image as mpimg
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("save_image_grid needs matplotlib: pip install deepcause[plot]") from exc
    x = np.clip(_images(images, "images"), 0.0, 1.0)
    n, c, h, w = x.shape
    if c not in (1, 3):
        raise DataValidationError(f"images need 1 or 3 channels; got {c}")
    cols = int(ncols) if ncols else int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    full = np.ones((rows * cols, c, h + pad, w + pad), dtype=np.float32)
    full[:n, :, :h, :w] = x
    grid = full.reshape(rows, cols, c, h + pad, w + pad).transpose(0, 3, 1, 4, 2)
    grid = grid.reshape(rows * (h + pad), cols * (w + pad), c)
    out = Path(path)
    mpimg.imsave(
        out, grid[..., 0] if c == 1 else grid, cmap="gray" if c == 1 else None, vmin=0, vmax=1
    )
    return out
