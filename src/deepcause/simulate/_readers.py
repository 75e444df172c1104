"""Attribute readers: small scikit-learn models that read digit, colour, thickness, intensity.

:func:`train_attribute_readers` draws renders with every render variable independent and
uniform over the SCM's ranges (so the readers learn no confounding of the design), trains
deterministically in seconds — a one-hidden-layer perceptron (128 units, 80 epochs, seeded) on
normalised grey pixels (2x2-pooled at 28x28) for the digit, multinomial logistic regression
on mean-colour directions for the colour, ridge regression on stroke statistics and
pixels for thickness and intensity — and measures the readers on fresh renders
(:attr:`AttributeReader.scores`). :meth:`AttributeReader.features` is the feature space of
:func:`deepcause.metrics.feature_mmd` and :func:`deepcause.metrics.realism`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier

from ..exceptions import DataValidationError
from ._common import check_int
from ._image_scm import ImageSCM, RenderSpec
from ._render import PALETTE, render_digits

__all__ = ["AttributeReader", "train_attribute_readers"]

_LEVELS = (0.1, 0.3, 0.5, 0.7, 0.9)


def _gray(images: Any, spec: RenderSpec) -> np.ndarray:
    x = np.asarray(images, dtype=np.float32)
    want = (spec.channels, spec.size, spec.size)
    if x.ndim == 3 and x.shape == want:
        x = x[None]
    if x.ndim != 4 or x.shape[1:] != want:
        raise DataValidationError(
            f"the readers take images of shape (n, {', '.join(map(str, want))}); got {x.shape}"
        )
    return x.max(axis=1).reshape(len(x), -1)


def _shape_features(gray: np.ndarray) -> np.ndarray:
    """Normalised pixels (each image divided by its maximum): invariant to intensity."""
    return gray / np.maximum(gray.max(axis=1, keepdims=True), 1e-6)


def _pooled(norm: np.ndarray, side: int) -> np.ndarray:
    """2x2 average pooling of images above 16 pixels a side (faster, shift-tolerant fits)."""
    if side <= 16:
        return norm
    h = side // 2
    return norm.reshape(len(norm), h, 2, h, 2).mean(axis=(2, 4)).reshape(len(norm), -1)


def _stroke_features(gray: np.ndarray) -> np.ndarray:
    """Stroke statistics: brightness quantiles, area above levels of the normalised image."""
    norm = _shape_features(gray)
    top = np.sort(gray, axis=1)[:, -8:]
    areas = np.stack([(norm > lv).mean(1) for lv in _LEVELS], axis=1)
    return np.column_stack([gray.max(1), top.mean(1), norm.mean(1), areas, np.sqrt(areas)])


def _color_features(images: np.ndarray) -> np.ndarray:
    mean = images.sum(axis=(2, 3))
    return mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)


class AttributeReader:
    """Readers of the attributes of one image SCM's renders (from :func:`train_attribute_readers`).

    Attributes
    ----------
    spec : RenderSpec
        Size, colour and ranges of the images read.
    kinds : dict
        Attribute -> ``"class"`` or ``"continuous"``.
    scores : dict
        Measured on fresh renders: ``digit_accuracy``, ``color_accuracy``,
        ``thickness_mae``, ``intensity_mae`` (those that apply).

    Examples
    --------
    >>> from deepcause.simulate import colored_digits_napkin, render_digits
    >>> reader = train_attribute_readers(colored_digits_napkin(), n=1500)
    >>> img = render_digits(np.array([4, 9]), color=np.array([1, 5]), style=0.3)
    >>> reader.predict(img)["color"].tolist(), reader.scores["digit_accuracy"] > 0.9
    ([1, 5], True)
    """

    def __init__(self, spec: RenderSpec, models: dict[str, Any], pca: PCA, scale: dict[str, float]):
        self.spec = spec
        self._models = models
        self._pca = pca
        self._scale = scale
        self.kinds = {
            a: ("class" if a in ("digit", "color") else "continuous") for a in self._models
        }
        self.scores: dict[str, float] = {}

    def _inputs(self, images: Any) -> dict[str, np.ndarray]:
        gray = _gray(images, self.spec)
        norm = _shape_features(gray)
        out = {"digit": _pooled(norm, self.spec.size)}
        if "color" in self._models:
            out["color"] = _color_features(
                np.asarray(images, dtype=np.float32).reshape(
                    len(gray), self.spec.channels, self.spec.size, self.spec.size
                )
            )
        stroke = np.column_stack([_stroke_features(gray), out["digit"]])
        for a in ("thickness", "intensity"):
            if a in self._models:
                out[a] = stroke
        return out

    def predict(self, images: Any) -> dict[str, np.ndarray]:
        """Attribute -> values read off ``images`` ``(n, C, H, W)`` (classes as int64)."""
        inputs = self._inputs(images)
        out = {}
        for a, model in self._models.items():
            pred = model.predict(inputs[a])
            out[a] = pred.astype(np.int64) if self.kinds[a] == "class" else pred
        return out

    def features(self, images: Any) -> np.ndarray:
        """Reader features ``(n, k)``: class probabilities, scaled continuous readings, and
        16 principal components of the grey pixels (the space of MMD and Fréchet distances).

        >>> from deepcause.simulate import morpho_digits
        >>> reader = train_attribute_readers(morpho_digits(16), n=1000)
        >>> reader.features(np.zeros((3, 1, 16, 16))).shape
        (3, 28)
        """
        inputs = self._inputs(images)
        parts = []
        for a, model in self._models.items():
            if self.kinds[a] == "class":
                parts.append(model.predict_proba(inputs[a]))
            else:
                parts.append(model.predict(inputs[a])[:, None] / self._scale[a])
        parts.append(self._pca.transform(_gray(images, self.spec)))
        return np.column_stack(parts)

    def __call__(self, images: Any) -> dict[str, np.ndarray]:
        return self.predict(images)

    def __repr__(self) -> str:
        scores = ", ".join(f"{k}={v:.3g}" for k, v in self.scores.items())
        return f"AttributeReader(size={self.spec.size}, attributes={list(self.kinds)}, {scores})"


def _renders(spec: RenderSpec, n: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Renders with every variable independent and uniform over the spec's ranges."""
    truth = {
        "digit": rng.integers(0, 10, n),
        "thickness": rng.uniform(*spec.thickness, n),
        "intensity": rng.uniform(*spec.intensity, n),
    }
    color = rng.integers(0, len(PALETTE), n) if spec.colored else None
    shift = rng.integers(-spec.max_shift, spec.max_shift + 1, (n, 2)) if spec.max_shift else None
    images = render_digits(
        truth["digit"],
        size=spec.size,
        style=rng.uniform(0, 1, n),
        thickness=truth["thickness"],
        intensity=truth["intensity"],
        color=color,
        shift=shift,
    )
    if color is not None:
        truth["color"] = color
    return images, truth


