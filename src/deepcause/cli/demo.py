"""``deepcause demo``: the worked examples of :mod:`deepcause.examples`, one section each.

``--only NAME`` runs one section; ``--quick`` uses the examples' small settings. An unknown
name exits with status 2 and a one-line error listing the sections.
"""

from __future__ import annotations

import argparse
import sys

from ..examples import SECTIONS

__all__ = ["register"]


def _cmd(args: argparse.Namespace) -> int:
    names = list(SECTIONS) if args.only is None else [args.only.lower()]
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        print(
            f"error: unknown demo section {args.only!r}; choose one of: {', '.join(SECTIONS)}",
            file=sys.stderr,
        )
        return 2
    for name in names:
        module = SECTIONS[name]
        print(f"\n{'=' * 78}\n[{name}] {module.TITLE}\n{'=' * 78}")
        module.main(quick=args.quick)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand to the ``deepcause`` parser."""
    p = sub.add_parser("demo", help="walk the worked examples on bundled and simulated data")
    p.add_argument("--only", metavar="NAME", help=f"run one section: {', '.join(SECTIONS)}")
    p.add_argument("--quick", action="store_true", help="small settings (seconds per section)")
    p.set_defaults(func=_cmd)
