"""``deepcause bounds``: bounds on a causal quantity from discrete data and a graph.

Exit codes: 0 bounds printed, 1 bad data or query (one line on stderr), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import pandas as pd

from ..exceptions import QueryError
from ..identification.bounds import bounds
from ._graph_args import add_graph_arguments, graph_from_args
from ._io import add_command, add_table_arguments, read_table

_HELP = "bounds on P(Y=y | do(X=x)), an effect, or PNS/PN/PS from discrete data"
_DESCRIPTION = "Sharp (linear-programming), natural, Balke-Pearl or Tian-Pearl bounds."
_EPILOG = """\
examples:
  deepcause bounds --data iv.csv -g "Z -> X -> Y; X <-> Y" --treatment X=1 --outcome Y=1
  deepcause bounds --data iv.csv -g "Z -> X -> Y; X <-> Y" -t X=1 -c X=0 -o Y=1 --quantity ate
  deepcause bounds --data obs.csv --experimental rct.csv -g "X -> Y; X <-> Y" -t X=1 -o Y=1 \\
      --quantity pns --json

data: a CSV of discrete samples, or a joint probability table (the variables plus a
'probability' column summing to 1).
exit codes: 0 ok, 1 bad data or query, 2 usage error.
"""


def _assignment(text: str | None, role: str) -> dict[str, Any] | None:
    """``"X=1,Z=a"`` -> ``{"X": "1", "Z": "a"}`` (values are matched to the data's levels)."""
    if text is None:
        return None
    out = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise QueryError(f"--{role} expects NAME=VALUE[,NAME=VALUE...], got {text!r}")
        out[name.strip()] = value.strip()
    return out


def _read(path: str | None, args: argparse.Namespace) -> pd.DataFrame | None:
    return None if path is None else read_table(path, sep=args.sep, encoding=args.encoding)


def _cmd(args: argparse.Namespace) -> int:
    result = bounds(
        graph_from_args(args),
        _read(args.data, args),
        treatment=_assignment(args.treatment, "treatment"),
        outcome=_assignment(args.outcome, "outcome"),
        control=_assignment(args.control, "control"),
        quantity=args.quantity,
        experimental=_read(args.experimental, args),
        method=args.method,
        monotonic=args.monotonic,
        alpha=args.alpha,
        n_boot=args.n_boot,
        random_state=args.seed,
    )
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.summary())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "bounds", _HELP, _DESCRIPTION, _EPILOG)
    p.add_argument("--data", "-d", help="CSV of samples or of a joint probability table")
    add_table_arguments(p)
    add_graph_arguments(p, required=True, example="Z -> X -> Y; X <-> Y")
    p.add_argument("--treatment", "-t", required=True, help="treatment values, e.g. X=1")
    p.add_argument("--control", "-c", help="control values for ate/pns/pn/ps, e.g. X=0")
    p.add_argument("--outcome", "-o", required=True, help="outcome event, e.g. Y=1")
    p.add_argument("--quantity", "-q", default="probability",
                   choices=["probability", "ate", "pns", "pn", "ps"])  # fmt: skip
    p.add_argument("--experimental", "-e", help="CSV of experimental samples or P(y | do(x))")
    p.add_argument("--method", "-m", choices=["lp", "natural", "balke-pearl", "tian-pearl"])
    p.add_argument("--monotonic", action="store_true", help="assume monotonicity (pns/pn/ps)")
    p.add_argument("--alpha", type=float, default=0.05, help="level of the bootstrap intervals")
    p.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples (samples only)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd)


if __name__ == "__main__":  # pragma: no cover
    from . import main

    sys.exit(main(["bounds", *sys.argv[1:]]))
