"""Self-contained HTML reports of a causal analysis.

:func:`build_report` takes the data and the graph (the inputs of
:func:`deepcause.estimate.estimate_effect`) and returns a :class:`Report` with the graph drawn,
the estimand in mathematics, the estimate table, overlap and balance plots, the refutations,
the Cinelli–Hazlett sensitivity contour and E-value, and the code that produced it.
``Report.save(path)`` writes one HTML file that needs nothing else to be read: inline CSS,
figures as ``data:`` URIs, no scripts, nothing loaded from the network. On the command line:
``deepcause report DATA -g GRAPH -t T -o Y --out report.html``.

Results do not keep their data, so a report with refutations starts from the data; an
:class:`~deepcause.results.EffectEstimate` on its own writes the parts that need no data with
:meth:`~deepcause.results.EffectEstimate.report`.

>>> from deepcause.simulate import make_confounded_binary
>>> df = make_confounded_binary(400, n_covariates=2, random_state=0, population_truth=False).data
>>> rep = build_report(df, "x1 -> t; x2 -> t; x1 -> y; x2 -> y; t -> y", "t", "y",
...                    method="ipw", refute=False)
>>> rep.html.count("<img ")
5
"""

from .._html import Report, Section
from .build import DEFAULT_REFUTERS, build_report, data_fingerprint
from .figures import graph_figsize, graph_layout, plot_graph, plot_refutations

__all__ = [
    "build_report",
    "Report",
    "Section",
    "DEFAULT_REFUTERS",
    "data_fingerprint",
    "plot_graph",
    "plot_refutations",
    "graph_layout",
    "graph_figsize",
]
