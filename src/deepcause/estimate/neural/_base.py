"""The common estimator behind TARNet, CFR, DragonNet and CEVAE.

A neural estimator here is an *ensemble* of ``n_members`` networks. With the default
``uncertainty="bootstrap"`` each member is trained on a bootstrap resample of the data drawn
within each treatment arm and early-stopped on its out-of-bag rows; the point estimate averages
the members' predictions, and the standard error of an effect is the standard deviation of the
members' effects (the bootstrap standard error), with a Student-t interval on
``n_members - 1`` degrees of freedom. With ``uncertainty=None`` every member sees all rows
(minus a random validation split of ``val_fraction``) and estimates come without a standard
error — only when you ask for it.

Subclasses define ``_build(n_features)`` (the network), ``_loss(net, batch)`` (objective and
monitored validation loss) and ``_potential_outcomes(net, x)`` (standardized mu0, mu1).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..._progress import progress
from ...exceptions import DataValidationError, NotFittedError
from ...results import EffectEstimate
from .._base import BackdoorData, BaseEffectEstimator
from ._training import (
    Batch,
    Scaler,
    TrainResult,
    resolve_device,
    seeded,
    stratified_bootstrap,
    stratified_split,
    train_network,
)

__all__ = ["NeuralEffectEstimator", "load"]

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.pt"


class NeuralEffectEstimator(BaseEffectEstimator):
    """Base class: ensemble training, standardization, effects, intervals, save/load."""

    method_name: ClassVar[str] = "neural"

    # ------------------------------------------------------------------ hooks
    def _build(self, n_features: int) -> nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError

    def _loss(self, net: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError  # pragma: no cover - abstract

    def _potential_outcomes(
        self, net: nn.Module, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_outcome(self, y: np.ndarray, name: str) -> None:
        """Subclasses restrict the outcome (e.g. binary for a Bernoulli likelihood)."""

    def _scales_outcome(self) -> bool:
        """Whether the outcome is standardized (not for a Bernoulli likelihood)."""
        return True

    def _fit_x_scaler(self, X: np.ndarray) -> Scaler:
        """Covariate standardization learned on the training rows."""
        return Scaler.fit(X)

    def _prepare(self, data: BackdoorData) -> None:
        """Subclasses may learn data-dependent settings (set attributes ending in ``_``)."""

    def _extra_config(self) -> dict[str, Any]:
        """Data-dependent settings to save next to the hyper-parameters."""
        return {}

    def _load_extra_config(self, extra: dict[str, Any]) -> None:
        """Restore what :meth:`_extra_config` saved."""

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        if self.uncertainty not in ("bootstrap", None):
            raise DataValidationError(
                f"uncertainty must be 'bootstrap' or None, got {self.uncertainty!r}"
            )
        if int(self.n_members) < 1:
            raise DataValidationError(f"n_members must be >= 1, got {self.n_members}")
        if self.uncertainty == "bootstrap" and int(self.n_members) < 2:
            raise DataValidationError(
                "uncertainty='bootstrap' needs n_members >= 2 (the interval is the spread "
                "of the members' estimates); raise n_members or pass uncertainty=None to get "
                "a point estimate without an interval."
            )
        if not 0 < float(self.val_fraction) < 1:
            raise DataValidationError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        for name in ("max_epochs", "patience"):
            if int(getattr(self, name)) < 1:
                raise DataValidationError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size is not None and int(self.batch_size) < 2:
            raise DataValidationError(f"batch_size must be >= 2 or None, got {self.batch_size}")

    # ------------------------------------------------------------------ fitting
    def _fit(self, data: BackdoorData) -> None:
        self._check_params()
        if data.X.shape[1] == 0:
            raise DataValidationError(
                f"{type(self).__name__} needs at least one covariate to learn a representation; "
                "with no covariates use a difference in means."
            )
        self._check_outcome(data.y, data.outcome)
        self.device_ = resolve_device(self.device)
        self.n_features_in_ = data.X.shape[1]
        self.x_scaler_ = self._fit_x_scaler(data.X)
        self.y_scaler_ = Scaler.fit(data.y) if self._scales_outcome() else Scaler.identity(1)
        self._prepare(data)
        x = self._tensor(self.x_scaler_.transform(data.X))
        t = self._tensor(data.t)
        y = self._tensor(self.y_scaler_.transform(data.y[:, None])[:, 0])
        seeds = _seed_sequence(self.random_state).generate_state(int(self.n_members))
        self.networks_: list[nn.Module] = []
        self.train_results_: list[TrainResult] = []
        members = progress(
            list(enumerate(seeds)),
            verbose=self.verbose,
            desc=f"{type(self).__name__} members",
        )
        for k, seed in members:
            rng = np.random.default_rng(int(seed))
            if self.uncertainty == "bootstrap":
                tr, va = stratified_bootstrap(data.t, rng)
                if min(np.sum(data.t[va] == 0), np.sum(data.t[va] == 1)) == 0:
                    _, va = stratified_split(data.t, float(self.val_fraction), rng)
            else:
                tr, va = stratified_split(data.t, float(self.val_fraction), rng)
            with seeded(int(seed), self.device_):
                net = self._build(self.n_features_in_).to(self.device_)
                generator = torch.Generator().manual_seed(int(seed))
                result = train_network(
                    net,
                    self._loss,
                    self._batch(x, t, y, tr),
                    self._batch(x, t, y, va),
                    lr=float(self.learning_rate),
                    weight_decay=float(self.weight_decay),
                    batch_size=None if self.batch_size is None else int(self.batch_size),
                    max_epochs=int(self.max_epochs),
                    patience=int(self.patience),
                    generator=generator,
                    verbose=False,
                    desc=f"{type(self).__name__} member {k}",
                )
            self.networks_.append(net)
            self.train_results_.append(result)
        self._tau_members_cache_: np.ndarray | None = None

    def _tensor(self, values: np.ndarray) -> torch.Tensor:
        array = np.ascontiguousarray(values, dtype=np.float32)
        return torch.as_tensor(array, device=self.device_)

    def _batch(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor, idx: np.ndarray) -> Batch:
        index = torch.as_tensor(idx, device=self.device_)
        return x[index], t[index], y[index]

    # ------------------------------------------------------------------ prediction
    def _check_predict_input(self, X: Any) -> np.ndarray:
        if not hasattr(self, "networks_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit() first")
        if isinstance(X, pd.DataFrame):
            names = list(self.data_.covariate_names)
            missing = [c for c in names if c not in X.columns]
            if missing:
                raise DataValidationError(
                    f"covariate(s) {missing} used in fit are not columns of X; expected {names}"
                )
            X = X[names]
        try:
            arr = np.asarray(X, dtype=float)
        except (TypeError, ValueError) as exc:
            raise DataValidationError(f"X must be numeric, got {type(X).__name__}") from exc
        if arr.ndim == 1:
            arr = arr[:, None] if self.n_features_in_ == 1 else arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.n_features_in_:
            raise DataValidationError(
                f"X must have {self.n_features_in_} columns (the covariates used in fit), got "
                f"shape {arr.shape}"
            )
        if not np.all(np.isfinite(arr)):
            bad = int((~np.isfinite(arr)).any(axis=1).sum())
            raise DataValidationError(
                f"X has missing or infinite values in {bad} row(s); drop or impute them."
            )
        return arr

    def _member_outcomes(self, X: np.ndarray) -> np.ndarray:
        """Array (n_members, 2, n) of mu0, mu1 on the outcome's own scale."""
        x = self._tensor(self.x_scaler_.transform(X))
        out = np.empty((len(self.networks_), 2, len(X)))
        seed = self.random_state if isinstance(self.random_state, (int, np.integer)) else 0
        with torch.no_grad(), seeded(int(seed) % (2**63), self.device_):
            for k, net in enumerate(self.networks_):
                mu0, mu1 = self._potential_outcomes(net, x)
                both = torch.stack([mu0, mu1]).cpu().double().numpy()
                out[k] = self.y_scaler_.inverse(both[..., None])[..., 0]
        return out

    def predict_potential_outcomes(self, X: Any) -> np.ndarray:
        """Estimated ``E[Y(0) | x]`` and ``E[Y(1) | x]``: an array of shape (n, 2)."""
        arr = self._check_predict_input(X)
        return self._member_outcomes(arr).mean(axis=0).T

    def predict_cate(self, X: Any) -> np.ndarray:
        """Estimated conditional effects ``E[Y(1) - Y(0) | x]`` for the rows of ``X``."""
        mu = self.predict_potential_outcomes(X)
        return mu[:, 1] - mu[:, 0]

    # ------------------------------------------------------------------ effects
    def _tau_members(self) -> np.ndarray:
        if getattr(self, "_tau_members_cache_", None) is None:
            mu = self._member_outcomes(self.data_.X)
            self._tau_members_cache_ = mu[:, 1] - mu[:, 0]
        return self._tau_members_cache_

    def _effect(self, quantity: str) -> EffectEstimate:
        if not hasattr(self, "networks_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit() first")
        tau = self._tau_members()
        rows = {"ATE": slice(None), "ATT": self.data_.t == 1, "ATC": self.data_.t == 0}[quantity]
        members = tau[:, rows].mean(axis=1)
        value = float(tau.mean(axis=0)[rows].mean())
        diagnostics = {
            "member_estimates": members.tolist(),
            "n_members": len(members),
            "uncertainty": self.uncertainty,
            "epochs": [r.epochs for r in self.train_results_],
            "best_epochs": [r.best_epoch for r in self.train_results_],
        }
        if self.uncertainty == "bootstrap":
            return EffectEstimate(
                value=value,
                std_error=float(np.std(members, ddof=1)),
                quantity=quantity,
                method=self.method_name,
                n=self.data_.n,
                estimand=self.data_.estimand,
                ci_method="t",
                dof=len(members) - 1,
                diagnostics=diagnostics,
            )
        return EffectEstimate(
            value=value,
            std_error=None,
            quantity=quantity,
            method=self.method_name,
            n=self.data_.n,
            estimand=self.data_.estimand,
            diagnostics=diagnostics,
        )

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | Path) -> Path:
        """Write the fitted model to the directory ``path``.

        ``config.json`` holds the class, hyper-parameters and scalers; ``weights.pt`` holds only
        tensors (every member's weights and the training data needed by ``ate()``), so
        :func:`load` reads it with ``torch.load(..., weights_only=True)``.
        """
        if not hasattr(self, "networks_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit() first")
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        data = self.data_
        config = {
            "format_version": FORMAT_VERSION,
            "class": type(self).__name__,
            "params": {k: _jsonable(v) for k, v in self.get_params(deep=False).items()},
            "n_features_in": self.n_features_in_,
            "x_scaler": self.x_scaler_.to_dict(),
            "y_scaler": self.y_scaler_.to_dict(),
            "covariate_names": list(data.covariate_names),
            "treatment": data.treatment,
            "outcome": data.outcome,
            "train_results": [r.__dict__ for r in self.train_results_],
            "extra": self._extra_config(),
        }
        tensors: dict[str, torch.Tensor] = {  # torch.tensor copies: pandas gives read-only arrays
            "data.X": torch.tensor(data.X, dtype=torch.float64),
            "data.t": torch.tensor(data.t, dtype=torch.int64),
            "data.y": torch.tensor(data.y, dtype=torch.float64),
        }
        for k, net in enumerate(self.networks_):
            for name, value in net.state_dict().items():
                tensors[f"member{k}.{name}"] = value.detach().cpu()
        (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        torch.save(tensors, folder / WEIGHTS_FILE)
        return folder

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> NeuralEffectEstimator:
        """Read a model written by :meth:`save` (no code is unpickled)."""
        model = load(path, device=device)
        if not isinstance(model, cls):
            raise DataValidationError(
                f"{path} holds a {type(model).__name__}, not a {cls.__name__}; use "
                "deepcause.estimate.neural.load to read any saved model."
            )
        return model


def _seed_sequence(random_state: Any) -> np.random.SeedSequence:
    """Seeds for the members from an int, ``None`` (fresh entropy) or a numpy Generator."""
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(2**63)))
    if random_state is not None and not isinstance(random_state, (int, np.integer)):
        raise DataValidationError(
            f"random_state must be an int, None or a numpy Generator, got {random_state!r}"
        )
    return np.random.SeedSequence(random_state)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    raise DataValidationError(
        f"cannot save hyper-parameter value {value!r} of type {type(value).__name__} as JSON"
    )


