"""Deep causal generative models: neural mechanisms per node, sampling under interventions,
counterfactuals by abduction-action-prediction, and save/load.

>>> from deepcause.generative import CausalGenerativeModel, FlowMechanism
"""

from __future__ import annotations

from .causal_vae import CausalVAE
from .districts import DistrictStrategy, JointDistrictStrategy, LatentConfoundingError
from .idgen import IDGenSampler
from .io import load_mechanism, save_mechanism, save_model
from .mechanisms import (
    MECHANISMS,
    AdditiveNoiseMechanism,
    CategoricalMechanism,
    DiffusionMechanism,
    FlowMechanism,
    LocationScaleMechanism,
    LogMechanism,
    Mechanism,
    NotInvertibleError,
)
from .model import CausalGenerativeModel, load_model

__all__ = [
    "MECHANISMS",
    "AdditiveNoiseMechanism",
    "CategoricalMechanism",
    "CausalGenerativeModel",
    "CausalVAE",
    "DiffusionMechanism",
    "DistrictStrategy",
    "FlowMechanism",
    "IDGenSampler",
    "JointDistrictStrategy",
    "LatentConfoundingError",
    "LocationScaleMechanism",
    "LogMechanism",
    "Mechanism",
    "NotInvertibleError",
    "load_mechanism",
    "load_model",
    "save_mechanism",
    "save_model",
]
