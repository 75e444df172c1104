"""Command-line interface: ``deepcause identify | estimate | sample | demo``.

Each subcommand lives in its own module exposing ``register(subparsers)``; the module sets
``func`` on its parser, which receives the parsed arguments and returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..exceptions import DeepCauseError

# subcommand name -> module (relative to this package) defining register(subparsers)
SUBCOMMANDS: dict[str, str] = {
    "identify": ".identify",
    "estimate": ".estimate",
    "sample": ".sample",
    "demo": ".demo",
    "bounds": ".bounds",
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="deepcause",
        description="Causal inference from a graph to answers.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMANDS.values():
        try:
            module = importlib.import_module(module_name, __name__)
        except ModuleNotFoundError as exc:  # subcommand not built yet in this checkout
            if exc.name and exc.name.startswith(__name__):
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``deepcause`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except DeepCauseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
