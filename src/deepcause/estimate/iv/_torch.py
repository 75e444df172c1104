"""Torch helpers of the neural IV estimators (DeepIV, DFIV, CB-IV) beyond :mod:`deepcause._torch`.

Importing this module imports torch; the neural IV modules are only imported when used (the
method registry loads them by name), so ``deepcause.estimate`` never needs torch.

>>> A = torch.randn(50, 3, dtype=torch.float64)
>>> W = ridge(A, A @ torch.ones(3, 1, dtype=torch.float64), 1e-8)
>>> bool(torch.allclose(W, torch.ones(3, 1, dtype=torch.float64), atol=1e-5))
True
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np

from ..._parameters import Interval, StrOptions
from ..._torch import ACTIVATIONS, RANDOM_STATE, Scaler, resolve_device, tensor, torch
from ...exceptions import DataValidationError

__all__ = [
    "IV_CONSTRAINTS",
    "ridge",
    "scaled_inputs",
    "standardized_tensors",
]

_POSITIVE = [Interval(Real, 0, None, closed="neither")]
_POSITIVE_INT = [Interval(Integral, 1, None, closed="left")]

#: constraints of the hyper-parameters the neural IV estimators share
IV_CONSTRAINTS: dict[str, list[Any]] = {
    "max_epochs": _POSITIVE_INT,
    "batch_size": [Interval(Integral, 2, None, closed="left")],
    "learning_rate": _POSITIVE,
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "random_state": RANDOM_STATE,
    "device": [str, torch.device],
    "verbose": ["boolean", StrOptions({"auto"})],
}


def ridge(A: torch.Tensor, B: torch.Tensor, lam: float) -> torch.Tensor:
    """Ridge coefficients ``(A'A + n lam I)^-1 A'B`` (differentiable in ``A`` and ``B``)."""
    n, d = A.shape
    gram = A.T @ A + n * lam * torch.eye(d, dtype=A.dtype, device=A.device)
    return torch.linalg.solve(gram, A.T @ B)


def standardized_tensors(
    est: Any, data: Any, name: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]:
    """Standardize an IV data set for a neural estimator ``est`` (named ``name`` in errors).

    Sets ``est.device_`` (from ``est.device``), ``est.t_scaler_``, ``est.x_scaler_``,
    ``est.y_mean_`` and ``est.y_scale_``; returns the standardized treatment ``T``, controls
    ``X``, instruments-and-controls ``ZX`` (float32 tensors on the device) and the standardized
    outcome as a numpy array.
    """
    if data.n < 20:
        raise DataValidationError(f"{name} needs at least 20 rows, got {data.n}")
    est.device_ = resolve_device(est.device)
    kx = data.X.shape[1]
    est.t_scaler_ = Scaler.fit(data.T)
    est.x_scaler_ = Scaler.fit(data.X) if kx else Scaler.identity(0)
    z_scaler = Scaler.fit(data.Z)
    est.y_mean_, est.y_scale_ = float(data.y.mean()), float(data.y.std() or 1.0)
    T, X = scaled_inputs(est, data.T, data.X)
    ZX = torch.cat([tensor(z_scaler.transform(data.Z), device=est.device_), X], dim=1)
    return T, X, ZX, (data.y - est.y_mean_) / est.y_scale_


def scaled_inputs(est: Any, T: np.ndarray, X: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Treatments and controls standardized with ``est``'s fitted scalers, on ``est.device_``."""
    Tt = tensor(est.t_scaler_.transform(T), device=est.device_)
    if X.shape[1] == 0:
        return Tt, torch.zeros(len(T), 0, device=est.device_)
    return Tt, tensor(est.x_scaler_.transform(X), device=est.device_)
