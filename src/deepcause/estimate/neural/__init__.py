"""Neural effect estimators (needs the ``deep`` extra: ``pip install deepcause[deep]``).

``TARNet``, ``CFR``, ``DragonNet`` and ``CEVAE`` share the one effect contract of every
estimator (:mod:`deepcause.estimate._contract`): ``fit(data, estimand)`` or
``fit(data, treatment=, outcome=, covariates=)`` (``fit_arrays(X=, t=, y=)`` for arrays);
``effect(treatment=1, control=0, population=...)`` and ``mean(treatment=t)`` return an
:class:`~deepcause.results.EffectEstimate`; ``predict_cate(data)`` and
``predict_potential_outcomes(data)`` select the covariates by name; ``save(path)`` returns the
path and :func:`load` reads it back (the checked format of :mod:`deepcause._persistence`).

Intervals come from a *bootstrap ensemble* (``uncertainty="bootstrap"``, the default): each of
the ``n_members`` networks is trained on a bootstrap resample drawn within each treatment arm
and early-stopped on its out-of-bag rows; estimates average the members, the standard error is
the standard deviation of the members' estimates and the interval is Student-t with
``n_members - 1`` degrees of freedom. ``uncertainty=None`` trains every member on all rows and
returns point estimates without a standard error. ``TARNet``, ``CFR`` and ``DragonNet``
estimate population effects by default with the AIPW score of their heads
(``population_estimate="aipw"``, normal interval from the influence function plus the
members' spread) and run the shared overlap check in ``fit`` (``allow_no_overlap=True`` to
extrapolate, labelled).
"""

from __future__ import annotations

from ..._optional import require_torch

require_torch("deepcause.estimate.neural")  # before the submodules, which import torch

from ._base import NeuralEffectEstimator, load  # noqa: E402
from .cevae import CEVAE  # noqa: E402
from .cfr import CFR  # noqa: E402
from .dragonnet import DragonNet  # noqa: E402
from .tarnet import TARNet  # noqa: E402

MODELS: dict[str, type[NeuralEffectEstimator]] = {
    "TARNet": TARNet,
    "CFR": CFR,
    "DragonNet": DragonNet,
    "CEVAE": CEVAE,
}

__all__ = ["CEVAE", "CFR", "DragonNet", "MODELS", "NeuralEffectEstimator", "TARNet", "load"]
