"""Instrumental variables: Card (1995) returns to schooling with 2SLS, the graph deciding what is
an instrument, and a nonlinear demand design (Hartford et al. 2017) where the structural
function is known from the simulator.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any, TextIO

import numpy as np

from ..datasets.loaders import load_card
from ..estimate.iv import InvalidInstrumentError, KernelIV, TwoStageLeastSquares
from ..exceptions import WeakInstrumentWarning
from ..graph.causal_graph import CausalGraph
from ..graph.criteria import explain_instrument, instruments
from ..simulate.iv import demand_test_points, make_demand

__all__ = ["TITLE", "main"]

TITLE = "Instrumental variables: Card 2SLS vs OLS, KernelIV"


def _card(out: TextIO) -> dict[str, Any]:
    card = load_card()
    df = card.data
    controls = ["exper", "expersq", "black", "smsa", "south", "smsa66"]
    controls += [f"reg66{i}" for i in range(2, 10)]
    X = np.column_stack([np.ones(len(df)), df[["educ", *controls]]])
    ols = float(np.linalg.lstsq(X, df["lwage"].to_numpy(), rcond=None)[0][1])
    kw = dict(treatment="educ", outcome="lwage", instruments=["nearc4"], covariates=controls)
    est = TwoStageLeastSquares(cov_type="nonrobust").fit(df, **kw)
    eff = est.effect(treatment=1, control=0)
    lo, hi = eff.conf_int()
    robust = TwoStageLeastSquares(cov_type="HC1").fit(df, **kw)
    print("1. Card (1995): return to a year of schooling, 3010 men, 14 controls", file=out)
    print(f"   OLS (confounded by ability):   {ols:.5f}", file=out)
    print(
        f"   2SLS, educ instrumented by nearc4 (grew up near a 4-year college): "
        f"{eff.value:.5f} (s.e. {eff.std_error:.5f}, 95% CI [{lo:.3f}, {hi:.3f}])",
        file=out,
    )
    f_stat = float(est.first_stage_f_["educ"])
    print(
        f"   robust (HC1) s.e. {robust.std_error_['educ']:.5f}; first-stage F = {f_stat:.2f} "
        "(> 10: not weak)",
        file=out,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", WeakInstrumentWarning)
        two = TwoStageLeastSquares().fit(df, **{**kw, "instruments": ["nearc4", "nearc2"]})
    j = two.overid_test_["hansen_j"]
    print(
        f"   adding nearc2: Hansen J = {j['statistic']:.2f} (p = {j['pvalue']:.2f}), "
        f"first-stage F = {two.first_stage_f_['educ']:.2f}"
        + (" -> WeakInstrumentWarning" if caught else ""),
        file=out,
    )
    ref = card.truth
    print(
        f"   published (Wooldridge Ex. 15.4): OLS {ref['OLS_educ']:.5f}, 2SLS "
        f"{ref['2SLS_educ']:.5f} ({ref['2SLS_educ_se']:.5f})\n",
        file=out,
    )
    return {
        "ols": ols,
        "2sls": eff.value,
        "2sls_se": eff.std_error,
        "first_stage_f": f_stat,
        "weak_warning": bool(caught),
        "published": dict(ref),
    }


def _graph(out: TextIO) -> dict[str, Any]:
    card = load_card().data
    g = CausalGraph(
        "nearc4 -> educ -> lwage; educ <-> lwage; exper -> educ; exper -> lwage; "
        "smsa66 -> nearc4; smsa66 -> lwage"
    )
    found = [str(iv) for iv in instruments(g, "educ", "lwage")]
    print("2. The graph decides what is an instrument", file=out)
    print(f"   graph: {g}\n   instruments(g, educ, lwage): {', '.join(found)}", file=out)
    est = TwoStageLeastSquares().fit(card, treatment="educ", outcome="lwage", graph=g)
    print(
        "   TwoStageLeastSquares().fit(card, ..., graph=g) uses covariates "
        f"{list(est.data_.covariate_names)}"
        f": educ coefficient {est.coef_['educ']:.4f}",
        file=out,
    )
    bad = CausalGraph(str(g) + "; nearc4 -> lwage")
    print(f"   if nearc4 -> lwage: {explain_instrument(bad, 'educ', 'lwage', 'nearc4')}", file=out)
    refused = None
    try:
        TwoStageLeastSquares().fit(
            card, graph=bad, treatment="educ", outcome="lwage", instruments=["nearc4"]
        )
    except InvalidInstrumentError as exc:
        refused = str(exc)
        print(f"   -> refused: {exc}\n", file=out)
    return {"instruments": found, "coef": float(est.coef_["educ"]), "refused": refused}


def _demand(quick: bool, out: TextIO) -> dict[str, float]:
    n = 1500 if quick else 3000
    ds = make_demand(n, rho=0.5, random_state=0)
    test = demand_test_points(2000, random_state=1)
    kw = dict(treatment="p", outcome="y", instruments=["c"], covariates=["t", "s"])
    kiv = KernelIV(n_components=300, lengthscales=[4.0, 0.2, 4.0, 4.0], random_state=0)
    rows = {
        "linear 2SLS": TwoStageLeastSquares().fit(ds.data, **kw),
        "KernelIV": kiv.fit(ds.data, **kw),
    }
    print(
        f"3. Nonlinear demand (Hartford et al. 2017, n = {n}, rho = 0.5, y = h + 158 e)", file=out
    )
    mse = {}
    for name, est in rows.items():
        mse[name] = float(np.mean((est.predict(test[["p"]], test[["t", "s"]]) - test["h"]) ** 2))
        print(
            f"   {name:<12} out-of-sample MSE of the structural function h: {mse[name]:,.0f}",
            file=out,
        )
    var_h = float(np.var(test["h"]))
    print(f"   (variance of h on the test points: {var_h:,.0f})", file=out)
    return {**mse, "var_h": var_h}


def main(quick: bool = False, *, out: TextIO = sys.stdout) -> dict[str, Any]:
    """Print the IV examples; return the Card estimates, the graph check and the demand MSEs
    (``quick``: 1,500 instead of 3,000 demand samples).

    Examples
    --------
    >>> import io
    >>> round(main(quick=True, out=io.StringIO())["card"]["2sls"], 4)  # Card (1995): 0.1315
    0.1315
    """
    return {"card": _card(out), "graph": _graph(out), "demand": _demand(quick, out)}
