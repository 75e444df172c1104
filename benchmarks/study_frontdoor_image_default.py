"""The front door's image mediator under ``mechanisms="auto"``'s two candidates, per seed.

``make_frontdoor_image_mediator`` (``X -> M -> Y``, ``X <-> Y``, ``M`` a 3x16x16 digit image
outside the district ``{X, Y}``) fitted by ``CausalGenerativeModel`` (``latent_strategy=
"joint"``) with ``M``'s mechanism named (``image_vae``, the mixture-prior VAE, or
``image_hvae``, the hierarchical VAE) at the budget of the slow test
``tests/test_idgen.py::test_frontdoor_image_mediator_against_truth`` (2,000 units, 30 epochs,
4,000 samples per query): prints the error of ``E[Y | do(X = x)]`` for ``x = 0, 1`` against
the simulator's truth (20,000 intervened units), the conditioning baseline's error and the fit
time, for each data seed and model seed.

Usage: ``PYTHONPATH=src python benchmarks/study_frontdoor_image_default.py DATA_SEEDS
MODEL_SEEDS [N]`` with comma-separated seeds, e.g. ``0,1,2 0,1`` (results:
``benchmarks/results/bench_images_fresh.md``, run 6).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from deepcause.generative import CausalGenerativeModel
from deepcause.simulate.images import make_frontdoor_image_mediator

MECHANISMS = ("image_vae", "image_hvae")


def errors(ds, mech: str, seed: int) -> tuple[list[float], float, float]:
    """``|E[Y | do(X = x)] - truth|`` for ``x = 0, 1`` with ``M``'s mechanism ``mech``; fit
    wall and CPU seconds."""
    t0, c0 = time.perf_counter(), time.process_time()
    model = CausalGenerativeModel(
        ds.graph, mechanisms={"M": mech}, max_epochs=30, random_state=seed, verbose=False
    ).fit(ds.data)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    truth = {1: ds.truth["E[Y|do(X=1)]"], 0: ds.truth["E[Y|do(X=0)]"]}
    got = {x: float(np.mean(model.sample(4000, do={"X": x}, random_state=x)["Y"])) for x in (0, 1)}
    return [abs(got[x] - truth[x]) for x in (0, 1)], wall, cpu


def main(argv: list[str]) -> None:
    torch.set_num_threads(1)
    data_seeds = [int(s) for s in argv[0].split(",")]
    model_seeds = [int(s) for s in argv[1].split(",")]
    n = int(argv[2]) if len(argv) > 2 else 2000
    for d in data_seeds:
        ds = make_frontdoor_image_mediator(n, truth_n=20_000, random_state=d)
        cond = [
            abs(float(ds.data["Y"][ds.data["X"] == x].mean()) - ds.truth[f"E[Y|do(X={x})]"])
            for x in (0, 1)
        ]
        print(f"data seed {d}, {n} units: conditioning errors {cond[0]:.3f} {cond[1]:.3f}")
        for seed in model_seeds:
            for mech in MECHANISMS:
                errs, wall, cpu = errors(ds, mech, seed)
                print(
                    f"data {d} model {seed} {mech}: do(X=0) {errs[0]:.3f} do(X=1) {errs[1]:.3f} "
                    f"max {max(errs):.3f}; fit {wall:.0f} s wall, {cpu:.0f} CPU s",
                    flush=True,
                )


if __name__ == "__main__":
    main(sys.argv[1:])
