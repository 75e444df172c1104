"""``deepcause estimate``: identify and estimate a causal effect from a CSV file and a graph.

The result is printed through :meth:`deepcause.results.EffectEstimate.summary` (text, or
``--markdown`` / ``--latex``), or as JSON (``--json``, from ``to_dict``). Exit codes: 0
estimated, 1 bad input (missing column, bad graph, unsupported population, ...), 2 usage error,
3 not identifiable.

>>> import argparse
>>> sub = argparse.ArgumentParser().add_subparsers()
>>> register(sub)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import warnings
from typing import Any

import pandas as pd

from ..estimate.api import estimate_effect
from ..estimate.iv.api import estimate_iv_effect, is_iv_method
from ..estimate.registry import available_methods
from ..exceptions import DataValidationError
from ..graph.causal_graph import CausalGraph
from ..results import POPULATIONS, EffectEstimate
from ._graph_args import add_graph_arguments, graph_from_args
from ._io import add_command, add_table_arguments, non_negative_int, open_unit_float, read_table

_HELP = "estimate a causal effect from a CSV file and a graph"
_DESCRIPTION = "Identify the effect of --treatment on --outcome and estimate it."
_EPILOG = """\
examples:
  deepcause estimate data.csv --graph "Z -> T -> Y; Z -> Y" --treatment T --outcome Y
  deepcause estimate lalonde.csv -t treat -o re78 --method matching --population treated --json
  deepcause estimate data.csv -f model.txt -t T -o Y --method ipw --bootstrap 500
  deepcause estimate card.csv -t educ -o lwage --method 2sls -z nearc4 --covariate exper
  deepcause estimate "data/*.parquet" -t T -o Y --engine dask --scheduler tcp://host:8786

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


def _run_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of every estimation entry point, from :func:`add_estimate_arguments`."""
    return {"method": args.method, "bootstrap": args.bootstrap, "random_state": args.seed}


def _iv_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of the IV entry points (instruments, covariates, contrast)."""
    return {
        "instruments": args.instrument,
        "covariates": args.covariate,
        "treatment_value": args.t1,
        "control_value": args.t0,
    }


def _estimate(args: argparse.Namespace, data: pd.DataFrame) -> EffectEstimate:
    query = (args.treatment, args.outcome)
    if is_iv_method(args.method):
        # IV needs no back-door identification: the instruments are checked against the graph
        # (or found in it) instead
        graph = graph_from_args(args)
        return estimate_iv_effect(data, graph, *query, **_iv_options(args), **_run_options(args))
    extra = "error" if args.strict else "ignore"
    options = {"population": args.population, "extra_columns": extra, **_run_options(args)}
    return estimate_effect(data, _graph(args, data), *query, **options)


def _cmd(args: argparse.Namespace) -> int:
    if args.list_methods:
        print("\n".join(available_methods()))
        return 0
    if not (args.data and args.treatment and args.outcome):
        raise DataValidationError("deepcause estimate needs DATA, --treatment and --outcome")
    if args.treatment == args.outcome:
        raise DataValidationError("--treatment and --outcome name the same column")
    with warnings.catch_warnings(record=True) as caught, contextlib.ExitStack() as stack:
        warnings.simplefilter("always")
        if args.engine == "dask":  # out of core: the table is read partition by partition
            from ..estimate.distributed import dask_scheduler, read_dask_table

            data = read_dask_table(args.data, sep=args.sep)
            stack.enter_context(dask_scheduler(args.scheduler))
        else:
            data = read_table(args.data, sep=args.sep, encoding=args.encoding)
        result = _estimate(args, data)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    alpha = 1 - args.level
    if args.format == "json":
        payload = result.to_dict(alpha)
        payload["warnings"] = [str(w.message) for w in caught]
        print(json.dumps(payload, indent=2, default=float))
        return 0
    summary = result.summary(alpha)
    print(
        {"markdown": summary.as_markdown, "latex": summary.as_latex}.get(
            args.format, summary.as_text
        )()
    )
    return 0


def add_estimate_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``deepcause estimate`` that also define a report: data, graph, roles,
    method, population, instruments, bootstrap, level, seed and ``--strict``."""
    p.add_argument("data", nargs="?", help="CSV file with a header row")
    add_table_arguments(p)
    add_graph_arguments(p, required=False, example="Z -> T -> Y; Z -> Y")
    p.add_argument("--treatment", "-t", help="treatment column")
    p.add_argument("--outcome", "-o", help="outcome column")
    p.add_argument("--method", "-m", help="estimator (default: chosen from the estimand)")
    p.add_argument(
        "--population",
        "-p",
        default="all",
        choices=list(POPULATIONS),
        help="whose effect: all units (ATE), the treated (ATT), the controls (ATC) or the "
        "overlap population (ATO, IPW only); default all",
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
    p.add_argument(
        "--bootstrap", "-b", type=non_negative_int, default=0, help="bootstrap resamples"
    )
    p.add_argument(
        "--level", type=open_unit_float, default=0.95, help="confidence level (default 0.95)"
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed")
    p.add_argument("--strict", action="store_true", help="error on columns not in the graph")


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "estimate", _HELP, _DESCRIPTION, _EPILOG)
    add_estimate_arguments(p)
    p.add_argument(
        "--engine",
        choices=["pandas", "dask"],
        default="pandas",
        help="pandas (in memory, default) or dask (out of core: Parquet/CSV files or a glob; "
        "IPW, AIPW, T-learner, PlugIn, 2SLS with linear/logistic models)",
    )
    p.add_argument(
        "--scheduler", help="address of a dask.distributed scheduler (with --engine dask)"
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", dest="format", action="store_const", const="json", help="print JSON")
    out.add_argument(
        "--markdown", dest="format", action="store_const", const="markdown", help="Markdown"
    )
    out.add_argument("--latex", dest="format", action="store_const", const="latex", help="LaTeX")
    p.add_argument("--list-methods", action="store_true", help="list estimation methods")
    p.set_defaults(func=_cmd)