def _registry() -> dict[str, type[NeuralEffectEstimator]]:
    from . import MODELS

    return dict(MODELS)


def load(path: str | Path, device: str = "auto") -> NeuralEffectEstimator:
    """Load any neural estimator written by ``save``.

    Weights are read with ``torch.load(weights_only=True)``; the model class comes from a fixed
    table of this package's estimators, never from the file.
    """
    folder = Path(path)
    config_file, weights_file = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    if not config_file.is_file() or not weights_file.is_file():
        raise DataValidationError(
            f"{folder} is not a saved deepcause model: expected {CONFIG_FILE} and "
            f"{WEIGHTS_FILE} inside it"
        )
    config = json.loads(config_file.read_text())
    models = _registry()
    name = config.get("class")
    if name not in models:
        raise DataValidationError(
            f"{config_file} names model class {name!r}; known classes: {sorted(models)}"
        )
    if config.get("format_version") != FORMAT_VERSION:
        raise DataValidationError(
            f"{config_file} has format version {config.get('format_version')}, this deepcause "
            f"reads version {FORMAT_VERSION}"
        )
    params = dict(config["params"])
    params["device"] = device
    model = models[name](**_tuple_params(models[name], params))
    tensors = torch.load(weights_file, map_location="cpu", weights_only=True)
    model.device_ = resolve_device(device)
    model.n_features_in_ = int(config["n_features_in"])
    model.x_scaler_ = Scaler.from_dict(config["x_scaler"])
    model.y_scaler_ = Scaler.from_dict(config["y_scaler"])
    model._load_extra_config(config.get("extra", {}))
    model.data_ = BackdoorData(
        tensors["data.X"].numpy(),
        tensors["data.t"].numpy(),
        tensors["data.y"].numpy(),
        tuple(config["covariate_names"]),
        config["treatment"],
        config["outcome"],
        None,
    )
    model.train_results_ = [TrainResult(**r) for r in config["train_results"]]
    model.networks_ = []
    for k in range(len(model.train_results_)):
        prefix = f"member{k}."
        state = {n[len(prefix) :]: v for n, v in tensors.items() if n.startswith(prefix)}
        net = model._build(model.n_features_in_)
        net.load_state_dict(state)
        model.networks_.append(net.to(model.device_).eval())
    model._tau_members_cache_ = None
    return model


def _tuple_params(cls: type, params: dict[str, Any]) -> dict[str, Any]:
    """JSON turns tuples into lists; give tuple-valued defaults their type back."""
    import inspect

    defaults = {
        k: p.default for k, p in inspect.signature(cls.__init__).parameters.items() if k != "self"
    }
    out = {}
    for k, v in params.items():
        if k not in defaults:
            raise DataValidationError(f"saved hyper-parameter {k!r} is unknown to {cls.__name__}")
        out[k] = tuple(v) if isinstance(defaults[k], tuple) and isinstance(v, list) else v
    return out


def hidden_sizes(value: Sequence[int] | int, name: str) -> tuple[int, ...]:
    """Validate a layer-width specification (an int means one layer)."""
    sizes = (value,) if isinstance(value, (int, np.integer)) else tuple(value)
    if not sizes or any(int(s) < 1 for s in sizes):
        raise DataValidationError(f"{name} must be positive layer widths, got {value!r}")
    return tuple(int(s) for s in sizes)
