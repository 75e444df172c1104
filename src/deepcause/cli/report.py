"""``deepcause report``: estimate, refute and bound an effect; write one self-contained HTML file.

Takes the arguments of ``deepcause estimate`` plus ``--out`` (checked before any work: an
existing file is overwritten only with ``--force``, an input never), ``--refuter``,
``--simulations`` and ``--no-refute``. The report shows the graph, the estimand, the estimate
table, overlap and balance plots, the refutations, the sensitivity contour and the command
that produced it (see :func:`deepcause.report.build_report`). Exit codes: 0 written, 1 bad
input, 2 usage error, 3 not identifiable.

>>> import tempfile, pathlib, matplotlib
>>> matplotlib.use("Agg")
>>> from deepcause.cli import main
>>> from deepcause.simulate import make_confounded_binary
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> make_confounded_binary(300, n_covariates=2, random_state=0,
...                        population_truth=False).data.to_csv(folder / "d.csv", index=False)
>>> main(["report", str(folder / "d.csv"), "-g", "x1 -> t; x2 -> t; x1 -> y; x2 -> y; t -> y",
...       "-t", "t", "-o", "y", "-m", "ipw", "--simulations", "2",
...       "--out", str(folder / "r.html")])
0
>>> main(["report", str(folder / "d.csv"), "-t", "t", "-o", "y", "--out", str(folder / "d.csv")])
1
"""

from __future__ import annotations

import argparse
import hashlib
import shlex
import sys
import warnings
from pathlib import Path

from ..exceptions import DataValidationError
from ..graph.causal_graph import CausalGraph
from ..report import DEFAULT_REFUTERS, build_report
from ._graph_args import graph_from_args
from ._io import add_command, check_output, positive_int, read_table
from .estimate import _graph, _iv_options, _run_options, add_estimate_arguments

_HELP = "write a self-contained HTML report: graph, estimate, diagnostics, refutations"
_DESCRIPTION = (
    "Estimate the effect of --treatment on --outcome, refute it, bound its sensitivity to "
    "unmeasured confounding and write everything to one HTML file."
)
_EPILOG = """\
examples:
  deepcause report data.csv -g "Z -> T -> Y; Z -> Y" -t T -o Y --out report.html
  deepcause report data.csv -f model.txt -t T -o Y --method ipw --simulations 50 --out r.html
  deepcause report card.csv -t educ -o lwage --method 2sls -z nearc4 --out iv.html --force

The HTML file needs nothing else to be read (inline styles, figures embedded, no scripts).
Refutations and the sensitivity analysis are run for back-door estimates.
"""


def _command(args: argparse.Namespace) -> str:
    """The command line that reproduces ``args`` (every option that differs from its default)."""
    parser: argparse.ArgumentParser = args.report_parser
    words = ["deepcause", "report", args.data]
    for action in parser._actions:  # argparse keeps no public list of them
        value = getattr(args, action.dest, None)
        if not action.option_strings or value == action.default or action.dest == "help":
            continue
        flag = max(action.option_strings, key=len)
        if isinstance(action, argparse._StoreTrueAction):
            words.append(flag)
        elif isinstance(value, list):
            words += [w for v in value for w in (flag, str(v))]
        else:
            words += [flag, str(value)]
    return shlex.join(words)


def _file_hash(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _cmd(args: argparse.Namespace) -> int:
    if not (args.data and args.treatment and args.outcome):
        raise DataValidationError("deepcause report needs DATA, --treatment and --outcome")
    if args.treatment == args.outcome:
        raise DataValidationError("--treatment and --outcome name the same column")
    out = check_output(args.out, [args.data, args.graph_file], args.force)
    if out is None:
        raise DataValidationError("--out - is not supported: give the HTML file's name")
    data = read_table(args.data, sep=args.sep, encoding=args.encoding)
    graph: CausalGraph | None = graph_from_args(args)
    if graph is None and not args.instrument:
        graph = _graph(args, data)
    code = f"{_command(args)}\n# data file sha256: {_file_hash(args.data)}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = build_report(
            data,
            graph,
            args.treatment,
            args.outcome,
            population=args.population,
            refute=not args.no_refute,
            refuters=args.refuter,
            n_simulations=args.simulations,
            alpha=1 - args.level,
            extra_columns="error" if args.strict else "ignore",
            code=code,
            **_iv_options(args),
            **_run_options(args),
        )
    for message in sorted({str(w.message) for w in caught}):
        print(f"warning: {message}", file=sys.stderr)
    report.save(out)
    print(f"wrote {report.title!r} ({', '.join(report.titles)}) to {out}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand."""
    p = add_command(sub, "report", _HELP, _DESCRIPTION, _EPILOG)
    add_estimate_arguments(p)
    p.add_argument("--out", required=True, help="the HTML file to write")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.add_argument(
        "--refuter",
        "-r",
        action="append",
        choices=[*DEFAULT_REFUTERS, "negative_control_outcome", "negative_control_exposure"],
        help="refuter to run (repeatable; default: all that apply)",
    )
    p.add_argument("--simulations", "-n", type=positive_int, default=20, help="refits per refuter")
    p.add_argument("--no-refute", action="store_true", help="skip the refutations")
    p.set_defaults(func=_cmd, report_parser=p)
