"""Demo section: causal graphs, adjustment sets, front-door sets and instruments."""

from __future__ import annotations

from typing import TextIO

from ..exceptions import GraphError
from ..graph.causal_graph import CausalGraph
from ..graph.criteria import (
    backdoor_sets,
    explain_instrument,
    find_adjustment_set,
    frontdoor_sets,
    instruments,
)

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


def _sets(sets: tuple[frozenset[str], ...]) -> str:
    return ", ".join("{" + ", ".join(sorted(s)) + "}" for s in sets) or "none"


def run(out: TextIO) -> None:
    g = CausalGraph(PEARL)
    print(f"1. {g}", file=out)
    print(f"   minimal adjustment sets: {_sets(backdoor_sets(g, 'X', 'Y'))}", file=out)
    for kind in ("minimal", "optimal", "parents"):
        z = find_adjustment_set(g, "X", "Y", kind=kind)
        print(f"   find_adjustment_set(kind={kind!r}): {_sets((z,)) if z else z}", file=out)
    print(
        f"   is X _||_ Y | Z1, Z3 once X's effect is cut? "
        f"{g.remove_outgoing('X').is_d_separated('X', 'Y', ['Z1', 'Z3'])}\n",
        file=out,
    )

    fd = CausalGraph("smoking -> tar -> cancer; smoking <-> cancer")
    print(f"2. {fd}", file=out)
    print(f"   adjustment sets: {_sets(backdoor_sets(fd, 'smoking', 'cancer'))}", file=out)
    print(f"   front-door sets: {_sets(frontdoor_sets(fd, 'smoking', 'cancer'))}\n", file=out)

    card = CausalGraph(CARD)
    print("3. Card (1995) schooling graph: instruments for educ -> lwage", file=out)
    for iv in instruments(card, "educ", "lwage"):
        print(f"   instrument: {iv}", file=out)
    for z in ("nearc4", "exper", "black"):
        reason = explain_instrument(card, "educ", "lwage", z)
        print(f"   {z} alone: {reason or 'a valid instrument'}", file=out)
    print("", file=out)

    print("4. Errors point at the problem and the fix:", file=out)
    for text in ("X -> Y; Y -> Z -> X", "age -> treat; treat => re78"):
        try:
            CausalGraph(text)
        except GraphError as err:
            print("   " + str(err).replace("\n", "\n   "), file=out)
    try:
        backdoor_sets(g, "X", "Z4")
    except GraphError as err:
        print(f"   {err}", file=out)
