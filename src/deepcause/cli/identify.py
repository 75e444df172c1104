"""``deepcause identify``: print the estimand of a causal query, or why there is none.

Exit codes: 0 identified, 3 not identifiable (the explanation and the hedge are printed),
1 bad input (unknown node, malformed graph or query), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..exceptions import NotIdentifiableError
from ..identification.algorithm import identify
from ._graph_args import add_graph_arguments, graph_from_args
from ._io import add_command

EXIT_NOT_IDENTIFIABLE = 3

_HELP = "identify P(Y | do(X)[, W]) from a causal graph"
_DESCRIPTION = "Identify a causal query with the ID/IDC algorithms and print the estimand."
_EPILOG = """\
examples:
  deepcause identify --graph "Z -> X -> Y; Z -> Y" --treatment X --outcome Y
  deepcause identify --graph "X -> M -> Y; X <-> Y" -t X -o Y --latex
  deepcause identify --graph-file model.txt -t X1,X2 -o Y --given W --json

graph text: chains "A -> B <- C", "A <-> B" for an unobserved common cause, statements separated
by ';' or new lines, '#' comments.
exit codes: 0 identified, 3 not identifiable (explanation printed), 1 bad input, 2 usage error.
"""


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [n.strip() for n in text.split(",") if n.strip()]


def _cmd(args: argparse.Namespace) -> int:
    g = graph_from_args(args)
    given = _names(args.given)
    try:
        est = identify(g, _names(args.treatment), _names(args.outcome), given or None)
    except NotIdentifiableError as exc:
        if args.json:
            f, fp = exc.hedge or (frozenset(), frozenset())
            payload = {
                "identifiable": False,
                "query": exc.query,
                "hedge": {"F": sorted(f), "F_prime": sorted(fp)},
                "explanation": str(exc),
            }
            print(json.dumps(payload, indent=2))
        else:
            print(str(exc))
        return EXIT_NOT_IDENTIFIABLE
    if args.json:
        print(json.dumps({"identifiable": True, **est.to_dict()}, indent=2, ensure_ascii=False))
    elif args.latex:
        print(est.to_latex())
    else:
        print(est.to_text(ascii=args.ascii))
        detail = ""
        if est.adjustment_set is not None:
            detail = f" (adjustment set: {{{', '.join(est.adjustment_set)}}})"
        elif est.mediators is not None:
            detail = f" (mediators: {{{', '.join(est.mediators)}}})"
        print(f"kind: {est.kind}{detail}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "identify", _HELP, _DESCRIPTION, _EPILOG)
    add_graph_arguments(p, required=True, example="Z -> X -> Y; Z -> Y; X <-> Y")
    p.add_argument("--treatment", "-t", required=True, help="treatment node(s), comma-separated")
    p.add_argument("--outcome", "-o", required=True, help="outcome node(s), comma-separated")
    p.add_argument("--given", "-w", help="conditioning node(s) for P(Y | do(X), W)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="print LaTeX")
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--ascii", action="store_true", help="plain ASCII (sum_{Z} for Σ_{Z})")
    p.set_defaults(func=_cmd)


if __name__ == "__main__":  # pragma: no cover
    from . import main

    sys.exit(main(["identify", *sys.argv[1:]]))
