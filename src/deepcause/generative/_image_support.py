"""When a ``do()`` image lies off the training images of its node.

A scalar ``do()`` value outside its node's observed range warns
(:mod:`deepcause.generative._support`); an image has no range, yet the mechanisms of its
children have only seen the node's training images, and an image unlike all of them (another
kind of picture, a colour or a shape the data never showed) makes their answer an
extrapolation. :class:`ImageSupport` (fitted on every image node's training images, kept by
saved models) describes each image by its coordinates on the training images'
:data:`IMAGE_SUPPORT_COMPONENTS` leading principal components and by its distance off them
(what those components cannot express), and takes the support of those features as
:class:`~deepcause.generative._support.JointSupport` does for a node's parents: the union of
balls around up to 2,000 reference training images, each reaching to its 5th nearest other
one, calibrated on up to 1,000 other training images. The rule:

* **One image** (for every unit): warns when it lies farther beyond the balls than every
  calibration image does, which a fresh draw of the training images does with probability
  ``1 / (n_cal + 1)`` (about 0.1%).
* **An image per unit**: warns when more units lie outside every ball than fresh draws of the
  training images would put there (beta-binomial tail probability below
  :data:`~deepcause.generative._support.FRESH_DRAW_ALPHA`, the rule of the scalar checks).

Both the ``"joint"`` route (``sample`` and ``counterfactual``) and the ``"idgen"`` route check
their ``do()`` images, the ``"idgen"`` route the images of ``given=`` (a conditional query's
generators were trained on the node's images too), and a shift on an image node its outputs
(counted off only where farther than the image it shifted); a node with fewer than 200
training images is not checked.

>>> rng = np.random.default_rng(0)
>>> size = rng.uniform(2, 6, 600)                 # discs of random size, centred
>>> yy, xx = np.mgrid[:16, :16] - 7.5
>>> discs = np.clip(size[:, None, None] - np.hypot(yy, xx), 0, 1)[:, None].astype(np.float32)
>>> sup = ImageSupport.fit(discs, random_state=0)
>>> sup.message("X", discs[:1]) is None            # a training disc
True
>>> square = np.zeros((1, 16, 16), np.float32)
>>> square[:, 2:14, 2:14] = 1.0
>>> print(sup.message("X", square))  # doctest: +ELLIPSIS
do(X) sets an image unlike the training images of 'X': farther from them than all 150 held-out \
training images ... the answer is an extrapolation beyond the data the mechanisms were trained on
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._torch import torch
from .._validation import user_stacklevel
from ..exceptions import PositivityWarning
from ._support import (
    _JOINT_MIN_ROWS,
    _TAIL,
    FRESH_DRAW_ALPHA,
    JointSupport,
    _p_text,
    reference_split,
)

__all__ = ["IMAGE_SUPPORT_COMPONENTS", "ImageSupport", "warn_off_images"]

#: an image's features: its coordinates on this many leading principal components of the
#: training images, and its distance off them
IMAGE_SUPPORT_COMPONENTS = 16
_PCA_ROWS = 1000  # reference images the components are computed from


class ImageSupport:
    """The support of one image node's training images (see the module docstring).

    Parameters
    ----------
    mean, components : Tensor
        The reference images' mean ``(D,)`` and leading principal directions ``(D, k)``, in
        flattened pixels.
    support : JointSupport
        The support of the reference images' features.
    cal_max : float
        The largest excess (:meth:`JointSupport.excess`) of a calibration image.

    Examples
    --------
    >>> x = np.random.default_rng(0).uniform(size=(400, 1, 8, 8)).astype(np.float32)
    >>> sup = ImageSupport.fit(x, random_state=0)
    >>> back = ImageSupport.from_state(*sup.to_state())
    >>> bool((back.excess(x[:50] * 3) == sup.excess(x[:50] * 3)).all())
    True
    >>> ImageSupport.fit(x[:100]) is None  # too few images to check
    True
    """

    def __init__(
        self, mean: torch.Tensor, components: torch.Tensor, support: JointSupport, cal_max: float
    ) -> None:
        self.mean, self.components, self.support = mean, components, support
        self.cal_max = float(cal_max)

    @classmethod
    def fit(cls, images: Any, random_state: int = 0) -> ImageSupport | None:
        """The support of ``images`` ``(n, C, H, W)``, or ``None`` with fewer than 200."""
        n = len(images)
        if n < _JOINT_MIN_ROWS:
            return None
        reference, calibration = reference_split(n, random_state)
        ref, cal = (_flat(np.asarray(images)[idx.numpy()]) for idx in (reference, calibration))
        mean = ref.mean(0)
        k = min(IMAGE_SUPPORT_COMPONENTS, len(ref) - 1, ref.shape[1])
        _, _, vh = torch.linalg.svd(ref[:_PCA_ROWS] - mean, full_matrices=False)
        components = vh[:k].T.contiguous()
        feats_ref, feats_cal = (_features(x, mean, components) for x in (ref, cal))
        support = JointSupport.from_split(feats_ref, feats_cal)
        excess = support.excess(feats_cal)
        sup = cls(mean, components, support, float(excess.max()))
        # an image's features have no range rule: every image outside the balls counts
        support.n_beyond = int((excess > sup._tolerance).sum())
        return sup

    @property
    def _tolerance(self) -> float:
        """Excess below this counts as inside: repeated training images have balls of radius 0
        and distances to them come back from ``cdist`` a rounding error above 0."""
        return 1e-3 * float(self.support.radius.median()) + 1e-6

    def excess(self, images: Any) -> torch.Tensor:
        """``(n,)``: how far each image lies beyond the support's balls (negative inside)."""
        feats = _features(_flat(np.asarray(images)), self.mean, self.components)
        return self.support.excess(feats)

    def message(
        self, node: str, images: Any, what: str | None = None, baseline: Any = None
    ) -> str | None:
        """The warning for images ``(n, C, H, W)`` (or one ``(C, H, W)``) set on ``node``, or
        ``None`` when the rule of the module docstring does not flag them.

        ``what`` names the setting in the message (default ``"do(<node>)"``). ``baseline``
        (same shape as ``images``, one per unit) holds the images a shift started from: a unit
        then counts as off only when its image lies beyond the balls *and* farther than its
        baseline image, so a shift is not blamed for images that were already off (a model's
        own draws of a blurry image mechanism can be).
        """
        what = what or f"do({node})"
        arr = _units(images)
        if len(arr) == 0:
            return None
        if len(arr) == 1 or bool((arr == arr[:1]).all()):  # one image, shared by every unit
            if float(self.excess(arr[:1])[0]) <= self.cal_max + self._tolerance:
                return None
            return (
                f"{what} sets an image unlike the training images of {node!r}: farther from "
                f"them than all {self.support.n_cal} held-out training images (in the images' "
                f"{self.components.shape[1]} principal components and the distance off them)"
                + _TAIL
            )
        excess = self.excess(arr)
        off = excess > self._tolerance
        if baseline is not None:
            off &= excess > self.excess(_units(baseline)) + self._tolerance
        p, rate = self.support.fresh_draw_p(off)
        if p >= FRESH_DRAW_ALPHA:
            return None
        n_off, k = int(off.sum()), len(arr)
        return (
            f"{what} sets {n_off} of {k} images ({n_off / k:.1%}) off the training images of "
            f"{node!r}, where fresh draws of the training images would put about {rate:.1%} "
            f"({_p_text(p)})" + _TAIL
        )

    _TENSORS = ("mean", "components")

    def to_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """``(tensors, counts)`` for a saved model; :meth:`from_state` rebuilds the check."""
        tensors, counts = self.support.to_state()
        tensors = {f"support.{k}": t for k, t in tensors.items()}
        tensors.update({k: getattr(self, k) for k in self._TENSORS})
        return tensors, {"support": counts, "cal_max": self.cal_max}

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], counts: dict[str, Any]) -> ImageSupport:
        """The check saved by :meth:`to_state`."""
        inner = {k[len("support.") :]: t for k, t in tensors.items() if k.startswith("support.")}
        support = JointSupport.from_state(inner, counts["support"])
        return cls(*(tensors[k].float() for k in cls._TENSORS), support, counts["cal_max"])


