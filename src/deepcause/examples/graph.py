"""Causal graphs: adjustment sets (Pearl's Fig. 3.4), a front-door set, instruments on the
Card (1995) schooling graph, and the error messages for malformed graphs.

>>> import io
>>> res = main(out=io.StringIO())
>>> res["adjustment"]["minimal"], res["frontdoor"]
(['Z1', 'Z3'], [['tar']])
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from ..exceptions import GraphError
from ..graph.causal_graph import CausalGraph
from ..graph.criteria import (
    backdoor_sets,
    explain_instrument,
    find_adjustment_set,
    frontdoor_sets,
    instruments,
)

__all__ = ["TITLE", "PEARL", "CARD", "main"]

TITLE = "Graphs: adjustment sets, front door, instruments"

PEARL = """
# Pearl (1995), Fig. 3.4: which covariates must be adjusted for?
Z1 -> Z3 <- Z2
Z1 -> X; Z3 -> X; Z3 -> Y; Z2 -> Y
X -> W -> Y
"""

CARD = """
# Card (1995): returns to schooling; ability is unobserved (educ <-> lwage)
nearc4 -> educ -> lwage
educ <-> lwage
south -> nearc4; south -> lwage; south -> educ
smsa -> nearc4; smsa -> lwage
black -> educ; black -> lwage
exper -> lwage; educ -> exper
"""


def _sets(sets: Any) -> str:
    return ", ".join("{" + ", ".join(sorted(s)) + "}" for s in sets) or "none"


def _adjustment(out: TextIO) -> dict[str, Any]:
    g = CausalGraph(PEARL)
    print(f"1. {g}", file=out)
    print(f"   minimal adjustment sets: {_sets(backdoor_sets(g, 'X', 'Y'))}", file=out)
    found = {}
    for kind in ("minimal", "optimal", "parents"):
        z = find_adjustment_set(g, "X", "Y", kind=kind)
        found[kind] = None if z is None else sorted(z)
        print(f"   find_adjustment_set(kind={kind!r}): {_sets((z,)) if z else z}", file=out)
    separated = g.remove_outgoing("X").is_d_separated("X", "Y", ["Z1", "Z3"])
    print(f"   X _||_ Y | Z1, Z3 once X's effect is cut: {separated}\n", file=out)
    return {"adjustment": found, "separated": separated}


def _frontdoor(out: TextIO) -> list[list[str]]:
    fd = CausalGraph("smoking -> tar -> cancer; smoking <-> cancer")
    sets = frontdoor_sets(fd, "smoking", "cancer")
    print(f"2. {fd}", file=out)
    print(f"   adjustment sets: {_sets(backdoor_sets(fd, 'smoking', 'cancer'))}", file=out)
    print(f"   front-door sets: {_sets(sets)}\n", file=out)
    return [sorted(s) for s in sets]


def _instruments(out: TextIO) -> dict[str, Any]:
    card = CausalGraph(CARD)
    print("3. Card (1995) schooling graph: instruments for educ -> lwage", file=out)
    found = instruments(card, "educ", "lwage")
    for iv in found:
        print(f"   instrument: {iv}", file=out)
    reasons = {
        z: explain_instrument(card, "educ", "lwage", z) for z in ("nearc4", "exper", "black")
    }
    for z, reason in reasons.items():
        print(f"   {z} alone: {reason or 'a valid instrument'}", file=out)
    print("", file=out)
    return {"instruments": [str(iv) for iv in found], "reasons": reasons}


def _errors(out: TextIO) -> list[str]:
    print("4. Errors point at the problem and the fix:", file=out)
    messages = []
    for text in ("X -> Y; Y -> Z -> X", "age -> treat; treat => re78"):
        try:
            CausalGraph(text)
        except GraphError as err:
            messages.append(str(err))
    try:
        backdoor_sets(CausalGraph(PEARL), "X", "Z4")
    except GraphError as err:
        messages.append(str(err))
    for message in messages:
        print("   " + message.replace("\n", "\n   "), file=out)
    return messages


def main(quick: bool = False, *, out: TextIO = sys.stdout) -> dict[str, Any]:
    """Print the graph examples; return the sets found (``quick`` changes nothing: all exact).

    Examples
    --------
    >>> import io
    >>> main(out=io.StringIO())["adjustment"]["minimal"]
    ['Z1', 'Z3']
    """
    res = _adjustment(out)
    res["frontdoor"] = _frontdoor(out)
    res.update(_instruments(out))
    res["errors"] = _errors(out)
    return res
