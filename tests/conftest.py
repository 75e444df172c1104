"""Shared pytest configuration: quiet progress bars, deterministic single-threaded torch."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("DEEPCAUSE_PROGRESS", "0")

try:  # keep torch deterministic and light when several test workers share 2 cores
    import torch

    torch.set_num_threads(1)
except ImportError:  # torch is an optional extra
    pass


@pytest.fixture
def run_demo(monkeypatch, capsys):  # noqa: ANN001, ANN201
    """``run_demo(name)`` runs ``deepcause demo --only NAME --quick`` and returns what the
    section's ``main`` returned (the numbers the tests check)."""
    from deepcause.cli import main
    from deepcause.examples import SECTIONS

    def run(name: str):  # noqa: ANN202
        module, seen = SECTIONS[name], {}
        real = module.main
        monkeypatch.setattr(module, "main", lambda **kw: seen.setdefault("res", real(**kw)))
        assert main(["demo", "--only", name, "--quick"]) == 0
        assert f"[{name}]" in capsys.readouterr().out
        return seen["res"]

    return run
