"""The pendulum-and-light scene of CausalVAE (Yang et al. 2021) as an SCM with exact truth.

Four concepts and an image: the pendulum's ``angle`` (degrees from the vertical, uniform on
-40 to 20) and the light's direction ``light`` (degrees from the horizontal, uniform on 100
to 135, light from the upper left) are independent roots; ``shadow_length`` and
``shadow_position`` are deterministic functions of both (the geometry of light, pendulum tip
and ground, :func:`~deepcause.simulate._pendulum_render.shadow_geometry`); ``image`` is a
deterministic render of all four plus a style noise (background brightness, ball colour).
The true concept DAG is ``angle -> shadow_length <- light``, ``angle -> shadow_position <-
light``. Interventions on any concept — ``do(angle)``, ``do(light)``, ``do(shadow_length)``
(a shadow drawn inconsistently with the light) — and unit-level counterfactual images are
exact (:meth:`~deepcause.simulate.SCM.counterfactual`).

The ranges are chosen so that every causal effect is monotone over the support (a shorter
shadow as the pendulum swings towards the light, a longer and farther one as the light
lowers), so the linear causal layer of CausalVAE can see every edge; the shadow stays in
the frame.

>>> scm = pendulum_scm(size=16)
>>> str(scm.graph)  # doctest: +NORMALIZE_WHITESPACE
'angle -> shadow_length; angle -> shadow_position; angle -> image; light -> shadow_length;
 light -> shadow_position; light -> image; shadow_length -> image; shadow_position -> image'
>>> f, cf = scm.counterfactual(4, do={"angle": 0.0}, random_state=0)
>>> bool(np.allclose(cf["light"], f["light"])), cf["image"].shape
(True, (4, 3, 16, 16))
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import Ridge
from sklearn.preprocessing import PolynomialFeatures

from ..datasets.dataset import CausalDataset
from ..exceptions import DataValidationError
from ._common import check_int
from ._pendulum_render import PENDULUM_SIZES, render_pendulum, shadow_geometry
from .scm import SCM, Node, no_noise, uniform

__all__ = [
    "ANGLE_RANGE",
    "LIGHT_RANGE",
    "PENDULUM_CONCEPTS",
    "PendulumReader",
    "make_pendulum",
    "pendulum_scm",
    "render_pendulum",
    "shadow_geometry",
    "train_pendulum_readers",
]

ANGLE_RANGE = (-40.0, 20.0)
LIGHT_RANGE = (100.0, 135.0)
PENDULUM_CONCEPTS = ("angle", "light", "shadow_length", "shadow_position")
#: the true concept DAG (cause, effect)
PENDULUM_EDGES = (
    ("angle", "shadow_length"),
    ("angle", "shadow_position"),
    ("light", "shadow_length"),
    ("light", "shadow_position"),
)


def _size(size: Any) -> int:
    if size not in PENDULUM_SIZES:
        raise DataValidationError(f"size must be one of {PENDULUM_SIZES}; got {size!r}")
    return int(size)


def pendulum_scm(size: int = 32) -> SCM:
    """The pendulum-and-light SCM: two root concepts, two shadow concepts, an RGB image.

    Parameters
    ----------
    size : {16, 28, 32}
        Image side.

    Returns
    -------
    SCM
        Nodes ``angle``, ``light``, ``shadow_length``, ``shadow_position`` (floats) and
        ``image`` (``(n, 3, size, size)``).

    Examples
    --------
    >>> scm = pendulum_scm(28)
    >>> f, cf = scm.counterfactual(3, do={"shadow_length": 12.0}, random_state=1)
    >>> bool(np.allclose(cf["shadow_position"], f["shadow_position"]))  # not a descendant
    True
    """
    s = _size(size)

    def shadow(index: int):
        return lambda pa, u: shadow_geometry(pa["angle"], pa["light"])[index]

    def image(pa: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
        return render_pendulum(
            pa["angle"], pa["light"], pa["shadow_length"], pa["shadow_position"], s, style=u
        )

    return SCM(
        [
            Node("angle", fn=lambda pa, u: u, noise=uniform(*ANGLE_RANGE)),
            Node("light", fn=lambda pa, u: u, noise=uniform(*LIGHT_RANGE)),
            Node("shadow_length", ("angle", "light"), shadow(0), no_noise()),
            Node("shadow_position", ("angle", "light"), shadow(1), no_noise()),
            Node("image", PENDULUM_CONCEPTS, image, uniform(0, 1, dim=2), shape=(3, s, s)),
        ]
    )


def make_pendulum(n: int, size: int = 32, random_state: Any = None) -> CausalDataset:
    """Draw the pendulum-and-light scene (:func:`pendulum_scm`) as a data set.

    Parameters
    ----------
    n : int
        Number of units.
    size : {16, 28, 32}
        Image side.
    random_state : int, Generator or None
        Seed.

    Returns
    -------
    CausalDataset
        ``data`` a mapping ``angle, light, shadow_length, shadow_position`` (floats) and
        ``image``; roles ``treatment`` ``angle``, ``outcome`` ``image``; ``extras["noise"]``
        every unit's exogenous noise (``ds.scm.counterfactual(ds.extras["noise"], do=...)``
        gives these units' exact counterfactuals), ``extras["concepts"]`` the concept names;
        ``truth["concept_edges"]`` the true concept DAG's edges.

    Examples
    --------
    >>> ds = make_pendulum(50, size=16, random_state=0)
    >>> ds.data["image"].shape, ds.truth["concept_edges"][0]
    ((50, 3, 16, 16), ('angle', 'shadow_length'))
    """
    n = check_int("n", n)
    scm = pendulum_scm(size)
    noise = scm.sample_noise(n, np.random.default_rng(random_state))
    data = scm.to_arrays(scm.propagate(noise))
    return CausalDataset(
        data,
        {"treatment": "angle", "outcome": "image"},
        {"concept_edges": PENDULUM_EDGES},
        scm=scm,
        extras={"noise": noise, "concepts": PENDULUM_CONCEPTS},
        description="pendulum and light (CausalVAE): angle, light -> shadow length, position",
    )


# ---------------------------------------------------------------------- readers
def _masks(images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Soft masks of the ball (red), the light (orange) and the dark shapes."""
    r, g, b = images[:, 0], images[:, 1], images[:, 2]
    ball = np.clip((r - g) - 2.0 * np.abs(g - b), 0.0, None)
    sun = np.clip(g - b - 0.2, 0.0, None)
    dark = np.clip(0.7 - images.max(axis=1), 0.0, None)
    return ball, sun, dark


