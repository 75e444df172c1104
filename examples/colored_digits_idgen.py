"""Images as nodes: P(Y | do(X = x)) on the coloured-digits napkin, saved as a PNG grid.

The code is :mod:`deepcause.examples.images` (its back-door part is ``deepcause demo --only
images``). Run ``python examples/colored_digits_idgen.py [--strategy idgen|joint]``: a few
minutes on two cores; writes ``colored_digits_napkin.png`` (generated row, then true row, per
query) and prints the attribute TV of each query against the truth and the conditioning one.
"""

from __future__ import annotations

import argparse

from deepcause.examples.images import main, napkin_grid

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", default="idgen", help="latent_strategy: idgen or joint")
    parser.add_argument("-n", type=int, default=3000, help="training units")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", default="colored_digits_napkin.png")
    parser.add_argument("--skip-backdoor", action="store_true", help="only the napkin grid")
    args = parser.parse_args()
    if not args.skip_backdoor:
        main()
    napkin_grid(args.out, n=args.n, epochs=args.epochs, latent_strategy=args.strategy)