def warn_off_images(
    supports: dict[str, ImageSupport] | None,
    node: str,
    images: Any,
    what: str | None = None,
    baseline: Any = None,
) -> None:
    """Warn (:class:`~deepcause.exceptions.PositivityWarning`, at the caller's line) when
    images set on ``node`` lie off its training images (nodes without a support in
    ``supports``: no check); ``what`` and ``baseline`` as in :meth:`ImageSupport.message`.

    >>> warn_off_images({}, "X", np.zeros((1, 8, 8)))  # not checked: nothing to say
    """
    sup = (supports or {}).get(node)
    if sup is None:
        return
    message = sup.message(node, images, what, baseline)
    if message is not None:
        warnings.warn(message, PositivityWarning, stacklevel=user_stacklevel())


def _features(flat: torch.Tensor, mean: torch.Tensor, components: torch.Tensor) -> torch.Tensor:
    """``(n, k + 1)``: each flattened image's coordinates on the ``k`` principal ``components``
    (about ``mean``) and its distance off them."""
    centred = flat - mean
    coords = centred @ components
    off = (centred - coords @ components.T).norm(dim=1, keepdim=True)
    return torch.cat([coords, off], 1)


def _units(images: Any) -> np.ndarray:
    """Images as ``(n, C, H, W)`` (one ``(C, H, W)`` image as ``n = 1``)."""
    arr = np.asarray(images)
    return arr.reshape(-1, *arr.shape[-3:]) if arr.ndim >= 3 else arr.reshape(1, -1)


def _flat(images: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.asarray(images, dtype=np.float32)).reshape(len(images), -1)
