"""``deepcause sample``: fit a causal generative model on a CSV and write samples under do().

Exit codes: 0 success, 1 bad input (unknown node, malformed graph, do-value, data or output
path), 2 usage, 3 the interventional query is not identifiable from the graph.
The output path is checked before training: an existing file is overwritten only with
``--force``, and never when it is one of the inputs.
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from ..exceptions import DataValidationError
from ._graph_args import add_graph_arguments, graph_from_args
from ._io import (
    add_command,
    add_table_arguments,
    check_output,
    non_negative_int,
    positive_int,
    read_table,
)

_HELP = "fit a causal generative model and sample under interventions"
_DESCRIPTION = "Fit a causal generative model on a CSV file and write samples under do()."
_EPILOG = """\
examples:
  deepcause sample --data data.csv --graph "Z -> X -> Y; Z -> Y" --do "X=1" -n 1000 --out s.csv
  deepcause sample --data data.csv --graph "X -> Y" --do "X+=0.5" --mechanism flow --seed 0
  deepcause sample --data data.csv --graph "T -> Y" --do "T=treated" --out -      # to stdout

--do takes NODE=VALUE (hard intervention; numbers or level names), NODE+=DELTA (shift of the
natural value), several separated by commas or by repeating --do; without --do the
observational distribution is sampled.
"""

_MECHANISMS = ("auto", "additive", "flow", "diffusion")


def parse_do(items: list[str] | None) -> dict[str, object]:
    """``["X=1", "Z+=0.5,W=a"]`` -> ``{"X": 1, "Z": <shift>, "W": "a"}``.

    >>> sorted(parse_do(["X=1,Y=a"]).items())
    [('X', 1), ('Y', 'a')]
    >>> parse_do(["X+=2"])["X"](3.0)
    5.0
    """
    out: dict[str, object] = {}
    for item in items or []:
        for part in (p.strip() for p in item.split(",")):
            if not part:
                continue
            shift = "+=" in part
            node, sep, value = part.partition("+=" if shift else "=")
            node, value = node.strip(), value.strip()
            if not sep or not node or not value:
                raise DataValidationError(
                    f"cannot read --do {part!r}; write NODE=VALUE or NODE+=DELTA, e.g. 'X=1'"
                )
            if node in out:
                raise DataValidationError(f"--do sets {node!r} more than once")
            if shift:
                try:
                    delta = float(value)
                except ValueError:
                    raise DataValidationError(f"shift {part!r} needs a number after '+='") from None
                out[node] = lambda x, d=delta: x + d
            else:
                out[node] = _number_or_text(value)
    return out


def _number_or_text(value: str) -> object:
    try:
        number = float(value)
    except ValueError:
        return value
    return (
        int(number)
        if number.is_integer() and "." not in value and "e" not in value.lower()
        else number
    )


def _cmd(args: argparse.Namespace) -> int:
    from ..generative import CausalGenerativeModel  # guards torch (the optional deep extra)

    out = check_output(args.out, [args.data, args.graph_file], args.force)
    df = read_table(args.data, sep=args.sep, encoding=args.encoding)
    graph = graph_from_args(args)
    do = parse_do(args.do)
    if do:
        graph.check_nodes(list(do), role="--do node")
    model = CausalGenerativeModel(
        graph,
        mechanisms=args.mechanism,
        max_epochs=args.epochs,
        random_state=args.seed,
        verbose=not args.quiet and "auto",
    ).fit(df)
    samples = model.sample(args.n, do=_match_levels(do, df), random_state=args.seed)
    if out is None:
        samples.to_csv(sys.stdout, index=False)
    else:
        samples.to_csv(out, index=False)
        what = ", ".join(f"{k}={v}" if not callable(v) else f"{k} shifted" for k, v in do.items())
        print(
            f"wrote {len(samples)} samples{f' under do({what})' if do else ''} to {args.out}",
            file=sys.stderr,
        )
    return 0


def _match_levels(do: dict[str, object], df: pd.DataFrame) -> dict[str, object]:
    """Numbers typed for text or boolean columns are read as the column's own level names."""
    out = {}
    for node, value in do.items():
        if node in df.columns and not callable(value):
            col = df[node]
            if pd.api.types.is_bool_dtype(col) and str(value).lower() in (
                "true",
                "false",
                "1",
                "0",
            ):
                value = str(value).lower() in ("true", "1")
            elif pd.api.types.is_object_dtype(col) and not isinstance(value, str):
                value = str(value)
            elif pd.api.types.is_float_dtype(col) and isinstance(value, int):
                value = float(value)
        out[node] = value
    return out


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "sample", _HELP, _DESCRIPTION, _EPILOG)
    p.add_argument("--data", required=True, help="CSV file with one column per node")
    add_graph_arguments(p, required=True)
    p.add_argument("--do", action="append", help="intervention NODE=VALUE or NODE+=DELTA")
    add_table_arguments(p)
    p.add_argument("-n", type=positive_int, default=1000, help="number of samples (default 1000)")
    p.add_argument("--out", default="samples.csv", help="output CSV ('-' for stdout)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.add_argument(
        "--mechanism",
        choices=_MECHANISMS,
        default="auto",
        help="mechanism for continuous nodes (discrete ones are categorical)",
    )
    p.add_argument(
        "--epochs", type=positive_int, default=None, help="maximum training epochs per node"
    )
    p.add_argument(
        "--seed", type=non_negative_int, default=None, help="random seed (reproducible output)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd)
