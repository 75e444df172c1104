"""LaLonde (1986): can observational controls recover an experimental training effect?

The code is :mod:`deepcause.examples.estimation` (also ``deepcause demo --only estimation``).
Run ``python examples/lalonde_estimation.py``; ``--quick`` uses 2-fold cross-fitting;
``--plot FILE.png`` saves overlap and balance plots (needs matplotlib).
"""

from __future__ import annotations

import argparse

from deepcause.examples.estimation import main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2-fold cross-fitting")
    parser.add_argument("--plot", default=None, help="save overlap/balance plots to this file")
    args = parser.parse_args()
    main(quick=args.quick, plot=args.plot)