def _centroid(mask: np.ndarray) -> np.ndarray:
    """Mask-weighted mean column and row (in [0, 1]) and the mask's total mass."""
    side = mask.shape[-1]
    pos = (np.arange(side) + 0.5) / side
    mass = mask.sum(axis=(1, 2))
    w = np.maximum(mass, 1e-6)
    cx = (mask.sum(axis=1) * pos).sum(axis=1) / w
    cy = (mask.sum(axis=2) * pos).sum(axis=1) / w
    return np.column_stack([cx, cy, mass / side**2])


def _features(images: np.ndarray) -> np.ndarray:
    """Geometric features: centroids of ball and light, the shadow band's column profile."""
    side = images.shape[-1]
    ball, sun, dark = _masks(images)
    band = dark[:, int(round(side * 0.88)) :]  # the ground rows
    cols = band.sum(axis=1)
    pos = (np.arange(side) + 0.5) / side
    on = cols > 0.5 * np.maximum(cols.max(axis=1, keepdims=True), 1e-6)
    left = np.where(on.any(1), np.argmax(on, axis=1), 0) / side
    right = np.where(on.any(1), side - 1 - np.argmax(on[:, ::-1], axis=1), 0) / side
    mass = cols.sum(1)
    centre = (cols * pos).sum(1) / np.maximum(mass, 1e-6)
    shadow = np.column_stack([left, right, right - left, centre, mass / side])
    return np.column_stack([_centroid(ball), _centroid(sun), shadow, cols / side])


