"""Counterfactual images on the Morpho-style digits, against the simulator's exact truth.

The code is :mod:`deepcause.examples.counterfactual_images` (also
``deepcause demo --only counterfactual_images``). Run ``python examples/counterfactual_images.py`` (a few
minutes) or add ``--quick``; writes a PNG grid (factual, counterfactual, true counterfactual
per intervention).
"""

from __future__ import annotations

import argparse

from deepcause.examples.counterfactual_images import main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16x16, 1,200 units, 6 epochs")
    parser.add_argument("--mechanism", default="image_hvae", help="image_vae, image_hvae, ...")
    parser.add_argument("--out", default="counterfactual_images.png", help="the PNG grid")
    parser.add_argument("-n", type=int, default=None, help="training units")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    opts = {k: getattr(args, k) for k in ("mechanism", "n", "epochs", "seed")}
    main(args.quick, path=args.out, **opts)
