"""Counterfactual images on the Morpho-style digits: a deep SCM against the exact truth
(needs the ``deep`` extra: PyTorch).

Fit a :class:`~deepcause.generative.CausalGenerativeModel` with an image mechanism (default the
hierarchical VAE ``image_hvae``) on observational ``digit, thickness, intensity, image`` data
from :func:`~deepcause.simulate.morpho_digits`, then ask each held-out unit "what would this
digit look like had it been thinner / thicker / fainter": ``do(thickness = 1)``,
``do(thickness = 4)`` and ``do(intensity = 0.4)``. The simulator renders every image
deterministically from the unit's own noise, so the true counterfactual image of each unit is
known; the section prints the counterfactual pixel RMSE of the model and of the fresh-noise
baseline (the same model sampling new noise under the counterfactual parents instead of
abducting the unit's; a note when those parents lie outside the training data, which makes the
baseline an extrapolation) and, given a ``path``, saves a PNG grid: for each intervention a row of
factual images, a row of model counterfactuals and a row of true counterfactuals.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .._optional import require_torch
from ..generative._support import recording_extrapolation
from ..metrics import counterfactual_pixel_error, save_image_grid
from ..simulate import morpho_digits

__all__ = ["INTERVENTIONS", "TITLE", "main"]

TITLE = "Counterfactual images: what would this digit look like had it been thicker?"

INTERVENTIONS: dict[str, dict[str, float]] = {
    "thin": {"thickness": 1.0},
    "thick": {"thickness": 4.0},
    "faint": {"intensity": 0.4},
}


def _units(n: int, n_test: int, size: int, seed: int) -> tuple[Any, dict, dict, dict]:
    """The SCM, training data, test units and the test units' noise."""
    scm = morpho_digits(size)
    noise = scm.sample_noise(n + n_test, np.random.default_rng(seed))
    data = scm.to_arrays(scm.propagate(noise))
    train = {k: v[:n] for k, v in data.items()}
    test = {k: v[n:] for k, v in data.items()}
    return scm, train, test, {k: v[n:] for k, v in noise.items()}


def main(
    quick: bool = False,
    *,
    out: TextIO = sys.stdout,
    path: str | Path | None = None,
    mechanism: str = "image_hvae",
    n: int | None = None,
    epochs: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Fit, answer the three counterfactual questions, print (and with ``path`` save a PNG
    grid); returns ``{intervention: {"model": rmse, "fresh noise": rmse, "baseline notes":
    [...]}}`` plus ``"path"`` (the notes: the baseline's extrapolation warnings, usually none).
    ``quick``: 16x16 images, 1,200 units, 6 epochs (else 28x28, 3,000 units, 20 epochs).

    Examples
    --------
    Takes about 20 s on two cores (tests/test_examples.py runs it and checks the numbers):

    >>> import io
    >>> r = main(quick=True, out=io.StringIO())  # doctest: +SKIP
    >>> r["thick"]["model"] < r["thick"]["fresh noise"]  # doctest: +SKIP
    True
    """
    torch = require_torch("the counterfactual-images example")
    from ..generative import CausalGenerativeModel  # imports torch

    n = n if n is not None else (1200 if quick else 3000)
    epochs = epochs if epochs is not None else (6 if quick else 20)
    scm, train, test, noise = _units(n, 100 if quick else 200, 16 if quick else 28, seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small networks train fastest on one thread
    try:
        model = CausalGenerativeModel(
            scm.graph,
            mechanisms={"image": mechanism},
            max_epochs=epochs,
            random_state=seed,
            verbose=False,
        ).fit(train)
        result, rows = _answer(model, scm, test, noise, seed)
    finally:
        torch.set_num_threads(threads)
    print(f"{TITLE}\n  deep SCM with {mechanism!r}, {n} units, {epochs} epochs", file=out)
    print("  counterfactual pixel RMSE (model / fresh-noise baseline):", file=out)
    for name, r in result.items():
        print(
            f"    do({_text(INTERVENTIONS[name])}): {r['model']:.3f} / {r['fresh noise']:.3f}",
            file=out,
        )
        for note in r["baseline notes"]:
            print(f"      (fresh-noise baseline: {note})", file=out)
    result["path"] = None
    if path is not None:
        result["path"] = save_image_grid(np.concatenate(rows), path, ncols=8)
        print(f"  grid (per intervention: factual, counterfactual, truth) -> {path}", file=out)
    return result


def _text(do: dict[str, float]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in do.items())


def _answer(model: Any, scm: Any, test: dict, noise: dict, seed: int) -> tuple[dict, list]:
    """Pixel RMSE of each intervention's counterfactuals and the grid rows (8 units)."""
    result: dict[str, Any] = {}
    rows = []
    for name, do in INTERVENTIONS.items():
        _, truth = scm.counterfactual(noise, do=do, as_arrays=True)
        cf = model.counterfactual(test, do=do)
        parents = {p: cf[p] for p in ("digit", "thickness", "intensity")}
        fresh, notes = _fresh_noise(model, parents, seed + 1)
        result[name] = {
            "model": counterfactual_pixel_error(cf["image"], truth["image"]),
            "fresh noise": counterfactual_pixel_error(fresh, truth["image"]),
            "baseline notes": notes,
        }
        rows += [test["image"][:8], cf["image"][:8], truth["image"][:8]]
    return result, rows


def _fresh_noise(model: Any, parents: dict, seed: int) -> tuple[np.ndarray, list[str]]:
    """The baseline's images, and the extrapolation warnings of its ``do(parents)`` as notes
    (the model's counterfactual parents of some units can lie beyond the training range)."""
    with recording_extrapolation() as notes:
        images = model.sample(len(parents["digit"]), do=parents, random_state=seed)["image"]
    return images, notes
