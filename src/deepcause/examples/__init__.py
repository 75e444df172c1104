"""The worked examples behind ``deepcause demo`` and ``examples/*.py``, one module per section.

Each module has a ``TITLE`` and ``main(quick=False, *, out=sys.stdout)`` that prints its section
to ``out`` and returns its numbers (a dict, or a DataFrame for tables), so tests check the
numbers against the truth instead of the text. :data:`SECTIONS` maps the section names of
``deepcause demo --only NAME`` to the modules, in the order the demo runs them. The neural,
generative, fairness and images sections need PyTorch (the ``deep`` extra) when they run.

>>> list(SECTIONS)  # doctest: +NORMALIZE_WHITESPACE
['graph', 'identification', 'estimation', 'iv', 'selection', 'neural', 'generative', 'fairness',
 'images', 'counterfactual_images']
>>> import io
>>> SECTIONS["graph"].main(out=io.StringIO())["frontdoor"]
[['tar']]
"""

from __future__ import annotations

from types import ModuleType

from . import (
    counterfactual_images,
    estimation,
    fairness,
    generative,
    graph,
    identification,
    images,
    iv,
    neural,
    selection,
)

__all__ = ["SECTIONS"]

SECTIONS: dict[str, ModuleType] = {
    "graph": graph,
    "identification": identification,
    "estimation": estimation,
    "iv": iv,
    "selection": selection,
    "neural": neural,
    "generative": generative,
    "fairness": fairness,
    "images": images,
    "counterfactual_images": counterfactual_images,
}
