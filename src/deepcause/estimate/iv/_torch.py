"""Small torch helpers shared by the neural IV estimators (DeepIV, DFIV, CB-IV).

Importing this module imports torch; the neural IV modules are only imported when used (the
method registry loads them by name), so ``deepcause.estimate`` never needs torch.

>>> import numpy as np
>>> seed = derive_seed(0)
>>> seed == derive_seed(0)
True
>>> A = torch.randn(50, 3, dtype=torch.float64)
>>> W = ridge(A, A @ torch.ones(3, 1, dtype=torch.float64), 1e-8)
>>> bool(torch.allclose(W, torch.ones(3, 1, dtype=torch.float64), atol=1e-5))
True
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..._optional import require_torch

torch = require_torch("the neural IV estimators (DeepIV, DFIV, CB-IV)")

from ...exceptions import DataValidationError  # noqa: E402
from ..neural._training import Scaler, mlp, seeded  # noqa: E402

__all__ = [
    "Scaler",
    "mlp",
    "seeded",
    "derive_seed",
    "tensor",
    "ridge",
    "batches",
    "check_positive",
    "standardized_tensors",
    "CPU",
]

CPU = torch.device("cpu")


def derive_seed(random_state: int | None) -> int:
    """One integer seed from ``random_state`` (``None`` draws a fresh one)."""
    return int(np.random.default_rng(random_state).integers(2**31 - 1))


def tensor(values: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A CPU tensor copy of ``values``."""
    return torch.as_tensor(np.ascontiguousarray(values), dtype=dtype)


def ridge(A: torch.Tensor, B: torch.Tensor, lam: float) -> torch.Tensor:
    """Ridge coefficients ``(A'A + n lam I)^-1 A'B`` (differentiable in ``A`` and ``B``)."""
    n, d = A.shape
    gram = A.T @ A + n * lam * torch.eye(d, dtype=A.dtype)
    return torch.linalg.solve(gram, A.T @ B)


def batches(n: int, batch_size: int | None, gen: torch.Generator) -> Iterator[torch.Tensor]:
    """Index tensors of one shuffled pass over ``n`` rows (full batch when ``None``)."""
    if batch_size is None or batch_size >= n:
        yield torch.arange(n)
        return
    perm = torch.randperm(n, generator=gen)
    for start in range(0, n, int(batch_size)):
        yield perm[start : start + int(batch_size)]


def check_positive(**values: float) -> None:
    """Raise ``ValueError`` naming the first hyper-parameter that is not positive."""
    for name, value in values.items():
        if value is None or not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a positive number, got {value!r}")


def standardized_tensors(
    est: Any, data: Any, name: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]:
    """Standardize an IV data set for a neural estimator ``est`` (named ``name`` in errors).

    Sets ``est.t_scaler_``, ``est.x_scaler_``, ``est.y_mean_`` and ``est.y_scale_``; returns the
    standardized treatment ``T``, controls ``X``, instruments-and-controls ``ZX`` (float32
    tensors) and the standardized outcome as a numpy array.
    """
    if data.n < 20:
        raise DataValidationError(f"{name} needs at least 20 rows, got {data.n}")
    kx = data.X.shape[1]
    est.t_scaler_ = Scaler.fit(data.T)
    est.x_scaler_ = Scaler.fit(data.X) if kx else Scaler.identity(0)
    z_scaler = Scaler.fit(data.Z)
    est.y_mean_, est.y_scale_ = float(data.y.mean()), float(data.y.std() or 1.0)
    T = tensor(est.t_scaler_.transform(data.T))
    X = tensor(est.x_scaler_.transform(data.X)) if kx else torch.zeros(data.n, 0)
    ZX = torch.cat([tensor(z_scaler.transform(data.Z)), X], dim=1)
    return T, X, ZX, (data.y - est.y_mean_) / est.y_scale_
