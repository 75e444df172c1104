"""The one private torch toolbox: devices, seeding, scaling, the MLP builder and mini-batches.

Every torch-based class of deepcause (neural effect estimators, neural IV estimators,
generative mechanisms, DGBR) builds its networks, picks its device and derives its seeds
here, so that ``device="auto"``, ``random_state`` and ``hidden_sizes`` mean the same thing
everywhere. Importing this module imports torch (with a message naming the ``deep`` extra
when it is missing); modules that must not need torch import it inside the function that
trains.

>>> net = mlp(3, (8, 8), 1)
>>> net(torch.zeros(5, 3)).shape
torch.Size([5, 1])
>>> resolve_device("cpu")
device(type='cpu')
>>> seed_from(0) == seed_from(0), seed_from(0) == seed_from(1)
(True, False)
>>> bool(torch.equal(torch.rand(2, generator=torch_generator(5)),
...                  torch.rand(2, generator=torch_generator(5))))
True
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np

from ._optional import require_torch
from ._parameters import Interval
from ._progress import Verbose, progress
from .exceptions import InvalidParameterError

torch = require_torch("deepcause's neural models")
nn = torch.nn

__all__ = [
    "ACTIVATIONS",
    "RANDOM_STATE",
    "Scaler",
    "TrainResult",
    "batches",
    "check_hidden_sizes",
    "check_random_state",
    "fit_adam",
    "mlp",
    "resolve_device",
    "seed_from",
    "seeded",
    "tensor",
    "torch",
    "torch_generator",
]

#: activation names accepted by every ``activation=`` hyper-parameter
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "elu": nn.ELU,
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
}
_SEED_BOUND = 2**63 - 1
#: the declared constraint of every ``random_state``: a non-negative int, a Generator or None
RANDOM_STATE = [Interval(Integral, 0, None, closed="left"), np.random.Generator, None]


def resolve_device(device: Any = "auto") -> torch.device:
    """The torch device for ``device="auto" | "cpu" | "cuda" | "cuda:1" | torch.device``.

    ``"auto"`` picks a CUDA GPU when one is present, else the CPU; asking for CUDA on a machine
    without it is refused (instead of failing later inside training).

    >>> resolve_device(torch.device("cpu")).type
    'cpu'
    >>> resolve_device("gpu")
    Traceback (most recent call last):
    ...
    deepcause.exceptions.InvalidParameterError: device must be 'auto', 'cpu', 'cuda' ...
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidParameterError(
            f"device must be 'auto', 'cpu', 'cuda' (or 'cuda:N') or a torch.device, got {device!r}"
        ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError(
            f"device={device!r} but CUDA is not available here; use device='auto' or 'cpu'"
        )
    return resolved


def check_random_state(random_state: Any, role: str = "random_state") -> None:
    """Refuse, in one line, a ``random_state`` that is not ``None``, a non-negative integer or
    a numpy Generator (numpy would raise its own ``TypeError`` deep inside sampling).

    >>> check_random_state(np.int64(3))
    >>> check_random_state("a")
    Traceback (most recent call last):
    ...
    deepcause.exceptions.InvalidParameterError: random_state must be None, a non-negative integer or a numpy Generator, got 'a'
    """
    integer = isinstance(random_state, Integral) and not isinstance(random_state, bool)
    ok = (
        random_state is None
        or isinstance(random_state, np.random.Generator)
        or (integer and random_state >= 0)
    )
    if not ok:
        raise InvalidParameterError(
            f"{role} must be None, a non-negative integer or a numpy Generator, got "
            f"{random_state!r}"
        )


def seed_from(random_state: int | np.random.Generator | None) -> int:
    """One integer seed (below 2**63) from an int, a numpy Generator or ``None`` (fresh entropy).

    A Generator moves on by one draw, so successive calls give successive seeds; anything else
    is refused (:func:`check_random_state`).
    """
    check_random_state(random_state)
    rng = (
        random_state
        if isinstance(random_state, np.random.Generator)
        else np.random.default_rng(random_state)
    )
    return int(rng.integers(0, _SEED_BOUND))


def torch_generator(random_state: int | np.random.Generator | None, device: Any = "cpu"):
    """A ``torch.Generator`` on ``device``: an int seeds it directly, a numpy Generator or
    ``None`` through :func:`seed_from`."""
    gen = torch.Generator(device=torch.device(device))
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        return gen.manual_seed(int(random_state) % _SEED_BOUND)
    return gen.manual_seed(seed_from(random_state))


@contextlib.contextmanager
def seeded(seed: int, device: Any = "cpu") -> Iterator[None]:
    """Run a block with torch's global RNG seeded with ``seed``; the caller's state is restored.

    Weight initialisation, dropout and reparameterised sampling draw from the global
    generator; seeding it inside a forked state gives bit-for-bit reproducible CPU runs
    without side effects on the user's own random streams.

    >>> with seeded(3):
    ...     a = torch.rand(2)
    >>> with seeded(3):
    ...     b = torch.rand(2)
    >>> bool(torch.equal(a, b))
    True
    """
    device = torch.device(device)
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type=device.type):
        torch.manual_seed(int(seed) % _SEED_BOUND)
        yield


