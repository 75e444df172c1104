"""``deepcause demo``: the main job on bundled data, one section per part of the library.

Each section is a function ``run(out) -> None`` printing to the text stream ``out``; sections
are listed in ``SECTIONS`` in the order they are shown.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import TextIO

# (title, "module:function") — each part of the library adds its own section here
SECTIONS: list[tuple[str, str]] = [
    ("Graphs: adjustment sets, front door, instruments", "deepcause.cli.demo_graph:run"),
    ("Identification: kidney stones, front door, napkin, bow", "deepcause.cli.demo_identify:run"),
    ("Neural estimators: CFR on IHDP", "deepcause.cli.demo_neural:run"),
    ("Causal generative models: sampling under do()", "deepcause.cli.demo_generative:run"),
    ("Instrumental variables: Card 2SLS vs OLS, KernelIV", "deepcause.cli.demo_iv:run"),
    (
        "Estimation: job training on LaLonde (AIPW, IPW, matching, balancing)",
        "deepcause.cli.demo_estimate:run",
    ),
    ("Selection bias and stable prediction: Mroz Heckit", "deepcause.cli.demo_selection:run"),
]


def run_demo(out: TextIO = sys.stdout, only: str | None = None) -> None:
    """Run every demo section (or the one whose title contains ``only``)."""
    for title, target in SECTIONS:
        if only and only.lower() not in title.lower():
            continue
        module_name, func_name = target.split(":")
        func = getattr(importlib.import_module(module_name), func_name)
        print(f"\n{'=' * 78}\n{title}\n{'=' * 78}", file=out)
        func(out)


def _cmd(args: argparse.Namespace) -> int:
    run_demo(only=args.only)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="walk the worked examples on bundled data")
    p.add_argument("--only", help="run only the section whose title contains this text")
    p.set_defaults(func=_cmd)
