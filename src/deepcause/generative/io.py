"""Save and load :class:`CausalGenerativeModel` without pickles.

A saved model is a directory with ``config.json`` (graph text, hyper-parameters, node
encodings, mechanism types and shapes, the sampling random state) and ``weights.pt`` (one
``state_dict`` of tensors, read back with ``torch.load(..., weights_only=True)``). Mechanism
classes are looked up in :data:`~deepcause.generative.mechanisms.MECHANISMS` and the district
strategy by name (:func:`~deepcause.generative.districts.district_strategy_class`), so loading
never runs stored code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..exceptions import DataValidationError
from ..graph.causal_graph import as_graph
from ._encoding import NodeSpec
from ._training import resolve_device
from .districts import district_strategy_class
from .mechanisms import Mechanism, mechanism_from_config

# the model class, passed in by deepcause.generative.model (which imports this module)
CausalGenerativeModel = Any

__all__ = ["save_model", "read_model", "save_mechanism", "load_mechanism"]

FORMAT_VERSION = 1


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise DataValidationError(f"cannot save {value!r} ({type(value).__name__}) in a JSON config")


def save_model(model: CausalGenerativeModel, path: str | Path) -> None:
    """Write ``model`` to the directory ``path`` (created if needed)."""
    model._check_fitted()
    if not isinstance(model.mechanisms, str):
        mech_param: Any = {
            k: (v if isinstance(v, str) else v.get_config()) for k, v in model.mechanisms.items()
        }
    else:
        mech_param = model.mechanisms
    config = {
        "format": FORMAT_VERSION,
        "params": {
            "graph": str(model.graph_),
            "mechanisms": mech_param,
            "node_columns": model.node_columns,
            "max_epochs": model.max_epochs,
            "latent_strategy": model.latent_strategy,
            "device": model.device if isinstance(model.device, str) else str(model.device),
            "random_state": model.random_state
            if isinstance(model.random_state, int | None)
            else None,
            "verbose": model.verbose,
        },
        "order": list(model.order_),
        "parents": model.parents_,
        "specs": {v: s.to_dict() for v, s in model.specs_.items()},
        "mechanisms": {v: m.get_config() for v, m in model.mechanisms_.items()},
        "districts": [
            {
                "strategy": model.latent_strategy,
                "district": list(s.district),
                "config": s.get_config(),
            }
            for s in model.districts_
        ],
        "rng_state": model._rng_.bit_generator.state,
    }
    weights: dict[str, torch.Tensor] = {}
    for v, m in model.mechanisms_.items():
        weights.update({f"mechanisms.{v}.{k}": t.detach().cpu() for k, t in m.state_dict().items()})
    for i, s in enumerate(model.districts_):
        weights.update({f"districts.{i}.{k}": t.detach().cpu() for k, t in s.state_dict().items()})
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(_jsonable(config), indent=1))
    torch.save(weights, out / "weights.pt")


def _prefixed(weights: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: t for k, t in weights.items() if k.startswith(prefix)}


def read_model(model_class: type, path: str | Path, device: str = "auto") -> CausalGenerativeModel:
    """Read a ``model_class`` model written by :func:`save_model`."""
    src = Path(path)
    if not (src / "config.json").is_file() or not (src / "weights.pt").is_file():
        raise DataValidationError(
            f"{str(src)!r} is not a saved CausalGenerativeModel (expected config.json and weights.pt)"
        )
    config = json.loads((src / "config.json").read_text())
    if config.get("format") != FORMAT_VERSION:
        raise DataValidationError(f"unsupported model format {config.get('format')!r}")
    weights = torch.load(src / "weights.pt", map_location="cpu", weights_only=True)
    params = dict(config["params"])
    mech_param = params["mechanisms"]
    if isinstance(mech_param, dict):
        params["mechanisms"] = {
            k: (v if isinstance(v, str) else mechanism_from_config({**v, "dim": None}))
            for k, v in mech_param.items()
        }
    params["device"] = device
    model = model_class(**params)
    model.graph_ = as_graph(model.graph)
    model.order_ = tuple(config["order"])
    model.device_ = resolve_device(device)
    model.parents_ = {v: list(p) for v, p in config["parents"].items()}
    model.specs_ = {v: NodeSpec(**s) for v, s in config["specs"].items()}
    model.mechanisms_ = {}
    for v, mc in config["mechanisms"].items():
        mech = mechanism_from_config(mc)
        mech.load_state_dict(_prefixed(weights, f"mechanisms.{v}."))
        model.mechanisms_[v] = mech.to(model.device_).eval()
    model.districts_ = []
    for i, d in enumerate(config["districts"]):
        cls = district_strategy_class(d["strategy"])
        if cls is None:
            raise DataValidationError(f"unknown district strategy {d['strategy']!r} in {src}")
        strategy = cls(model, d["district"], **d["config"])
        strategy.load_state_dict(_prefixed(weights, f"districts.{i}."))
        model.districts_.append(strategy.to(model.device_))
    rng = np.random.default_rng()
    rng.bit_generator.state = config["rng_state"]
    model._rng_ = rng
    return model


def save_mechanism(mech: Mechanism, path: str | Path) -> None:
    """Save one built mechanism (``config.json`` + ``weights.pt`` in the directory ``path``)."""
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(_jsonable(mech.get_config()), indent=1))
    torch.save({k: t.detach().cpu() for k, t in mech.state_dict().items()}, out / "weights.pt")


def load_mechanism(path: str | Path) -> Mechanism:
    """Load a mechanism written by :func:`save_mechanism`."""
    src = Path(path)
    mech = mechanism_from_config(json.loads((src / "config.json").read_text()))
    mech.load_state_dict(torch.load(src / "weights.pt", map_location="cpu", weights_only=True))
    return mech.eval()
