"""Image SCMs with exact truth: coloured and Morpho-style digits drawn from bundled glyphs.

Every image node is a deterministic render (:mod:`deepcause.simulate._render`: scikit-learn's
1,797 bundled 8x8 digit glyphs, upsampled to 16x16 or 28x28, with colour, stroke thickness,
intensity and position as structural variables) of its parents and of its own style noise, so
samples under ``do()`` and unit-level counterfactual images are exact: they come from
intervening on the SCM (:meth:`~deepcause.simulate.SCM.sample`,
:meth:`~deepcause.simulate.SCM.counterfactual`). The attributes of every image (its digit,
colour, thickness, intensity) are nodes of the SCM too, latent when they are not observed
variables of the design; ``sample(..., include_latent=True)`` returns them, and
:attr:`ImageSCM.attributes` says which node holds which attribute of which image.

Designs (``*_scm`` builds the SCM, ``make_*`` draws a :class:`~deepcause.datasets.CausalDataset`
whose ``data`` is a mapping ``{node: array}``):

* :func:`colored_digits_napkin` — the ID-GEN napkin ``W1 -> W2 -> X -> Y``, ``W1 <-> X``,
  ``W1 <-> Y`` with coloured-digit images ``X`` and ``Y`` whose colours are set by hidden
  variables (after the Colored-MNIST experiment of Rahman, Jordan & Kocaoglu 2024);
* :func:`confounded_digit_label` — back-door: a colour group ``C`` confounds a digit image ``X``
  and a binary label ``Y`` (``hidden=True`` makes ``C`` latent: then ``X <-> Y``);
* :func:`frontdoor_image_mediator` — front-door: ``X -> M -> Y``, ``X <-> Y``, image mediator;
* :func:`morpho_digits` — Morpho-MNIST style: ``digit -> image``,
  ``thickness -> intensity -> image``, ``thickness -> image`` (Castro et al. 2019; the deep SCM
  of Pawlowski et al. 2020).

>>> scm = colored_digits_napkin()
>>> str(scm.graph)
'W1 -> W2; W2 -> X; X -> Y; W1 <-> X; W1 <-> Y'
>>> out = scm.sample(4, random_state=0)
>>> out["X"].shape, out["W2"].dtype
((4, 3, 16, 16), dtype('int64'))
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit

from ..datasets.dataset import CausalDataset
from ._common import check_int
from ._image_scm import (
    ImageSCM,
    RenderSpec,
    _category,
    _colored,
    _pick,
    _size,
    sample_attributes,
)
from ._render import PALETTE, read_color, read_digit, render_digits
from .scm import Node, uniform

__all__ = [
    "ImageSCM",
    "RenderSpec",
    "colored_digits_napkin",
    "confounded_digit_label",
    "frontdoor_image_mediator",
    "morpho_digits",
    "make_colored_digits_napkin",
    "make_confounded_digit_label",
    "make_frontdoor_image_mediator",
    "make_morpho_digits",
    "sample_attributes",
]

K = len(PALETTE)  # number of colours


def colored_digits_napkin(size: int = 16) -> ImageSCM:
    """The ID-GEN napkin with coloured-digit images ``X`` and ``Y``.

    Hidden colours ``U1, U2`` (uniform on the 6 palette colours). ``W1`` (0-5) is ``U2``
    with probability 0.55, ``U1`` with 0.30, else uniform; ``W2`` (a digit 0-9) is ``W1``
    with probability 0.8, else uniform. ``X`` is a digit ``W2`` coloured ``X_color`` (``U1``
    with probability 0.85, else uniform). ``Y`` is a digit ``Y_digit`` (the digit read off
    ``X``'s pixels with probability 0.9, else uniform) coloured ``Y_color`` (``X``'s colour
    read off its pixels with probability 0.3, ``U2`` with 0.6, else uniform). So
    ``W1 <-> X`` (through ``U1``), ``W1 <-> Y`` (through ``U2``) and ``P(y | do(x))`` is
    identified by the napkin formula but differs from ``P(y | x)``: ``X``'s digit carries
    ``W2``, hence ``W1``, hence ``U2``, which colours ``Y``.

    Parameters
    ----------
    size : {16, 28}
        Image side.

    Returns
    -------
    ImageSCM
        Observed ``W1, W2, X, Y``; latent ``U1, U2, X_color, Y_digit, Y_color``.

    Examples
    --------
    >>> scm = colored_digits_napkin()
    >>> a = sample_attributes(scm, 2000, random_state=0)
    >>> x_is_zero = a["X"]["digit"] == 0
    >>> bool(np.mean(a["Y"]["color"][x_is_zero] == 0) > 0.4)   # confounded: Y red when X is a 0
    True
    """
    s = _size(size)
    coin = uniform(0, 1, dim=2)
    nodes = [
        _category("U1", K, latent=True),
        _category("U2", K, latent=True),
        Node(
            "W1",
            ("U1", "U2"),
            lambda pa, u: np.where(u[:, 0] < 0.55, pa["U2"], _pick(u, 0.85, pa["U1"], K)),
            coin,
            discrete=True,
        ),
        Node("W2", ("W1",), lambda pa, u: _pick(u, 0.8, pa["W1"], 10), coin, discrete=True),
        Node(
            "X_color",
            ("U1",),
            lambda pa, u: _pick(u, 0.85, pa["U1"], K),
            coin,
            latent=True,
            discrete=True,
        ),
        _colored("X", "W2", "X_color", s),
        Node(
            "Y_digit",
            ("X",),
            lambda pa, u: _pick(u, 0.9, read_digit(pa["X"]), 10),
            coin,
            latent=True,
            discrete=True,
        ),
        Node(
            "Y_color",
            ("X", "U2"),
            lambda pa, u: np.where(u[:, 0] < 0.3, read_color(pa["X"]), _pick(u, 0.9, pa["U2"], K)),
            coin,
            latent=True,
            discrete=True,
        ),
        _colored("Y", "Y_digit", "Y_color", s),
    ]
    attributes = {
        "X": {"digit": "W2", "color": "X_color"},
        "Y": {"digit": "Y_digit", "color": "Y_color"},
    }
    return ImageSCM(nodes, attributes, RenderSpec(s, colored=True))


def _digit_of(name: str, parent: str, p: float, k: int) -> Node:
    """A latent digit: ``k * parent + {0..k-1}`` with probability ``p``, else uniform on 0-9."""
    return Node(
        name,
        (parent,),
        lambda pa, u: _pick(u, p, k * pa[parent] + np.floor(k * u[:, 1]), 10),
        uniform(0, 1, dim=2),
        latent=True,
        discrete=True,
    )


def confounded_digit_label(size: int = 16, hidden: bool = False) -> ImageSCM:
    """Back-door design: a colour group ``C`` confounds a digit image ``X`` and a label ``Y``.

    ``C`` is uniform on 3 colour groups. ``X`` is a digit ``X_digit`` (``3 C + {0, 1, 2}``
    with probability 0.7, else uniform on 0-9) coloured ``X_color`` (palette colour ``C``
    with probability 0.6, else one of the first three at random), so the image shows its
    confounder only in part. ``Y = 1`` with probability
    ``expit(2.5 [digit read off X >= 5] - 1.25 + 1.5 (C - 1))``. ``P(Y | do(X = x))`` is the
    back-door adjustment over ``C``, unlike ``P(Y | X = x)``, which reads ``C`` from ``x``.

    Parameters
    ----------
    size : {16, 28}
        Image side.
    hidden : bool, default False
        Make ``C`` latent (``X <-> Y``: then ``P(Y | do(X))`` is not identified).

    Returns
    -------
    ImageSCM

    Examples
    --------
    >>> str(confounded_digit_label().graph)
    'C -> X; C -> Y; X -> Y'
    >>> str(confounded_digit_label(hidden=True).graph)
    'X -> Y; X <-> Y'
    """
    s = _size(size)
    coin = uniform(0, 1, dim=2)

    def label(pa: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
        big = (read_digit(pa["X"]) >= 5).astype(float)
        return u < expit(2.5 * big - 1.25 + 1.5 * (pa["C"] - 1.0))

    nodes = [
        _category("C", 3, latent=bool(hidden)),
        _digit_of("X_digit", "C", 0.7, 3),
        Node(
            "X_color",
            ("C",),
            lambda pa, u: _pick(u, 0.6, pa["C"], 3),
            coin,
            latent=True,
            discrete=True,
        ),
        _colored("X", "X_digit", "X_color", s),
        Node("Y", ("X", "C"), label, uniform(0, 1), discrete=True),
    ]
    attributes = {"X": {"digit": "X_digit", "color": "X_color"}}
    return ImageSCM(nodes, attributes, RenderSpec(s, colored=True))


def frontdoor_image_mediator(size: int = 16) -> ImageSCM:
    """Front-door design ``X -> M -> Y``, ``X <-> Y``, with a coloured-digit image mediator.

    A hidden binary ``U`` (probability 1/2); ``X = 1`` with probability 0.8 when ``U = 1``
    and 0.2 otherwise; ``M`` is a digit ``M_digit`` (``5 X + {0..4}`` with probability 0.8,
    else uniform on 0-9) in a random palette colour; ``Y = 1`` with probability
    ``expit(2 [digit read off M >= 5] + 2 U - 2)``.

    Parameters
    ----------
    size : {16, 28}
        Image side.

    Returns
    -------
    ImageSCM

    Examples
    --------
    >>> scm = frontdoor_image_mediator()
    >>> str(scm.graph)
    'X -> M; M -> Y; X <-> Y'
    """
    s = _size(size)

    def outcome(pa: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
        big = (read_digit(pa["M"]) >= 5).astype(float)
        return u < expit(2.0 * big + 2.0 * pa["U"] - 2.0)

    nodes = [
        _category("U", 2, latent=True),
        Node(
            "X",
            ("U",),
            lambda pa, u: u < np.where(pa["U"] == 1, 0.8, 0.2),
            uniform(0, 1),
            discrete=True,
        ),
        _digit_of("M_digit", "X", 0.8, 5),
        _category("M_color", K, latent=True),
        _colored("M", "M_digit", "M_color", s),
        Node("Y", ("M", "U"), outcome, uniform(0, 1), discrete=True),
    ]
    attributes = {"M": {"digit": "M_digit", "color": "M_color"}}
    return ImageSCM(nodes, attributes, RenderSpec(s, colored=True))


THICKNESS_RANGE = (0.25, 4.5)
INTENSITY_RANGE = (0.3, 1.0)


def morpho_digits(size: int = 28) -> ImageSCM:
    """Morpho-MNIST style digits: class, stroke thickness, intensity and a grey image.

    ``digit`` uniform on 0-9 (root); ``thickness = min(0.25 + Gamma(5, 0.3), 4.5)`` pixels
    of dilation (root); ``intensity = 0.3 + 0.7 expit(0.5 u + 2 (thickness - 1.75))`` with
    ``u ~ N(0, 1)``; ``image`` the glyph of ``digit`` chosen by the style noise, dilated by
    ``thickness`` (a continuous morphological operation), scaled by ``intensity`` and shifted
    by -1, 0 or 1 pixel along each axis (style noise too). The image is a deterministic
    function of its parents and its own noise, so ``counterfactual(..., do={"thickness": t})``
    gives every unit's exact counterfactual image.

    Parameters
    ----------
    size : {16, 28}
        Image side (28 as in MNIST).

    Returns
    -------
    ImageSCM
        Observed ``digit, thickness, intensity, image``.

    Examples
    --------
    >>> scm = morpho_digits()
    >>> str(scm.graph)
    'digit -> image; thickness -> intensity; thickness -> image; intensity -> image'
    >>> f, cf = scm.counterfactual(3, do={"thickness": 4.0}, random_state=0)
    >>> bool((cf["image"] > 0).sum() > (f["image"] > 0).sum()), cf["image"].shape
    (True, (3, 1, 28, 28))
    """
    s = _size(size)
    lo, hi = THICKNESS_RANGE

    def image(pa: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
        shift = np.floor(3 * u[:, 1:]).astype(np.int64) - 1
        return render_digits(
            pa["digit"],
            size=s,
            style=u[:, 0],
            thickness=pa["thickness"],
            intensity=pa["intensity"],
            shift=shift,
        )

    nodes = [
        _category("digit", 10),
        Node(
            "thickness",
            fn=lambda pa, u: np.minimum(lo + u, hi),
            noise=lambda rng, n: rng.gamma(5.0, 0.3, n),
        ),
        Node(
            "intensity",
            ("thickness",),
            lambda pa, u: 0.3 + 0.7 * expit(0.5 * u + 2.0 * (pa["thickness"] - 1.75)),
        ),
        Node(
            "image",
            ("digit", "thickness", "intensity"),
            image,
            uniform(0, 1, dim=3),
            shape=(1, s, s),
        ),
    ]
    attributes = {"image": {"digit": "digit", "thickness": "thickness", "intensity": "intensity"}}
    spec = RenderSpec(
        s, colored=False, thickness=THICKNESS_RANGE, intensity=INTENSITY_RANGE, max_shift=1
    )
    return ImageSCM(nodes, attributes, spec)


# ---------------------------------------------------------------------- data sets
def _reference_images(digits: tuple[int, ...], colors: tuple[int, ...], size: int) -> np.ndarray:
    return render_digits(np.array(digits), size=size, style=0.5, color=np.array(colors))


def _do_tables(
    scm: ImageSCM, node: str, refs: np.ndarray, target: str, levels: int, n: int, seed: int
) -> np.ndarray:
    """``P(target = k | do(node = refs[i]))`` for every reference, shape ``(len(refs), levels)``.

    Common random numbers: the same units (seed) under every reference intervention.
    """
    rows = []
    for ref in refs:  # a handful of interventions, each vectorised over n units
        v = scm.sample(n, do={node: ref}, random_state=seed, include_latent=True, as_arrays=True)
        rows.append(np.bincount(v[target].astype(np.int64), minlength=levels) / n)
    return np.stack(rows)


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31))


def _start(
    design: Any, args: tuple, n: int, truth_n: int, random_state: Any
) -> tuple[ImageSCM, np.random.Generator, int, int]:
    """The SCM ``design(*args)``, the generator and the checked sizes of a ``make_*`` function."""
    n, truth_n = check_int("n", n), check_int("truth_n", truth_n)
    return design(*args), np.random.default_rng(random_state), n, truth_n


def make_colored_digits_napkin(
    n: int, size: int = 16, truth_n: int = 20_000, random_state: Any = None
) -> CausalDataset:
    """Draw the coloured-digits napkin (:func:`colored_digits_napkin`) as a data set.

    Parameters
    ----------
    n : int
        Number of units.
    size : {16, 28}
        Image side.
    truth_n : int, default 20,000
        Units per reference intervention on which the truth is computed.
    random_state : int, Generator or None
        Seed.

    Returns
    -------
    CausalDataset
        ``data`` a mapping ``W1, W2`` (ints), ``X, Y`` (``(n, 3, size, size)`` images); roles
        treatment ``X``, outcome ``Y``; ``extras["x_reference"]`` four reference images of
        ``X``; ``truth["P(Y_color|do(X))"]`` ``(4, 6)`` and ``truth["P(Y_digit|do(X))"]``
        ``(4, 10)``: the distributions of ``Y``'s colour and digit under ``do(X = x_ref)``.

    Examples
    --------
    >>> ds = make_colored_digits_napkin(100, truth_n=500, random_state=0)
    >>> ds.data["X"].shape, ds.truth["P(Y_color|do(X))"].shape, ds.treatment
    ((100, 3, 16, 16), (4, 6), 'X')
    """
    scm, rng, n, truth_n = _start(colored_digits_napkin, (size,), n, truth_n, random_state)
    data = scm.sample(n, random_state=rng, as_arrays=True)
    refs = _reference_images((0, 1, 3, 5), (0, 3, 1, 2), scm.spec.size)
    seed = _seed(rng)
    truth = {
        "P(Y_color|do(X))": _do_tables(scm, "X", refs, "Y_color", K, truth_n, seed),
        "P(Y_digit|do(X))": _do_tables(scm, "X", refs, "Y_digit", 10, truth_n, seed),
    }
    return CausalDataset(
        data,
        {"treatment": "X", "outcome": "Y"},
        truth,
        scm=scm,
        extras={"x_reference": refs},
        description="coloured-digit napkin W1 -> W2 -> X -> Y, W1 <-> X, W1 <-> Y (images X, Y)",
    )


def make_confounded_digit_label(
    n: int, size: int = 16, hidden: bool = False, truth_n: int = 20_000, random_state: Any = None
) -> CausalDataset:
    """Draw the back-door design :func:`confounded_digit_label` as a data set.

    Returns
    -------
    CausalDataset
        ``data`` ``C`` (unless ``hidden``), ``X`` (images), ``Y`` (0/1); roles treatment
        ``X``, outcome ``Y``, covariates ``C``; ``extras["x_reference"]`` four images and
        ``truth["E[Y|do(X)]"]`` the four means of ``Y`` under ``do(X = x_ref)``.

    Examples
    --------
    >>> ds = make_confounded_digit_label(50, truth_n=500, random_state=0)
    >>> sorted(ds.data), ds.covariates, ds.truth["E[Y|do(X)]"].shape
    (['C', 'X', 'Y'], ('C',), (4,))
    """
    args = (size, hidden)
    scm, rng, n, truth_n = _start(confounded_digit_label, args, n, truth_n, random_state)
    data = scm.sample(n, random_state=rng, as_arrays=True)
    refs = _reference_images((1, 3, 7, 8), (0, 1, 2, 0), scm.spec.size)
    table = _do_tables(scm, "X", refs, "Y", 2, truth_n, _seed(rng))
    roles = {"treatment": "X", "outcome": "Y", "covariates": () if hidden else ("C",)}
    about = "back-door: colour group C confounds digit image X and label Y"
    truth = {"E[Y|do(X)]": table[:, 1]}
    return CausalDataset(
        data, roles, truth, scm=scm, extras={"x_reference": refs}, description=about
    )


def make_frontdoor_image_mediator(
    n: int, size: int = 16, truth_n: int = 20_000, random_state: Any = None
) -> CausalDataset:
    """Draw the front-door design :func:`frontdoor_image_mediator` as a data set.

    Returns
    -------
    CausalDataset
        ``data`` ``X`` (0/1), ``M`` (images), ``Y`` (0/1); roles treatment ``X``, outcome
        ``Y``, mediators ``M``; truth ``E[Y|do(X=1)]``, ``E[Y|do(X=0)]``, ``ATE`` by
        intervening on ``truth_n`` units (common random numbers).

    Examples
    --------
    >>> ds = make_frontdoor_image_mediator(50, truth_n=2000, random_state=0)
    >>> ds.mediators, round(ds.truth["ATE"], 1)
    (('M',), 0.3)
    """
    scm, rng, n, truth_n = _start(frontdoor_image_mediator, (size,), n, truth_n, random_state)
    data = scm.sample(n, random_state=rng, as_arrays=True)
    noise = scm.sample_noise(truth_n, _seed(rng))
    do1 = float(scm.propagate(noise, {"X": 1})["Y"].mean())
    do0 = float(scm.propagate(noise, {"X": 0})["Y"].mean())
    roles = {"treatment": "X", "outcome": "Y", "mediators": "M"}
    truth = {"E[Y|do(X=1)]": do1, "E[Y|do(X=0)]": do0, "ATE": do1 - do0}
    about = "front-door: X -> M (digit image) -> Y with X, Y confounded by hidden U"
    return CausalDataset(data, roles, truth, scm=scm, description=about)


def make_morpho_digits(
    n: int, size: int = 28, truth_n: int = 20_000, random_state: Any = None
) -> CausalDataset:
    """Draw the Morpho-style digits :func:`morpho_digits` as a data set.

    Returns
    -------
    CausalDataset
        ``data`` ``digit`` (int), ``thickness``, ``intensity`` (floats), ``image``
        (``(n, 1, size, size)``); roles treatment ``thickness``, outcome ``image``;
        ``extras["noise"]`` every unit's exogenous noise (so
        ``ds.scm.counterfactual(ds.extras["noise"], do=...)`` gives the exact counterfactuals of
        these very units); truth ``E[intensity|do(thickness)]`` at ``thickness = 1, 2, 3``.

    Examples
    --------
    >>> ds = make_morpho_digits(20, truth_n=1000, random_state=0)
    >>> f, cf = ds.scm.counterfactual(ds.extras["noise"], do={"thickness": 2.0})
    >>> bool(np.array_equal(f["image"], ds.data["image"]))
    True
    """
    scm, rng, n, truth_n = _start(morpho_digits, (size,), n, truth_n, random_state)
    noise = scm.sample_noise(n, rng)
    data = scm.to_arrays(scm.propagate(noise))
    pop = scm.sample_noise(truth_n, _seed(rng))
    levels = (1.0, 2.0, 3.0)
    means = [float(scm.propagate(pop, {"thickness": t})["intensity"].mean()) for t in levels]
    return CausalDataset(
        data,
        {"treatment": "thickness", "outcome": "image"},
        {"E[intensity|do(thickness)]": np.array(means), "thickness_levels": np.array(levels)},
        scm=scm,
        extras={"noise": noise},
        description="Morpho-style digits: digit -> image <- intensity <- thickness -> image",
    )
