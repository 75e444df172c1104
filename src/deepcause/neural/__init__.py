"""Neural effect estimators (needs the ``deep`` extra: ``pip install deepcause[deep]``).

``TARNet``, ``CFR``, ``DragonNet`` and ``CEVAE`` share one contract with the other estimators
(:class:`deepcause.estimate.BaseEffectEstimator`): ``fit`` on a DataFrame + estimand, column
names or arrays; ``ate()``, ``att()``, ``atc()`` return an :class:`~deepcause.EffectEstimate`;
``predict_cate(X)``; ``save(path)`` / :func:`load` (JSON config + tensors read with
``torch.load(weights_only=True)``).

Intervals come from a *bootstrap ensemble* (``uncertainty="bootstrap"``, the default): each of
the ``n_members`` networks is trained on a bootstrap resample drawn within each treatment arm
and early-stopped on its out-of-bag rows; estimates average the members, the standard error is
the standard deviation of the members' estimates and the interval is Student-t with
``n_members - 1`` degrees of freedom. ``uncertainty=None`` trains every member on all rows and
returns point estimates without a standard error.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "deepcause.neural needs PyTorch; install it with `pip install deepcause[deep]`"
    ) from exc

from ._base import NeuralEffectEstimator, load
from .cevae import CEVAE
from .cfr import CFR
from .dragonnet import DragonNet
from .tarnet import TARNet

MODELS: dict[str, type[NeuralEffectEstimator]] = {
    "TARNet": TARNet,
    "CFR": CFR,
    "DragonNet": DragonNet,
    "CEVAE": CEVAE,
}

__all__ = ["CEVAE", "CFR", "DragonNet", "MODELS", "NeuralEffectEstimator", "TARNet", "load"]
