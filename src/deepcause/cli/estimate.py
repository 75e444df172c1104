"""``deepcause estimate``: identify and estimate a causal effect from a CSV file and a graph.

Exit codes: 0 estimated, 1 bad input (missing column, bad graph, unsupported quantity, ...),
2 usage error, 3 not identifiable.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from ..exceptions import DataValidationError, NotIdentifiableError
from ..graph.causal_graph import CausalGraph
from ._graph_args import add_graph_arguments, graph_from_args

_EPILOG = """\
examples:
  deepcause estimate data.csv --graph "Z -> T -> Y; Z -> Y" --treatment T --outcome Y
  deepcause estimate lalonde.csv -t treat -o re78 --method matching --quantity ATT --json
  deepcause estimate data.csv -f model.txt -t T -o Y --method ipw --bootstrap 500
  deepcause estimate card.csv -t educ -o lwage --method 2sls -z nearc4 --covariate exper

Without --graph/--graph-file every other column is taken as a confounder of T and Y.
Methods: see --list-methods. Warnings (e.g. limited overlap) are printed to stderr.
"""


def _graph(args: argparse.Namespace, data: pd.DataFrame) -> CausalGraph:
    given = graph_from_args(args)
    if given is not None:
        return given
    others = [str(c) for c in data.columns if c not in (args.treatment, args.outcome)]
    directed = [(c, args.treatment) for c in others] + [(c, args.outcome) for c in others]
    directed.append((args.treatment, args.outcome))
    return CausalGraph.from_edges(directed, nodes=[*others, args.treatment, args.outcome])


def _fmt(x: Any) -> str:
    return "—" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.4g}"


def diagnostics_lines(diag: Any) -> list[str]:
    """Readable lines summarising back-door diagnostics (overlap, ESS, balance, clipping)."""
    lines = []
    ov = diag.get("overlap")
    if ov:
        for g in ("treated", "control"):
            d = ov[g]
            lines.append(
                f"propensity ({g}, n={d['n']})  min {d['min']:.3g}  max {d['max']:.3g}  "
                f"< {ov['threshold']}: {d['n_below']}  > {1 - ov['threshold']}: {d['n_above']}"
            )
    if "clip_bounds" in diag:
        lo, hi = diag["clip_bounds"]
        lines.append(f"propensity clipped to [{lo:.3g}, {hi:.3g}]: {diag['n_clipped']} units")
    if "trim_bounds" in diag:
        lines.append(f"trimmed (dropped) units: {diag['n_trimmed']}")
    if "ess" in diag:
        ess = diag["ess"]
        lines.append(
            f"effective sample size  treated {ess['treated']:.1f}  control {ess['control']:.1f}"
        )
    if "max_abs_smd_before" in diag:
        lines.append(
            f"max |SMD|  before {diag['max_abs_smd_before']:.3f}  after "
            f"{_fmt(diag.get('max_abs_smd_after'))}"
        )
    if diag.get("ignored_columns"):
        lines.append(f"columns not in the graph (ignored): {diag['ignored_columns']}")
    return lines


def _json_safe(diag: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("overlap", "clip_bounds", "n_clipped", "trim_bounds", "n_trimmed", "ess"):
        if key in diag:
            out[key] = diag[key]
    for key in ("max_abs_smd_before", "max_abs_smd_after", "ignored_columns"):
        if key in diag:
            out[key] = diag[key]
    balance = diag.get("balance")
    if balance is not None and len(balance):
        out["balance"] = {
            str(k): {c: float(v) for c, v in row.items()} for k, row in balance.iterrows()
        }
    return out


def _cmd(args: argparse.Namespace) -> int:
    from ..estimate.api import estimate_effect
    from ..estimate.iv.api import estimate_iv_effect, is_iv_method
    from ..estimate.registry import available_methods

    if args.list_methods:
        print("\n".join(available_methods()))
        return 0
    if not (args.data and args.treatment and args.outcome):
        raise DataValidationError("deepcause estimate needs DATA, --treatment and --outcome")
    path = Path(args.data)
    if not path.is_file():
        raise DataValidationError(f"data file {str(path)!r} does not exist")
    data = pd.read_csv(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if is_iv_method(args.method):
                # IV needs no back-door identification: the instruments are checked against
                # the graph (or found in it) instead
                result = estimate_iv_effect(
                    data,
                    graph_from_args(args),
                    args.treatment,
                    args.outcome,
                    method=args.method,
                    instruments=args.instrument,
                    covariates=args.covariate,
                    treatment_value=args.t1,
                    control_value=args.t0,
                    bootstrap=args.bootstrap,
                    random_state=args.seed,
                )
            else:
                result = estimate_effect(
                    data,
                    _graph(args, data),
                    args.treatment,
                    args.outcome,
                    method=args.method,
                    quantity=args.quantity,
                    bootstrap=args.bootstrap,
                    random_state=args.seed,
                    extra_columns="error" if args.strict else "ignore",
                )
        except NotIdentifiableError as exc:
            print(f"not identifiable: {exc}", file=sys.stderr)
            return 3
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    alpha = 1 - args.level
    if args.json:
        payload = result.to_dict(alpha)
        payload["diagnostics"] = _json_safe(result.diagnostics)
        payload["warnings"] = [str(w.message) for w in caught]
        print(json.dumps(payload, indent=2, default=float))
        return 0
    print(result.summary(alpha))
    lines = diagnostics_lines(result.diagnostics)
    if lines:
        print("\ndiagnostics")
        for line in lines:
            print(f"  {line}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "estimate",
        help="estimate a causal effect from a CSV file and a graph",
        description="Identify the effect of --treatment on --outcome and estimate it.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", nargs="?", help="CSV file with a header row")
    add_graph_arguments(p, required=False, example="Z -> T -> Y; Z -> Y")
    p.add_argument("--treatment", "-t", help="treatment column")
    p.add_argument("--outcome", "-o", help="outcome column")
    p.add_argument("--method", "-m", help="estimator (default: chosen from the estimand)")
    p.add_argument(
        "--quantity", "-q", default="ATE", choices=["ATE", "ATT", "ATC", "ATO"], help="effect"
    )
    iv = p.add_argument_group(
        "instrumental variables (--method 2sls|wald|poly2sls|kerneliv|dfiv|...)"
    )
    iv.add_argument(
        "--instrument",
        "-z",
        action="append",
        help="instrument column (repeatable); without it the instruments are found in the graph",
    )
    iv.add_argument("--covariate", action="append", help="exogenous covariate column (repeatable)")
    iv.add_argument("--t0", type=float, default=0.0, help="reference treatment value (default 0)")
    iv.add_argument("--t1", type=float, default=1.0, help="treatment value compared (default 1)")
    p.add_argument("--bootstrap", "-b", type=int, default=0, help="bootstrap resamples")
    p.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--strict", action="store_true", help="error on columns not in the graph")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--list-methods", action="store_true", help="list estimation methods")
    p.set_defaults(func=_cmd)
