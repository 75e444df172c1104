"""Neural effect estimators (needs the ``deep`` extra: ``pip install deepcause[deep]``).

``TARNet``, ``CFR``, ``DragonNet`` and ``CEVAE`` share one contract with the other estimators
(:class:`deepcause.estimate.BaseEffectEstimator`): ``fit`` on a DataFrame + estimand, column
names or arrays; ``ate()``, ``att()``, ``atc()`` return an :class:`~deepcause.EffectEstimate`
with a bootstrap-ensemble interval; ``predict_cate(X)``; ``save(path)`` / :func:`load`.
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
