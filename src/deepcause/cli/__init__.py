"""Command-line interface: ``deepcause identify | estimate | refute | report | bounds | sample | demo``.

Each subcommand lives in its own module exposing ``register(subparsers)``; the module sets
``func`` on its parser, which receives the parsed arguments and returns an exit code.

Exit codes, the same for every subcommand: 0 success, 1 a problem with the data, a file or an
argument value (one line on stderr naming it and the fix), 2 usage (unknown option, missing
argument), 3 the causal query is not identifiable, 4 a refutation failed (``deepcause refute``:
the verdicts are printed), 70 an internal error (a bug: a short message and how to report it;
``--debug`` anywhere on the line shows the traceback).

>>> main(["estimate", "no_such_file.csv", "-t", "t", "-o", "y"])
1
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..exceptions import DeepCauseError, NotIdentifiableError
from . import bounds, demo, estimate, identify, refute, report, sample

EXIT_OK, EXIT_USER, EXIT_USAGE, EXIT_NOT_IDENTIFIABLE, EXIT_INTERNAL = 0, 1, 2, 3, 70

# the subcommand modules, in the order of the help text; each defines register(subparsers)
SUBCOMMANDS = (identify, estimate, refute, report, bounds, sample, demo)


def build_parser() -> argparse.ArgumentParser:
    """The top-level argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="deepcause",
        description="Causal inference from a graph to answers.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(sub)
    return parser


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``deepcause`` command; returns the exit code (see the module doc)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2), already printed
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_USAGE
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except NotIdentifiableError as exc:
        print(f"not identifiable: {_one_line(exc)}", file=sys.stderr)
        return EXIT_NOT_IDENTIFIABLE
    except (DeepCauseError, OSError) as exc:
        if debug:
            raise
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USER
    except Exception as exc:  # a bug, not the user's mistake
        if debug:
            raise
        print(
            f"internal error: {type(exc).__name__}: {_one_line(exc)[:300]}. This is a bug in "
            "deepcause: please report it with the command you ran (add --debug for the traceback).",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
