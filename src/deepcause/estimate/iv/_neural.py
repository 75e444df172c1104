"""Save and load of the neural IV estimators (DeepIV, DFIV, CB-IV) in the one checked format.

:class:`NeuralIVEstimator` is their shared base: ``save(path)`` writes the directory format of
:mod:`deepcause._persistence` (``config.json`` with the hyper-parameters, scalers, column names
and SHA-256 checksums; ``weights.pt`` with the networks' weights, the fitted arrays and the
training data ``effect()`` averages over, tensors only, read with ``weights_only=True``) and
returns the path; ``load(path)`` rebuilds the estimator without running stored code, and a
missing, edited or swapped file raises :class:`~deepcause.exceptions.ModelFileError`.

A subclass declares what it fitted: ``_networks`` (attributes holding ``torch.nn.Module`` s or
None), ``_fitted_arrays`` (numpy arrays) and ``_fitted_values`` (numbers, lists and tuples),
and builds untrained networks of the fitted shapes in ``_build_networks(kt, kx, kz)``.

>>> import tempfile
>>> from deepcause.estimate.iv.dfiv import DFIV
>>> from deepcause.simulate.iv import make_linear_iv
>>> ds = make_linear_iv(300, n_controls=1, random_state=0)
>>> est = DFIV(max_epochs=3, random_state=0, verbose=False).fit(
...     ds.data, treatment="d", outcome="y", instruments=["z1", "z2"], covariates=["x1"])
>>> back = DFIV.load(est.save(tempfile.mkdtemp() + "/dfiv"))
>>> back.effect(treatment=1, control=0).value == est.effect(treatment=1, control=0).value
True
"""

from __future__ import annotations

from numbers import Integral
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..._parameters import check_is_fitted
from ..._persistence import Bundle, init_params, jsonable, read_bundle, restoring, save_bundle
from ..._torch import Scaler, resolve_device, torch
from ...exceptions import DataValidationError
from ...graph.causal_graph import CausalGraph
from ._base import BaseIVEstimator, IVData

__all__ = ["NeuralIVEstimator"]

_DATA_ARRAYS = ("Z", "T", "y", "X")


