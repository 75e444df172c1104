"""Optional dependencies: import them with a message that says which extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require_torch"]


def require_torch(feature: str) -> ModuleType:
    """The ``torch`` module, or an ``ImportError`` naming ``feature`` and the ``deep`` extra.

    >>> require_torch("this example").__name__
    'torch'
    """
    try:
        return importlib.import_module("torch")
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"{feature} needs PyTorch; install it with `pip install deepcause[deep]`"
        ) from exc