def train_attribute_readers(
    scm: ImageSCM | RenderSpec, n: int = 4000, n_test: int = 1000, random_state: int = 0
) -> AttributeReader:
    """Train attribute readers for the images of an image SCM, deterministically, in seconds.

    Parameters
    ----------
    scm : ImageSCM or RenderSpec
        The SCM (its :attr:`~ImageSCM.spec`) or the render spec of the images to read.
    n : int, default 4000
        Training renders.
    n_test : int, default 1000
        Fresh renders (another seed) on which :attr:`AttributeReader.scores` are measured.
    random_state : int, default 0
        Seed of the renders (the fits themselves are deterministic).

    Returns
    -------
    AttributeReader
        Reads ``digit`` (and ``color`` for RGB images; ``thickness`` and ``intensity`` when
        they vary in the spec).

    Examples
    --------
    >>> from deepcause.simulate import morpho_digits
    >>> reader = train_attribute_readers(morpho_digits(16), n=1500)
    >>> sorted(reader.scores)
    ['digit_accuracy', 'intensity_mae', 'thickness_mae']
    """
    spec = scm.spec if isinstance(scm, ImageSCM) else scm
    if not isinstance(spec, RenderSpec):
        raise DataValidationError(
            f"train_attribute_readers needs an ImageSCM or a RenderSpec; got {type(scm).__name__}"
        )
    n, n_test = check_int("n", n, 200), check_int("n_test", n_test, 10)
    rng = np.random.default_rng(random_state)
    images, truth = _renders(spec, n, rng)
    mlp = MLPClassifier((128,), alpha=1e-3, max_iter=80, random_state=random_state)
    models: dict[str, Any] = {"digit": mlp}
    if spec.colored:
        models["color"] = LogisticRegression(C=10.0, max_iter=400)
    scale = {}
    for a in ("thickness", "intensity"):
        lo, hi = getattr(spec, a)
        if hi > lo:
            models[a] = Ridge(alpha=1.0)
            scale[a] = float(hi - lo)
    pca = PCA(16, svd_solver="full").fit(_gray(images, spec))
    reader = AttributeReader(spec, models, pca, scale)
    inputs = reader._inputs(images)
    with warnings.catch_warnings():  # the digit MLP's 80 epochs are a fixed budget on purpose
        warnings.simplefilter("ignore", ConvergenceWarning)
        for a, model in models.items():
            model.fit(inputs[a], truth[a])
    test, test_truth = _renders(spec, n_test, rng)
    pred = reader.predict(test)
    for a in models:
        if reader.kinds[a] == "class":
            reader.scores[f"{a}_accuracy"] = float(np.mean(pred[a] == test_truth[a]))
        else:
            reader.scores[f"{a}_mae"] = float(np.mean(np.abs(pred[a] - test_truth[a])))
    return reader
