"""The image SCM type and shared pieces of the image designs (see :mod:`.images`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exceptions import DataValidationError
from ._render import SIZES, render_digits
from .scm import SCM, Node, uniform

__all__ = ["ImageSCM", "RenderSpec", "sample_attributes"]


@dataclass(frozen=True)
class RenderSpec:
    """How an SCM's images are drawn: side, colour, and the ranges of the render variables.

    Attribute readers (:func:`~deepcause.simulate.train_attribute_readers`) are trained on
    renders with every variable drawn independently over these ranges.

    >>> RenderSpec(16, colored=True).channels
    3
    """

    size: int = 16
    colored: bool = False
    thickness: tuple[float, float] = (1.0, 1.0)
    intensity: tuple[float, float] = (1.0, 1.0)
    max_shift: int = 0

    @property
    def channels(self) -> int:
        """3 for RGB renders, 1 for grey ones."""
        return 3 if self.colored else 1


class ImageSCM(SCM):
    """An :class:`SCM` whose image nodes are renders, with their attributes and render spec.

    Parameters
    ----------
    nodes : iterable of Node
        The nodes, as for :class:`SCM`.
    attributes : mapping
        Image node -> {attribute name -> node holding it} (``"digit"``, ``"color"``,
        ``"thickness"``, ``"intensity"``).
    spec : RenderSpec
        Size, colour and the ranges of the render variables.

    Examples
    --------
    >>> from deepcause.simulate import morpho_digits
    >>> scm = morpho_digits()
    >>> dict(scm.attributes["image"])
    {'digit': 'digit', 'thickness': 'thickness', 'intensity': 'intensity'}
    """

    def __init__(self, nodes: Any, attributes: Mapping[str, Mapping[str, str]], spec: RenderSpec):
        super().__init__(nodes)
        self.attributes = {img: dict(attrs) for img, attrs in attributes.items()}
        self.spec = spec
        for img, attrs in self.attributes.items():
            missing = [a for a in (img, *attrs.values()) if a not in self.nodes]
            if missing:
                raise DataValidationError(f"attributes of {img!r} name unknown nodes {missing}")


def _size(size: Any) -> int:
    if size not in SIZES:
        raise DataValidationError(f"size must be one of {SIZES}; got {size!r}")
    return int(size)


def _pick(u: np.ndarray, p: float, value: np.ndarray, k: int) -> np.ndarray:
    """``value`` with probability ``p`` (coin ``u[:, 0]``), else uniform on ``0..k-1``."""
    return np.where(u[:, 0] < p, value, np.floor(k * u[:, 1]))


def _category(name: str, k: int, latent: bool = False) -> Node:
    return Node(
        name, fn=lambda pa, u: np.floor(k * u), noise=uniform(0, 1), latent=latent, discrete=True
    )


def _colored(name: str, digit: str, color: str, size: int) -> Node:
    """A coloured digit image of the parents' digit and colour, the glyph chosen by its noise."""
    return Node(
        name,
        (digit, color),
        lambda pa, u: render_digits(pa[digit], size=size, style=u, color=pa[color]),
        uniform(0, 1),
        shape=(3, size, size),
    )


def sample_attributes(
    scm: ImageSCM,
    n: int,
    do: Mapping[str, Any] | None = None,
    random_state: Any = None,
) -> dict[str, dict[str, np.ndarray]]:
    """The true attributes of every image node of ``n`` units, under ``do`` if given.

    Returns ``{image node: {attribute: values}}`` (digit, colour, thickness, intensity as the
    SCM defines them), computed by intervening on the SCM: the exact truth against which
    attribute readers and generated images are scored.

    Examples
    --------
    >>> from deepcause.simulate import morpho_digits
    >>> a = sample_attributes(morpho_digits(), 500, do={"thickness": 1.0}, random_state=0)
    >>> sorted(a["image"]), float(a["image"]["thickness"].max())
    (['digit', 'intensity', 'thickness'], 1.0)
    """
    if not isinstance(scm, ImageSCM):
        raise DataValidationError(
            f"sample_attributes needs an ImageSCM (e.g. morpho_digits()); got {type(scm).__name__}"
        )
    values = scm.sample(n, do=do, random_state=random_state, include_latent=True, as_arrays=True)
    return {
        img: {attr: values[node] for attr, node in attrs.items()}
        for img, attrs in scm.attributes.items()
    }
