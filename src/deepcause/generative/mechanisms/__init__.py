"""Node mechanisms: conditional distributions of one node given its parents.

``MECHANISMS`` maps the short names used by :class:`~deepcause.generative.CausalGenerativeModel`
and the CLI (``"additive"``, ``"location_scale"``, ``"flow"``, ``"log"``, ``"diffusion"``,
``"categorical"``; for image nodes ``"image_vae"``, ``"image_hvae"``, ``"image_diffusion"``,
``"image_gan"`` (sampling only: no abduction), ``"image_vae_mixture"`` (a conditional VAE
mixed with a parent-free one); ``"image_parents"``
wraps a tabular mechanism whose node has image parents) to classes; saved models are rebuilt
from this table only, so loading never executes stored code. ``IMAGE_MECHANISMS`` names the
mechanisms of image nodes.
"""

from __future__ import annotations

import difflib

from ...exceptions import InvalidParameterError
from .additive import AdditiveNoiseMechanism
from .base import Mechanism, NotInvertibleError
from .categorical import CategoricalMechanism
from .diffusion import DiffusionMechanism
from .flow import FlowMechanism, LocationScaleMechanism
from .transformed import LogMechanism

__all__ = [
    "IMAGE_MECHANISMS",
    "MECHANISMS",
    "ImageDiffusionMechanism",
    "ImageGANMechanism",
    "ImageHVAEMechanism",
    "ImageParentMechanism",
    "ImageVAEMechanism",
    "ImageVAEMixtureMechanism",
    "AdditiveNoiseMechanism",
    "CategoricalMechanism",
    "DiffusionMechanism",
    "FlowMechanism",
    "LocationScaleMechanism",
    "LogMechanism",
    "Mechanism",
    "NotInvertibleError",
    "make_mechanism",
    "mechanism_from_config",
]

MECHANISMS: dict[str, type[Mechanism]] = {
    "additive": AdditiveNoiseMechanism,
    "location_scale": LocationScaleMechanism,
    "flow": FlowMechanism,
    "log": LogMechanism,
    "diffusion": DiffusionMechanism,
    "categorical": CategoricalMechanism,
}


def make_mechanism(spec: str | Mechanism | type[Mechanism], **overrides: object) -> Mechanism:
    """An unbuilt mechanism from a name, a class or an instance.

    ``overrides`` (for example ``max_epochs``) apply to names and classes; an instance is
    copied unbuilt with its own hyper-parameters, which are the user's explicit choice.

    >>> make_mechanism("flow").name
    'flow'
    >>> make_mechanism("image_hvea")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    deepcause.exceptions.InvalidParameterError: unknown mechanism 'image_hvea' (did you mean 'image_hvae'?); ...
    """
    if isinstance(spec, Mechanism):
        return spec.clone_unbuilt()
    if isinstance(spec, type) and issubclass(spec, Mechanism):
        return spec(**overrides)
    if isinstance(spec, str) and spec in MECHANISMS:
        return MECHANISMS[spec](**overrides)
    close = difflib.get_close_matches(str(spec), list(MECHANISMS), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise InvalidParameterError(
        f"unknown mechanism {spec!r}{hint}; use one of {sorted(MECHANISMS)}, a Mechanism "
        "subclass or an instance"
    )


def mechanism_from_config(config: dict) -> Mechanism:
    """Rebuild an (untrained) mechanism from :meth:`Mechanism.get_config` output.

    Examples
    --------
    >>> m = AdditiveNoiseMechanism(max_epochs=3, hidden_sizes=(8,))
    >>> type(mechanism_from_config(m.get_config())).__name__
    'AdditiveNoiseMechanism'
    >>> mechanism_from_config(m.get_config()).max_epochs
    3
    """
    kind = config.get("type")
    if kind not in MECHANISMS:
        raise ValueError(
            f"unknown mechanism type {kind!r} in saved config; known: {sorted(MECHANISMS)}"
        )
    # keywords a mechanism gained after models were saved: absent from an old config, they
    # take the value that keeps the saved architecture (``legacy_config``), not the new default
    hp = {**getattr(MECHANISMS[kind], "legacy_config", {}), **config.get("hyperparameters", {})}
    for key, value in hp.items():
        if isinstance(value, list):
            hp[key] = tuple(value)
    mech = MECHANISMS[kind](**hp)
    if config.get("dim") is not None:
        mech.build(int(config["dim"]), int(config["context_dim"]), config.get("n_classes"))
    return mech


# image mechanisms last: image_parents builds its head through make_mechanism above
from .image_diffusion import ImageDiffusionMechanism  # noqa: E402
from .image_gan import ImageGANMechanism  # noqa: E402
from .image_hvae import ImageHVAEMechanism  # noqa: E402
from .image_parents import ImageParentMechanism  # noqa: E402
from .image_vae import ImageVAEMechanism  # noqa: E402
from .image_vae_mixture import ImageVAEMixtureMechanism  # noqa: E402

IMAGE_MECHANISMS: dict[str, type[Mechanism]] = {
    "image_vae": ImageVAEMechanism,
    "image_diffusion": ImageDiffusionMechanism,
    "image_hvae": ImageHVAEMechanism,
    "image_gan": ImageGANMechanism,
    "image_vae_mixture": ImageVAEMixtureMechanism,
}
MECHANISMS.update(IMAGE_MECHANISMS)
MECHANISMS["image_parents"] = ImageParentMechanism
