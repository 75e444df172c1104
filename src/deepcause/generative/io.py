"""Save and load :class:`CausalGenerativeModel` and single mechanisms without pickles.

Both use the one checked format of :mod:`deepcause._persistence`: a directory with
``config.json`` (format version, class, hyper-parameters, fitted state such as the graph
text, node encodings, mechanism shapes and the sampling random state, plus SHA-256 checksums)
and ``weights.pt`` (tensors only, read with ``torch.load(weights_only=True)``). Mechanism
classes are looked up in :data:`~deepcause.generative.mechanisms.MECHANISMS` and the district
strategy by name (:func:`~deepcause.generative.districts.district_strategy_class`), so loading
never runs stored code; an edited, truncated or swapped file raises
:class:`~deepcause.exceptions.ModelFileError`.

>>> import tempfile
>>> from deepcause.generative.mechanisms import AdditiveNoiseMechanism
>>> mech = AdditiveNoiseMechanism(dim=1, context_dim=2, hidden_sizes=(4,), noise="gaussian")
>>> folder = save_mechanism(mech, tempfile.mkdtemp() + "/mech")
>>> type(load_mechanism(folder)).__name__
'AdditiveNoiseMechanism'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._persistence import read_bundle, restoring, save_bundle
from .._torch import resolve_device
from ..exceptions import ModelFileError
from ..graph.causal_graph import as_graph
from ._encoding import NodeSpec
from ._image_support import ImageSupport
from ._support import JointSupport
from .districts import district_strategy_class
from .mechanisms import MECHANISMS, Mechanism, mechanism_from_config

# the model class, passed in by deepcause.generative.model (which imports this module)
CausalGenerativeModel = Any

__all__ = ["save_model", "read_model", "save_mechanism", "load_mechanism"]


def _model_params(model: CausalGenerativeModel) -> dict[str, Any]:
    if isinstance(model.mechanisms, str):
        mechanisms: Any = model.mechanisms
    else:
        mechanisms = {
            k: (v if isinstance(v, str) else v.get_config()) for k, v in model.mechanisms.items()
        }
    return {
        "graph": str(model.graph_),
        "mechanisms": mechanisms,
        "node_columns": model.node_columns,
        "max_epochs": model.max_epochs,
        "latent_strategy": model.latent_strategy,
        "device": str(model.device),
        "random_state": model.random_state if isinstance(model.random_state, int) else None,
        "verbose": model.verbose,
    }


def save_model(model: CausalGenerativeModel, path: str | Path) -> Path:
    """Write ``model`` to the directory ``path`` (created if needed); returns the path.

    One format for every saved model: a JSON config with a format version and SHA-256
    checksums of itself and of the weights (``torch.load(weights_only=True)``), so loading
    never executes code and a corrupt or edited file raises ``ModelFileError``.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np, pandas as pd
    >>> from deepcause.generative import CausalGenerativeModel
    >>> x = np.random.default_rng(0).normal(size=200)
    >>> df = pd.DataFrame({"X": x, "Y": 2 * x + np.random.default_rng(1).normal(size=200)})
    >>> m = CausalGenerativeModel("X -> Y", max_epochs=2, random_state=0, verbose=False).fit(df)
    >>> path = save_model(m, tempfile.mkdtemp() + "/xy")
    >>> back = read_model(CausalGenerativeModel, path)
    >>> bool((back.sample(5, random_state=0) == m.sample(5, random_state=0)).all().all())
    True
    """
    model._check_fitted()
    state = {
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
        "mapping_input": bool(getattr(model, "mapping_input_", False)),
        "columns": getattr(model, "columns_", None),
        "joint_support": {},
        "image_support": {},
        "mechanism_choice": getattr(model, "mechanism_choice_", {}),
    }
    tensors: dict[str, Any] = {}
    for v, m in model.mechanisms_.items():
        tensors.update({f"mechanisms.{v}.{k}": t for k, t in m.state_dict().items()})
        if getattr(m, "joint_support_", None) is not None:  # counterfactuals' support check
            arrays, state["joint_support"][v] = m.joint_support_.to_state()
            tensors.update({f"joint_support.{v}.{k}": t for k, t in arrays.items()})
    for v, sup in getattr(model, "image_support_", {}).items():  # do() images' support check
        arrays, state["image_support"][v] = sup.to_state()
        tensors.update({f"image_support.{v}.{k}": t for k, t in arrays.items()})
    for i, s in enumerate(model.districts_):
        tensors.update({f"districts.{i}.{k}": t for k, t in s.state_dict().items()})
    return save_bundle(path, type(model).__name__, _model_params(model), state, tensors)


def read_model(model_class: type, path: str | Path, device: str = "auto") -> CausalGenerativeModel:
    """Read a ``model_class`` model written by :func:`save_model` (checksums verified, no code
    executed; :func:`save_model` shows a round trip).

    Examples
    --------
    >>> read_model(object, "/no/such/model")
    Traceback (most recent call last):
    ...
    deepcause.exceptions.ModelFileError: ...
    """
    bundle = read_bundle(path, known=[model_class.__name__])
    with restoring(bundle):
        params, state = dict(bundle.params), bundle.state
        if isinstance(params["mechanisms"], dict):
            params["mechanisms"] = {
                k: (v if isinstance(v, str) else mechanism_from_config({**v, "dim": None}))
                for k, v in params["mechanisms"].items()
            }
        model = model_class(**{**params, "device": device})
        model._validate_params()
        model.graph_ = as_graph(model.graph)
        model.order_ = tuple(state["order"])
        model.device_ = resolve_device(device)
        model.parents_ = {v: list(p) for v, p in state["parents"].items()}
        model.specs_ = {v: NodeSpec(**s) for v, s in state["specs"].items()}
        model.mapping_input_ = bool(state.get("mapping_input", False))
        model.mechanism_choice_ = dict(state.get("mechanism_choice", {}))  # {} in older saves
        model.columns_ = state.get("columns")  # None in older saves: topological order
        model.mechanisms_ = {}
        for v, config in state["mechanisms"].items():
            mech = mechanism_from_config(config)
            mech.load_state_dict(bundle.prefixed(f"mechanisms.{v}."))
            counts = state.get("joint_support", {}).get(v)  # absent in older saves
            mech.joint_support_ = (
                None
                if counts is None
                else JointSupport.from_state(bundle.prefixed(f"joint_support.{v}."), counts)
            )
            model.mechanisms_[v] = mech.to(model.device_).eval()
        model.image_support_ = {
            v: ImageSupport.from_state(bundle.prefixed(f"image_support.{v}."), counts)
            for v, counts in state.get("image_support", {}).items()  # absent in older saves
        }
        model.districts_ = []
        for i, d in enumerate(state["districts"]):
            cls = district_strategy_class(d["strategy"])
            if cls is None:
                raise ValueError(f"unknown district strategy {d['strategy']!r}")
            strategy = cls(model, d["district"], **{**cls.legacy_config, **d["config"]})
            strategy.load_state_dict(bundle.prefixed(f"districts.{i}."))
            model.districts_.append(strategy.to(model.device_))
        rng = np.random.default_rng()
        rng.bit_generator.state = state["rng_state"]
        model._rng_ = rng
    return model


def save_mechanism(mech: Mechanism, path: str | Path) -> Path:
    """Save one built mechanism to the directory ``path``; returns the path.

    Examples
    --------
    >>> import tempfile, torch
    >>> from deepcause.generative.mechanisms import AdditiveNoiseMechanism
    >>> mech = AdditiveNoiseMechanism(max_epochs=1)
    >>> _ = mech.build(1, 1)
    >>> path = save_mechanism(mech, tempfile.mkdtemp() + "/mech")
    >>> type(load_mechanism(path)).__name__
    'AdditiveNoiseMechanism'
    """
    return save_bundle(path, type(mech).__name__, mech.get_config(), {}, mech.state_dict())


def load_mechanism(path: str | Path) -> Mechanism:
    """Load a mechanism written by :func:`save_mechanism` (checksums verified; see
    :func:`save_mechanism` for a round trip).

    Examples
    --------
    >>> load_mechanism("/no/such/mechanism")
    Traceback (most recent call last):
    ...
    deepcause.exceptions.ModelFileError: ...
    """
    bundle = read_bundle(path, known=[cls.__name__ for cls in MECHANISMS.values()])
    with restoring(bundle):
        mech = mechanism_from_config(bundle.params)
        if type(mech).__name__ != bundle.class_name:
            raise ModelFileError(
                f"{bundle.path}: holds a {bundle.class_name} but its config describes a "
                f"{type(mech).__name__}"
            )
        mech.load_state_dict(bundle.tensors)
    return mech.eval()