class PendulumReader:
    """Readers of the four concepts of pendulum images (from :func:`train_pendulum_readers`).

    Ridge regressions on quadratic features of geometric image statistics (centroids of the
    red ball and of the orange light, the extent and centre of the dark band on the ground).

    Attributes
    ----------
    size : int
        Side of the images read.
    kinds : dict
        Concept -> ``"continuous"``.
    scores : dict
        ``{concept}_mae`` measured on fresh renders, in the concepts' units.

    Examples
    --------
    >>> reader = train_pendulum_readers(size=16, n=800)
    >>> reader.scores["light_mae"] < 3.0, reader.features(np.zeros((2, 3, 16, 16))).shape
    (True, (2, 20))
    """

    def __init__(self, size: int, models: dict[str, Any], poly: Any, pca: PCA, scale: dict):
        self.size = size
        self._models, self._poly, self._pca, self._scale = models, poly, pca, scale
        self.kinds = {c: "continuous" for c in models}
        self.scores: dict[str, float] = {}

    def _images(self, images: Any) -> np.ndarray:
        x = np.asarray(images, dtype=np.float32)
        if x.ndim != 4 or x.shape[1:] != (3, self.size, self.size):
            raise DataValidationError(
                f"the pendulum readers take images (n, 3, {self.size}, {self.size}); got {x.shape}"
            )
        return x

    def predict(self, images: Any) -> dict[str, np.ndarray]:
        """Concept -> values read off ``images`` ``(n, 3, size, size)``."""
        z = self._poly.transform(_features(self._images(images)))
        return {c: m.predict(z) for c, m in self._models.items()}

    def features(self, images: Any) -> np.ndarray:
        """Scaled concept readings and 16 principal components of the pixels ``(n, 20)``."""
        x = self._images(images)
        read = self.predict(x)
        parts = [read[c][:, None] / self._scale[c] for c in self._models]
        return np.column_stack([*parts, self._pca.transform(x.reshape(len(x), -1))])

    def __call__(self, images: Any) -> dict[str, np.ndarray]:
        return self.predict(images)

    def __repr__(self) -> str:
        scores = ", ".join(f"{k}={v:.3g}" for k, v in self.scores.items())
        return f"PendulumReader(size={self.size}, {scores})"


def _independent_renders(size: int, n: int, rng: np.random.Generator):
    """Renders with the four concepts drawn independently over the SCM's ranges."""
    angle, light = rng.uniform(*ANGLE_RANGE, n), rng.uniform(*LIGHT_RANGE, n)
    length, position = shadow_geometry(rng.uniform(*ANGLE_RANGE, n), rng.uniform(*LIGHT_RANGE, n))
    truth = {"angle": angle, "light": light, "shadow_length": length, "shadow_position": position}
    images = render_pendulum(angle, light, length, position, size, rng.uniform(0, 1, (n, 2)))
    return images, truth


def train_pendulum_readers(
    size: int = 32, n: int = 3000, n_test: int = 1000, random_state: int = 0
) -> PendulumReader:
    """Train concept readers for pendulum images, deterministically, in about a second.

    Training renders draw the four concepts independently (the shadow from an unrelated
    angle and light), so a reader reads its own concept, never a correlated one.

    Parameters
    ----------
    size : {16, 28, 32}
        Image side.
    n, n_test : int
        Training renders, and fresh renders on which :attr:`PendulumReader.scores` are measured.
    random_state : int, default 0
        Seed of the renders.

    Returns
    -------
    PendulumReader

    Examples
    --------
    >>> reader = train_pendulum_readers(size=16, n=800)
    >>> sorted(reader.scores)
    ['angle_mae', 'light_mae', 'shadow_length_mae', 'shadow_position_mae']
    """
    s = _size(size)
    n, n_test = check_int("n", n, 100), check_int("n_test", n_test, 10)
    rng = np.random.default_rng(random_state)
    images, truth = _independent_renders(s, n, rng)
    poly = PolynomialFeatures(2, include_bias=False).fit(_features(images))
    z = poly.transform(_features(images))
    models = {c: Ridge(alpha=1e-3).fit(z, truth[c]) for c in PENDULUM_CONCEPTS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pca = PCA(16, svd_solver="full").fit(images.reshape(n, -1))
    scale = {c: float(np.std(truth[c])) for c in PENDULUM_CONCEPTS}
    reader = PendulumReader(s, models, poly, pca, scale)
    test, test_truth = _independent_renders(s, n_test, rng)
    pred = reader.predict(test)
    for c in PENDULUM_CONCEPTS:
        reader.scores[f"{c}_mae"] = float(np.mean(np.abs(pred[c] - test_truth[c])))
    return reader
