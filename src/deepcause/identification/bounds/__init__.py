"""Bounds on causal quantities that the graph does not point-identify.

:func:`bounds` returns a :class:`Bounds` interval for ``P(y | do(x))``, an average effect, or
the probabilities of causation (PNS, PN, PS), from data (samples or a joint probability table)
and optionally experimental data:

- ``method="lp"``: sharp bounds by linear programming over response functions, generated from
  any discrete ADMG whose confounded nodes form one district (:mod:`.lp`);
- ``method="natural"``: Manski's natural bounds, any graph; ``"balke-pearl"``: the closed form
  for the binary instrumental-variable graph (:mod:`.closed_form`);
- ``method="ncm"``: neural causal model bounds (Xia et al. 2021), an inner approximation of
  the sharp bounds for any graph and for continuous variables; the solver lives in
  :mod:`deepcause.generative.ncm_bounds` and :func:`deepcause.bounds` supplies it (it is the
  default when the linear program does not apply);
- PNS/PN/PS: by the same linear program with a cross-world objective (:mod:`.counterfactual`),
  or ``method="tian-pearl"``: Tian & Pearl's closed-form bounds, and point values under
  monotonicity (:mod:`.causation`).

>>> import pandas as pd
>>> from deepcause.identification.bounds import bounds
>>> iv = pd.DataFrame({"Z": [0, 0, 0, 1, 1, 1], "X": [0, 0, 1, 1, 1, 0],
...                    "Y": [0, 1, 1, 1, 0, 0], "probability": [.25, .1, .15, .3, .1, .1]})
>>> b = bounds("Z -> X -> Y; X <-> Y", iv, treatment={"X": 1}, control={"X": 0},
...            outcome={"Y": 1}, quantity="ate")
>>> round(b.lower, 3), round(b.upper, 3), b.sharp
(0.1, 0.6, True)
"""

from __future__ import annotations

from .api import bounds
from .lp import UnsupportedGraphError
from .result import Bounds

__all__ = ["bounds", "Bounds", "UnsupportedGraphError"]
