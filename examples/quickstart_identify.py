"""From a causal graph to a number: kidney stones, front door, napkin and bow.

The code is :mod:`deepcause.examples.identification` (also ``deepcause demo --only
identification``). Run ``python examples/quickstart_identify.py`` or add ``--quick``.
"""

from __future__ import annotations

import argparse

from deepcause.examples.identification import main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3,000 samples, 30 resamples")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(quick=args.quick, seed=args.seed)
