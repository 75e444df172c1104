"""The ``--graph TEXT | --graph-file FILE`` pair shared by the subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..exceptions import DataValidationError
from ..graph.causal_graph import CausalGraph


def add_graph_arguments(
    parser: argparse.ArgumentParser, *, required: bool, example: str = "Z -> X -> Y; Z -> Y"
) -> None:
    """Add the mutually exclusive ``--graph/-g`` and ``--graph-file/-f`` options."""
    src = parser.add_mutually_exclusive_group(required=required)
    src.add_argument("--graph", "-g", help=f'graph text, e.g. "{example}"')
    src.add_argument("--graph-file", "-f", help="file holding the graph text")


def graph_from_args(args: argparse.Namespace) -> CausalGraph | None:
    """The graph named by ``--graph``/``--graph-file``, or ``None`` when neither was given."""
    if args.graph_file is not None:
        path = Path(args.graph_file)
        if not path.is_file():
            raise DataValidationError(f"graph file {str(path)!r} does not exist")
        raw = path.read_bytes()
        try:
            if b"\x00" in raw:
                raise UnicodeDecodeError("utf-8", raw, 0, 1, "NUL byte")
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DataValidationError(
                f"graph file {str(path)!r} is not UTF-8 text; write the graph as text, "
                "e.g. 'Z -> X -> Y; Z -> Y'"
            ) from None
        return CausalGraph(text)
    if args.graph is not None:
        return CausalGraph(args.graph)
    return None