def mlp(
    n_in: int,
    hidden_sizes: Sequence[int],
    n_out: int | None = None,
    activation: str = "elu",
    dropout: float = 0.0,
) -> nn.Sequential:
    """The multilayer perceptron ``n_in -> hidden_sizes... -> n_out``.

    Each hidden layer is ``Linear`` + activation (+ ``Dropout`` when ``dropout > 0``); the
    output layer is linear. With ``n_out=None`` the last hidden layer is the output.

    >>> [type(m).__name__ for m in mlp(2, (4,), 1, activation="tanh")]
    ['Linear', 'Tanh', 'Linear']
    """
    if activation not in ACTIVATIONS:
        raise InvalidParameterError(
            f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}"
        )
    layers: list[nn.Module] = []
    width = int(n_in)
    for h in hidden_sizes:
        layers += [nn.Linear(width, int(h)), ACTIVATIONS[activation]()]
        if dropout > 0:
            layers.append(nn.Dropout(float(dropout)))
        width = int(h)
    if n_out is not None:
        layers.append(nn.Linear(width, int(n_out)))
    return nn.Sequential(*layers)


def check_hidden_sizes(owner: object, *names: str) -> None:
    """Refuse layer-width parameters that are not non-empty tuples of positive integers.

    >>> class Net:
    ...     hidden_sizes = 32
    >>> check_hidden_sizes(Net(), "hidden_sizes")
    Traceback (most recent call last):
    ...
    deepcause.exceptions.InvalidParameterError: Net: hidden_sizes must be a non-empty tuple ...
    """
    for name in names:
        value = getattr(owner, name)
        ok = isinstance(value, tuple | list) and len(value) > 0
        ok = ok and all(isinstance(s, Integral) and not isinstance(s, bool) for s in value)
        if not ok or min(value) < 1:
            raise InvalidParameterError(
                f"{type(owner).__name__}: {name} must be a non-empty tuple of positive layer "
                f"widths such as (64, 32), got {value!r}"
            )


def tensor(values: Any, dtype: Any = None, device: Any = "cpu") -> torch.Tensor:
    """A contiguous tensor copy of ``values`` (float32 unless ``dtype`` says otherwise)."""
    return torch.as_tensor(
        np.ascontiguousarray(values), dtype=dtype or torch.float32, device=torch.device(device)
    )


def batches(n: int, batch_size: int | None, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Index tensors of one shuffled pass over ``n`` rows (one full batch for ``None`` or >= n).

    >>> [len(b) for b in batches(5, 2, torch_generator(0))]
    [2, 2, 1]
    """
    if batch_size is None or batch_size >= n:
        yield torch.arange(n)
        return
    perm = torch.randperm(n, generator=generator)
    for start in range(0, n, int(batch_size)):
        yield perm[start : start + int(batch_size)]


@dataclass(frozen=True)
class Scaler:
    """Column means and scales; ``transform`` standardizes, ``inverse`` undoes it.

    >>> s = Scaler.fit(np.array([[0.0], [2.0]]))
    >>> s.transform(np.array([[2.0]])).tolist(), Scaler.from_dict(s.to_dict()) == s
    ([[1.0]], True)
    """

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

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Scaler)
            and np.array_equal(self.mean, other.mean)
            and np.array_equal(self.scale, other.scale)
        )

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class TrainResult:
    """What one training run did: epochs run, the best epoch, its validation loss, the history."""

    epochs: int
    best_epoch: int
    best_val_loss: float
    history: tuple[float, ...] = ()


def fit_adam(
    net: nn.Module,
    step_loss: Callable[[torch.Tensor], torch.Tensor],
    val_loss: Callable[[], torch.Tensor],
    n_train: int,
    *,
    learning_rate: float,
    weight_decay: float,
    batch_size: int | None,
    max_epochs: int,
    patience: int,
    generator: torch.Generator,
    verbose: Verbose = False,
    desc: str = "training",
) -> TrainResult:
    """Adam over shuffled mini-batches with early stopping; the best weights are restored.

    ``step_loss(index)`` is the objective on the training rows ``index`` (a tensor of row
    positions); ``val_loss()`` the monitored validation loss. Training stops after
    ``patience`` epochs without a relative improvement of 1e-7; a non-finite objective raises
    ``FloatingPointError`` with advice.

    >>> with seeded(0):
    ...     net = mlp(1, (), 1)
    >>> x = torch.linspace(-1, 1, 40)[:, None]
    >>> res = fit_adam(net, lambda i: ((net(x[i]) - 2 * x[i]) ** 2).mean(),
    ...                lambda: ((net(x) - 2 * x) ** 2).mean(), 40, learning_rate=0.1,
    ...                weight_decay=0.0, batch_size=None, max_epochs=300, patience=20,
    ...                generator=torch_generator(0))
    >>> res.best_val_loss < 1e-2
    True
    """
    opt = torch.optim.Adam(net.parameters(), lr=learning_rate, weight_decay=weight_decay)
    best, best_epoch, best_state, stale = math.inf, 0, copy.deepcopy(net.state_dict()), 0
    history: list[float] = []
    epoch = 0
    for epoch in progress(range(1, int(max_epochs) + 1), verbose=verbose, desc=desc):
        net.train()
        for index in batches(n_train, batch_size, generator):
            objective = step_loss(index)
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
            current = float(val_loss())
        history.append(current)
        if current < best - (1e-7 * max(1.0, abs(best)) if math.isfinite(best) else 0.0):
            best, best_epoch, stale = current, epoch, 0
            best_state = copy.deepcopy(net.state_dict())
        else:
            stale += 1
            if stale >= patience:
                break
    net.load_state_dict(best_state)
    net.eval()
    return TrainResult(epoch, best_epoch, best, tuple(history))
