"""``deepcause refute``: estimate a back-door effect, then try to refute it.

Takes the arguments of ``deepcause estimate`` (data, graph, treatment, outcome, method,
quantity) plus the refuters to run. The covariates are the back-door adjustment set the graph
identifies; negative controls come from ``--negative-control-outcome/-exposure`` or from the
graph (a node the treatment cannot reach that is no ancestor of the treatment or the outcome
is a negative-control outcome; a binary node that is neither an ancestor nor a descendant of
the outcome is a negative-control exposure).

Exit codes: 0 every refutation passed, 4 (:data:`EXIT_REFUTED`) at least one failed (the
results are printed either way, as tables or JSON), 1 bad input, 2 usage error, 3 not
identifiable; a script can run ``deepcause refute ... || handle_failure``.

>>> import tempfile, pathlib
>>> from deepcause.cli import main
>>> from deepcause.simulate import make_confounded_binary
>>> path = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
>>> make_confounded_binary(400, n_covariates=2, random_state=0,
...                        population_truth=False).data.to_csv(path, index=False)
>>> main(["refute", str(path), "-g", "x1 -> t; x2 -> t; x1 -> y; x2 -> y; t -> y", "-t", "t",
...       "-o", "y", "-m", "ipw", "--refuter", "placebo_treatment", "--simulations", "3",
...       "--json"])  # doctest: +ELLIPSIS
{...
  "refutations": [
    {
      "refuter": "placebo treatment",
...
0
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from typing import Any

import pandas as pd

from ..estimate.api import _check_graph_columns, default_method
from ..estimate.refute import refute
from ..estimate.refute.negative import negative_controls
from ..estimate.registry import get_estimator_class
from ..exceptions import DataValidationError, EstimandNotSupportedError
from ..graph.causal_graph import CausalGraph
from ..identification.algorithm import identify
from ._graph_args import add_graph_arguments, graph_from_args
from ._io import add_table_arguments, non_negative_int, open_unit_float, positive_int, read_table

_EPILOG = """\
examples:
  deepcause refute data.csv -g "Z -> T -> Y; Z -> Y" -t T -o Y
  deepcause refute data.csv -g "Z -> T -> Y; Z -> Y; Z -> N" -t T -o Y --refuter \\
      negative_control_outcome --json
  deepcause refute data.csv -t T -o Y --method ipw --negative-control-outcome pre_y

Refuters (--refuter, repeatable; default: all that apply): placebo_treatment,
random_common_cause, data_subsets, bootstrap, dummy_outcome, negative_control_outcome,
negative_control_exposure. Without --graph every other column is a confounder of T and Y.

