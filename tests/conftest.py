"""Shared pytest configuration: quiet progress bars, deterministic single-threaded torch."""

from __future__ import annotations

import os

os.environ.setdefault("DEEPCAUSE_PROGRESS", "0")

try:  # keep torch deterministic and light when several test workers share 2 cores
    import torch

    torch.set_num_threads(1)
except ImportError:  # torch is an optional extra
    pass
