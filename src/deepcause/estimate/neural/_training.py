"""Shared machinery of the neural estimators: devices, seeding, scaling, networks, training.

Everything here is private; the estimators in this package use it so that each model file only
says what its network is and what it minimises.

>>> import torch
>>> net = mlp(3, [8, 8], 1)
>>> net(torch.zeros(5, 3)).shape
torch.Size([5, 1])
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..._progress import Verbose, progress
from ...exceptions import DataValidationError

__all__ = [
    "resolve_device",
    "seeded",
    "Scaler",
    "mlp",
    "TrainResult",
    "train_network",
    "stratified_bootstrap",
    "stratified_split",
]

ACTIVATIONS: dict[str, type[nn.Module]] = {"elu": nn.ELU, "relu": nn.ReLU, "tanh": nn.Tanh}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks a CUDA GPU when one is present, else the CPU.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise DataValidationError(
            f"device must be 'auto', 'cpu', 'cuda' or a torch.device, got {device!r}"
        ) from exc


@contextlib.contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Run a block with torch's global RNG seeded, restoring the caller's RNG state after.

    Weight initialisation, dropout and reparameterised sampling all draw from the global
    generator, so seeding it inside a forked state gives bit-for-bit reproducible CPU runs
    without side effects on the user's own random streams.
    """
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type=device.type):
        torch.manual_seed(int(seed))
        yield


@dataclass(frozen=True)
class Scaler:
    """Column means and scales; ``transform`` standardizes, ``inverse`` undoes it."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> Scaler:
        values = np.asarray(values, dtype=float)
        mean = values.mean(axis=0)
        scale = values.std(axis=0)
        scale = np.where(scale > 1e-12, scale, 1.0)
        return cls(np.atleast_1d(mean), np.atleast_1d(scale))

    @classmethod
    def identity(cls, width: int) -> Scaler:
        return cls(np.zeros(width), np.ones(width))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (np.asarray(values, dtype=float) - self.mean) / self.scale

    def inverse(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=float) * self.scale + self.mean

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, list[float]]) -> Scaler:
        return cls(np.asarray(d["mean"], dtype=float), np.asarray(d["scale"], dtype=float))


def mlp(
    n_in: int,
    hidden: Sequence[int],
    n_out: int | None = None,
    activation: str = "elu",
    dropout: float = 0.0,
) -> nn.Sequential:
    """A multilayer perceptron; with ``n_out=None`` the last hidden layer is the output."""
    if activation not in ACTIVATIONS:
        raise DataValidationError(
            f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}"
        )
    layers: list[nn.Module] = []
    width = n_in
    for h in hidden:
        layers += [nn.Linear(width, int(h)), ACTIVATIONS[activation]()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = int(h)
    if n_out is not None:
        layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


def stratified_split(
    t: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Random (train, validation) indices with ``fraction`` of each arm held out (>= 1 each)."""
    train, val = [], []
    for arm in (0, 1):
        idx = rng.permutation(np.flatnonzero(t == arm))
        k = min(max(1, int(round(fraction * idx.size))), idx.size - 1)
        val.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def stratified_bootstrap(t: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(resample, out-of-bag) indices of a bootstrap resample drawn within each arm."""
    boot, oob = [], []
    for arm in (0, 1):
        idx = np.flatnonzero(t == arm)
        draw = rng.choice(idx, idx.size, replace=True)
        boot.append(draw)
        oob.append(np.setdiff1d(idx, draw))
    return np.sort(np.concatenate(boot)), np.sort(np.concatenate(oob))


@dataclass(frozen=True)
class TrainResult:
    """What one training run did: epochs run, the best epoch and its validation loss."""

    epochs: int
    best_epoch: int
    best_val_loss: float


Batch = tuple[torch.Tensor, ...]
LossFn = Callable[[nn.Module, Batch], tuple[torch.Tensor, torch.Tensor]]


def train_network(
    net: nn.Module,
    loss_fn: LossFn,
    train: Batch,
    val: Batch,
    *,
    lr: float,
    weight_decay: float,
    batch_size: int | None,
    max_epochs: int,
    patience: int,
    generator: torch.Generator,
    verbose: Verbose = False,
    desc: str = "training",
) -> TrainResult:
    """Adam with early stopping on the validation loss; restores the best weights.

    ``loss_fn(net, batch)`` returns ``(objective, monitored)``: the objective is minimised on
    training batches, the monitored value (evaluated on the whole validation set) decides early
    stopping. ``batch_size=None`` trains full-batch. Batches are shuffled with ``generator``.
    """
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    n = train[0].shape[0]
    size = n if batch_size is None or batch_size >= n else int(batch_size)
    best, best_epoch, best_state, stale = math.inf, 0, copy.deepcopy(net.state_dict()), 0
    epoch = 0
    for epoch in progress(range(1, max_epochs + 1), verbose=verbose, desc=desc):
        net.train()
        order = torch.randperm(n, generator=generator).to(train[0].device) if size < n else None
        for start in range(0, n, size):
            batch = train if order is None else tuple(a[order[start : start + size]] for a in train)
            objective, _ = loss_fn(net, batch)
            if not torch.isfinite(objective):
                raise FloatingPointError(
                    f"{desc}: the training loss became {objective.item()} at epoch {epoch}; "
                    "lower the learning rate or check the inputs for extreme values."
                )
            opt.zero_grad(set_to_none=True)
            objective.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            _, monitored = loss_fn(net, val)
        current = float(monitored)
        if current < best - (1e-7 * max(1.0, abs(best)) if math.isfinite(best) else 0.0):
            best, best_epoch, stale = current, epoch, 0
            best_state = copy.deepcopy(net.state_dict())
        else:
            stale += 1
            if stale >= patience:
                break
    net.load_state_dict(best_state)
    net.eval()
    return TrainResult(epochs=epoch, best_epoch=best_epoch, best_val_loss=best)