exit codes: 0 every refutation passed, 4 a refutation failed (results printed), 1 bad input,
2 usage error, 3 not identifiable.
"""

#: exit code when at least one refutation fails (its verdict is printed with the others)
EXIT_REFUTED = 4

_GENERIC = (
    "placebo_treatment",
    "random_common_cause",
    "data_subsets",
    "bootstrap",
    "dummy_outcome",
)
_POPULATION = {"ATE": "all", "ATT": "treated", "ATC": "controls", "ATO": "overlap"}


def _graph(args: argparse.Namespace, data: pd.DataFrame) -> CausalGraph:
    given = graph_from_args(args)
    if given is not None:
        return given
    controls = {args.negative_control_outcome, args.negative_control_exposure}
    others = [str(c) for c in data.columns if c not in (args.treatment, args.outcome, *controls)]
    directed = [(c, args.treatment) for c in others] + [(c, args.outcome) for c in others]
    directed.append((args.treatment, args.outcome))
    return CausalGraph.from_edges(directed, nodes=[*others, args.treatment, args.outcome])


def _plan(args: argparse.Namespace, nco: str | None, nce: str | None) -> dict[str, dict]:
    """Refuter name -> its options."""
    chosen = args.refuter or [*_GENERIC, "negative_control_outcome", "negative_control_exposure"]
    plan: dict[str, dict] = {}
    for name in chosen:
        control = {"negative_control_outcome": nco, "negative_control_exposure": nce}
        if name in control:
            if control[name] is None:
                if args.refuter:
                    raise DataValidationError(
                        f"--refuter {name} needs a control: pass --{name.replace('_', '-')} "
                        "COLUMN or name one in the graph"
                    )
                continue
            plan[name] = {"negative_control": control[name]}
        else:
            plan[name] = {"n_simulations": args.simulations, "random_state": args.seed}
    return plan


def _run(args: argparse.Namespace) -> tuple[Any, list[Any], list[str]]:
    data = read_table(args.data, sep=args.sep, encoding=args.encoding)
    graph = _graph(args, data)
    _check_graph_columns(graph, data, "error" if args.strict else "ignore")
    estimand = identify(graph, args.treatment, args.outcome)
    if estimand.kind != "backdoor":
        raise EstimandNotSupportedError(
            f"deepcause refute needs a back-door estimand; this graph gives a {estimand.kind} "
            "one: use deepcause estimate"
        )
    covariates = list(estimand.adjustment_set or ())
    cls = get_estimator_class(args.method or default_method(estimand, data))
    params = {"random_state": args.seed} if "random_state" in cls().get_params() else {}
    nco, nce = negative_controls(graph, data, args.treatment, args.outcome, covariates)
    nco = args.negative_control_outcome or nco
    nce = args.negative_control_exposure or nce
    roles = dict(treatment=args.treatment, outcome=args.outcome, covariates=covariates)
    common = dict(alpha=1 - args.level, population=_POPULATION[args.quantity], **roles)
    results = [
        refute(cls(**params), data, method=name, **common, **options)
        for name, options in _plan(args, nco, nce).items()
    ]
    return estimand, results, covariates


def _cmd(args: argparse.Namespace) -> int:
    if not (args.data and args.treatment and args.outcome):
        raise DataValidationError("deepcause refute needs DATA, --treatment and --outcome")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimand, results, covariates = _run(args)
    messages = sorted({str(w.message) for w in caught})
    if args.json:
        original = results[0].original.to_dict(1 - args.level) if results else None
        payload = {
            "estimand": str(estimand),
            "covariates": covariates,
            "estimate": original,
            "refutations": [r.to_dict() for r in results],
            "warnings": messages,
        }
        print(json.dumps(payload, indent=2, default=_json_default))
        return _exit_code(results)
    for w in messages:
        print(f"warning: {w}", file=sys.stderr)
    if results:
        print(results[0].original.summary(1 - args.level))
    for r in results:
        print()
        print(r.summary())
    passed = sum(r.passed for r in results)
    print(f"\n{passed} of {len(results)} refutation(s) passed")
    return _exit_code(results)


def _exit_code(results: list[Any]) -> int:
    """0 when every refutation passed, :data:`EXIT_REFUTED` when one failed."""
    return 0 if all(r.passed for r in results) else EXIT_REFUTED


def _json_default(x: Any) -> Any:
    value = float(x)
    return value if math.isfinite(value) else None


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``refute`` subcommand."""
    p = sub.add_parser(
        "refute",
        help="estimate an effect and run refutation tests on it",
        description="Estimate the effect of --treatment on --outcome, then try to refute it.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", nargs="?", help="CSV file with a header row")
    add_graph_arguments(p, required=False, example="Z -> T -> Y; Z -> Y")
    add_table_arguments(p)
    p.add_argument("--treatment", "-t", help="treatment column")
    p.add_argument("--outcome", "-o", help="outcome column")
    p.add_argument("--method", "-m", help="estimator (default: chosen from the estimand)")
    p.add_argument("--quantity", "-q", default="ATE", choices=list(_POPULATION), help="effect")
    p.add_argument(
        "--refuter", "-r", action="append", help="refuter to run (repeatable; default: all)"
    )
    p.add_argument("--negative-control-outcome", help="column the treatment cannot affect")
    p.add_argument("--negative-control-exposure", help="binary column that cannot affect Y")
    p.add_argument("--simulations", "-n", type=positive_int, default=20, help="refits per refuter")
    p.add_argument(
        "--level", type=open_unit_float, default=0.95, help="confidence level (default 0.95)"
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed")
    p.add_argument("--strict", action="store_true", help="error on columns not in the graph")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(func=_cmd)
