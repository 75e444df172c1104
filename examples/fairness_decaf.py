"""DECAF-style fair synthetic data (van Breugel et al. 2021) with a causal generative model.

The code is :mod:`deepcause.examples.fairness` (also ``deepcause demo --only fairness``).
Run ``python examples/fairness_decaf.py`` (about a minute) or add ``--quick``.
"""

from __future__ import annotations

import argparse

from deepcause.examples.fairness import main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,500 rows, 20 epochs")
    parser.add_argument("-n", type=int, default=None, help="training rows")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(quick=args.quick, n=args.n, epochs=args.epochs, seed=args.seed)