class NeuralIVEstimator(BaseIVEstimator):
    """Base class of the neural IV estimators: :meth:`save` and :meth:`load` (module docs).

    Examples
    --------
    >>> from deepcause.estimate.iv.deepiv import DeepIV
    >>> issubclass(DeepIV, NeuralIVEstimator), DeepIV._networks
    (True, ('treatment_net_', 'response_net_'))
    """

    #: attributes holding the fitted networks (``torch.nn.Module`` or None)
    _networks: ClassVar[tuple[str, ...]] = ()
    #: fitted numpy arrays, saved as tensors
    _fitted_arrays: ClassVar[tuple[str, ...]] = ()
    #: fitted numbers, lists and tuples, saved in the JSON config
    _fitted_values: ClassVar[tuple[str, ...]] = ()

    def _build_networks(self, kt: int, kx: int, kz: int) -> None:  # pragma: no cover
        """Set the attributes of ``_networks`` to untrained networks of the fitted shapes."""
        raise NotImplementedError

    # ------------------------------------------------------------------ save
    def _saved_params(self) -> dict[str, Any]:
        params = self.get_params(deep=False)
        if not isinstance(params["random_state"], Integral | None):
            params["random_state"] = None  # a Generator's state is not part of the model
        params["device"] = str(params["device"])
        for name, value in params.items():
            try:
                jsonable(value)
            except DataValidationError:
                raise DataValidationError(
                    f"{type(self).__name__}.save cannot store {name}={value!r}: a saved model "
                    "holds numbers, strings and lists only (never code or pickles); fit with "
                    f"{name}=None (the default) to save the model"
                ) from None
        return params

    def save(self, path: str | Path) -> Path:
        """Write the fitted estimator to the directory ``path`` and return the path.

        Examples
        --------
        >>> import tempfile
        >>> from deepcause.estimate.iv.cbiv import CBIV
        >>> from deepcause.simulate.iv import make_linear_iv
        >>> ds = make_linear_iv(300, n_controls=1, random_state=0)
        >>> est = CBIV(cv=2, max_epochs=2, random_state=0, verbose=False).fit(
        ...     ds.data, treatment="d", outcome="y", instruments=["z1", "z2"], covariates=["x1"])
        >>> sorted(p.name for p in est.save(tempfile.mkdtemp() + "/cbiv").iterdir())
        ['config.json', 'weights.pt']
        """
        check_is_fitted(self, self._networks[0])
        data = self.data_
        values = {name: getattr(self, name) for name in self._fitted_values}
        state = {
            "data": {
                "instrument_names": list(data.instrument_names),
                "treatment_names": list(data.treatment_names),
                "covariate_names": list(data.covariate_names),
                "outcome": data.outcome,
                "graph": None if data.graph is None else str(data.graph),
            },
            "t_scaler": self.t_scaler_.to_dict(),
            "x_scaler": self.x_scaler_.to_dict(),
            "y_mean": self.y_mean_,
            "y_scale": self.y_scale_,
            "fitted_from_arrays": bool(self.fitted_from_arrays_),
            "values": values,
            "tuples": [name for name, v in values.items() if isinstance(v, tuple)],
        }
        tensors = {f"data.{k}": torch.from_numpy(getattr(data, k).copy()) for k in _DATA_ARRAYS}
        for name in self._fitted_arrays:
            tensors[f"array.{name}"] = torch.from_numpy(np.array(getattr(self, name)))
        for name in self._networks:
            net = getattr(self, name)
            if net is not None:
                tensors.update({f"{name}.{k}": v for k, v in net.state_dict().items()})
        return save_bundle(path, type(self).__name__, self._saved_params(), state, tensors)

    # ------------------------------------------------------------------ load
    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> NeuralIVEstimator:
        """Read an estimator written by :meth:`save` (checksums verified, no code unpickled).

        Examples
        --------
        >>> from deepcause.estimate.iv.deepiv import DeepIV
        >>> DeepIV.load("/no/such/model")
        Traceback (most recent call last):
        ...
        deepcause.exceptions.ModelFileError: ...
        """
        bundle = read_bundle(path, known=[cls.__name__])
        with restoring(bundle):
            model = cls(**init_params(cls, {**bundle.params, "device": device}))
            model._validate_params()
            model._restore(bundle)
        return model

    def _restore(self, bundle: Bundle) -> None:
        state, tensors = bundle.state, bundle.tensors
        names = state["data"]
        graph = None if names["graph"] is None else CausalGraph(names["graph"])
        arrays = {k: tensors[f"data.{k}"].numpy() for k in _DATA_ARRAYS}
        self.data_ = IVData(
            **arrays,
            instrument_names=tuple(names["instrument_names"]),
            treatment_names=tuple(names["treatment_names"]),
            covariate_names=tuple(names["covariate_names"]),
            outcome=names["outcome"],
            graph=graph,
        )
        self.fitted_from_arrays_ = bool(state["fitted_from_arrays"])
        self.device_ = resolve_device(self.device)
        self.t_scaler_ = Scaler.from_dict(state["t_scaler"])
        self.x_scaler_ = Scaler.from_dict(state["x_scaler"])
        self.y_mean_, self.y_scale_ = float(state["y_mean"]), float(state["y_scale"])
        for name, value in state["values"].items():
            setattr(self, name, tuple(value) if name in state["tuples"] else value)
        for name in self._fitted_arrays:
            setattr(self, name, tensors[f"array.{name}"].numpy())
        d = self.data_
        self._build_networks(d.T.shape[1], d.X.shape[1], d.Z.shape[1])
        for name in self._networks:
            net = getattr(self, name)
            if net is not None:
                net.load_state_dict(bundle.prefixed(f"{name}."))
                net.to(self.device_).eval()
